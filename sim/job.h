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
  uint32_t latency = 0;       // DRAM read and write-response latency beyond one cycle
  uint64_t backpressure = 0;  // P * 2^53: per-cycle probability of each DRAM stall
  uint64_t seed = 1;          // of the stalls
  uint64_t max_cycles = 0;    // watchdog
  uint32_t ld_words = 0, cmp_words = 0, st_words = 0;  // words per command
  std::vector<uint32_t> ld, cmp, st;                   // packed commands
  std::vector<uint8_t> dram;
  std::string fst_path;       // empty: no waveform
  // The output region: the Icarus testbench writes back only these bytes.
  uint64_t out_addr = 0, out_bytes = 0;
};

struct SimResult {
  uint32_t status = 0;        // 0 done, 1 watchdog expired, 2 DRAM access out of range,
                              // 3 X or Z on a checked signal (Icarus), 4 assertion failed,
                              // 5 an engine flagged an illegal command (err_o)
  uint64_t cycles_run = 0;    // harness cycles, including the start cycle
  uint64_t loop_ns = 0;       // wall time of the model's cycle loop (Verilator; 0 on Icarus)
  uint64_t loop_cpu_ns = 0;   // CPU time of the same loop
  uint64_t counters[kNumCounters] = {};
  std::vector<uint8_t> dram;
  std::string message;
};

// The readers throw std::runtime_error naming the file on a short, long or corrupt file
// (lengths beyond the file, a command stream of zero words or not a whole number of
// commands, an unknown status); parse_* read an image in memory, `source` naming it.
void write_job(const std::string& path, const SimJob& j);
std::vector<uint8_t> job_image(const SimJob& j);
SimJob read_job(const std::string& path);
SimJob parse_job(const uint8_t* data, size_t size, const std::string& source);
void write_result(const std::string& path, const SimResult& r);
std::vector<uint8_t> result_image(const SimResult& r);
SimResult read_result(const std::string& path);
SimResult parse_result(const uint8_t* data, size_t size, const std::string& source);

// The job stream of a model process started with --stream (docs/architecture.md, "The job
// stream"): each frame is a little-endian uint64 byte count and then that many bytes, a job
// image towards the model and a result image back. write_frame returns false when the other
// side has gone; read_frame returns false on a clean end of the stream before a frame and
// throws std::runtime_error naming `source` on an end or error inside one.
bool write_frame(int fd, const std::vector<uint8_t>& bytes);
bool read_frame(int fd, std::vector<uint8_t>& bytes, const std::string& source);

}  // namespace hdx
