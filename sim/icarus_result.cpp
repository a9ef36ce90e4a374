// The reader of the Icarus testbench's result file (sim/hdx_tb.sv writes it), apart from the
// rest of the back end so that it can be fuzzed alone.
#include <fmt/format.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "errors.h"
#include "icarus.h"

namespace hdx {

SimResult parse_icarus_result(std::istream& f, const SimJob& job, const std::string& source) {
  SimResult r;
  std::string tok;
  // The next token; an X or Z prints as x/z and reads as `xz` (the testbench then sets status
  // 3 itself).
  auto next = [&](const char* what, uint64_t max, int base, bool& xz) {
    xz = false;
    if (!(f >> tok)) throw SimError(11, fmt::format("Icarus result {}: ends before the {}", source, what));
    if (tok.find_first_of("xXzZ") != std::string::npos) {
      xz = true;
      return uint64_t(0);
    }
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(tok.c_str(), &end, base);
    if (tok[0] == '-' || *end != '\0' || errno != 0 || v > max)
      throw SimError(11, fmt::format("Icarus result {}: bad {} '{}'", source, what, tok.substr(0, 40)));
    return static_cast<uint64_t>(v);
  };
  bool xz = false;
  r.status = static_cast<uint32_t>(next("status", 5, 0, xz));
  r.cycles_run = next("cycle count", UINT64_MAX, 0, xz);
  for (uint64_t& c : r.counters) c = next("counter", UINT64_MAX, 0, xz);
  r.dram.assign(job.dram.size(), 0);
  for (uint64_t i = 0; i < job.out_bytes; ++i) {
    const uint64_t b = next("output byte", 255, 16, xz);
    if (xz) {
      if (r.status == 0) {
        r.status = 3;
        r.message = fmt::format("X or Z in output byte {} (DRAM address {})", i, job.out_addr + i);
      }
      continue;
    }
    r.dram[job.out_addr + i] = static_cast<uint8_t>(b);
  }
  std::getline(f, tok);
  std::string msg;
  std::getline(f, msg);
  if (r.message.empty()) r.message = msg;
  return r;
}

}  // namespace hdx
