// Fuzz target: the result file the Verilated harness writes and hdx reads (sim/job.h).
#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include "fuzz_common.h"
#include "job.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const hdx::SimResult r = hdx::parse_result(data, size, "t.res");
    hdx::fuzz::require(r.status <= 5, "known status");
  } catch (const std::runtime_error&) {
  }
  return 0;
}
