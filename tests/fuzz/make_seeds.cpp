// Writes seed inputs for the fuzz targets of the binary formats, made by hdx's own writers:
// make_seeds DIR writes DIR/npy, DIR/npz, DIR/sim_job, DIR/sim_result and DIR/icarus_result.
// The JSON targets take their seeds from examples/ and the tests (scripts/fuzz.sh).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "job.h"
#include "npy.h"

namespace fs = std::filesystem;
using hdx::NpyArray;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR\n");
    return 2;
  }
  const fs::path dir = argv[1];
  for (const char* d : {"npy", "npz", "sim_job", "sim_result", "icarus_result"})
    fs::create_directories(dir / d);
  const NpyArray arrays[] = {
      NpyArray::from<int8_t>({1, -2, 3, -128, 127, 0}, {2, 3}),
      NpyArray::from<uint8_t>({7}, {}),
      NpyArray::from<int32_t>({1, 2, 3, -4}, {4}),
      NpyArray::from<int64_t>({5, 6}, {1, 1, 2}),
      NpyArray::from<float>({0.5f, -1.25f, 3e8f}, {3}),
      NpyArray::from<int8_t>({}, {0, 4}),
  };
  int k = 0;
  for (const NpyArray& a : arrays) hdx::write_npy((dir / "npy" / ("a" + std::to_string(k++) + ".npy")).string(), a);
  hdx::write_npz((dir / "npz" / "two.npz").string(), {{"conv1.w", arrays[0]}, {"conv1.b", arrays[2]}});
  hdx::write_npz((dir / "npz" / "all.npz").string(),
                 {{"a", arrays[0]}, {"b", arrays[1]}, {"c", arrays[3]}, {"d", arrays[4]}, {"e", arrays[5]}});
  hdx::write_npz((dir / "npz" / "empty.npz").string(), {});

  hdx::SimJob j;
  j.latency = 3;
  j.max_cycles = 5000;
  j.ld_words = 3;
  j.cmp_words = 4;
  j.st_words = 2;
  j.ld = {1, 2, 3, 4, 5, 6};
  j.cmp = {7, 8, 9, 10};
  j.st = {11, 12};
  j.dram = {1, 2, 3, 4, 5, 6, 7, 8};
  hdx::write_job((dir / "sim_job" / "small.job").string(), j);
  j.backpressure = uint64_t(1) << 51;
  j.fst_path = "layer.fst";
  j.ld.clear();
  hdx::write_job((dir / "sim_job" / "waves.job").string(), j);
  hdx::SimResult r;
  r.cycles_run = 1234;
  for (int c = 0; c < hdx::kNumCounters; ++c) r.counters[c] = 10 * c;
  r.dram = {9, 9, 9};
  hdx::write_result((dir / "sim_result" / "done.res").string(), r);
  r.status = 1;
  r.message = "done never rose within 5000 cycles";
  hdx::write_result((dir / "sim_result" / "watchdog.res").string(), r);

  // Status and cycles, 17 counters, 16 output bytes in hex, the message.
  std::string t = "0 1234\n";
  for (int c = 0; c < hdx::kNumCounters; ++c) t += std::to_string(100 * c) + "\n";
  for (int b = 0; b < 16; ++b) t += (b == 5 ? std::string("x7") : std::to_string(10 + b)) + "\n";
  std::ofstream(dir / "icarus_result" / "x.txt") << t << "\n";
  std::ofstream(dir / "icarus_result" / "assert.txt") << "4 " << t.substr(2) << "assertion failed\n";
  return 0;
}
