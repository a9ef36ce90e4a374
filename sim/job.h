// The job and result files exchanged between hdx and the Verilated model executable of one
// accelerator configuration (sim/sim_main.cpp). Little-endian binary, written and read by
// the two sides of this header only.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hdx {

constexpr int kNumCounters = 17;  // order of rtlgen's cnt_*_o ports

struct SimJob {
  uint32_t latency = 0;       // DRAM read latency beyond one cycle
  uint64_t max_cycles = 0;    // watchdog
  uint32_t ld_words = 0, cmp_words = 0, st_words = 0;  // words per command
  std::vector<uint32_t> ld, cmp, st;                   // packed commands
  std::vector<uint8_t> dram;
  std::string fst_path;       // empty: no waveform
};

struct SimResult {
  uint32_t status = 0;        // 0 done, 1 watchdog expired, 2 DRAM access out of range
  uint64_t cycles_run = 0;    // harness cycles, including the start cycle
  uint64_t counters[kNumCounters] = {};
  std::vector<uint8_t> dram;
  std::string message;
};

void write_job(const std::string& path, const SimJob& j);
SimJob read_job(const std::string& path);
void write_result(const std::string& path, const SimResult& r);
SimResult read_result(const std::string& path);

}  // namespace hdx
