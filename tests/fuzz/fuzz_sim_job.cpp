// Fuzz target: the job file the Verilated harness reads (sim/job.h). A job that reads holds
// whole commands of a nonzero number of words, which the harness divides by.
#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include "fuzz_common.h"
#include "job.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  hdx::SimJob j;
  try {
    j = hdx::parse_job(data, size, "t.job");
  } catch (const std::runtime_error&) {
    return 0;
  }
  for (auto [words, v] : {std::pair{j.ld_words, &j.ld}, {j.cmp_words, &j.cmp}, {j.st_words, &j.st}})
    hdx::fuzz::require(words > 0 && v->size() % words == 0, "whole commands");
  return 0;
}
