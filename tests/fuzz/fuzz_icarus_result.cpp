// Fuzz target: the result file of the Icarus testbench (sim/hdx_tb.sv writes it, hdx reads
// it with parse_icarus_result) for a job whose output region is 16 bytes at address 8.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "fuzz_common.h"
#include "icarus.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  hdx::SimJob job;
  job.dram.assign(32, 0);
  job.out_addr = 8;
  job.out_bytes = 16;
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  hdx::SimResult r;
  if (!hdx::fuzz::reads([&] { r = hdx::parse_icarus_result(in, job, "result.txt"); })) return 0;
  hdx::fuzz::require(r.dram.size() == job.dram.size() && r.status <= 5, "result shape");
  return 0;
}
