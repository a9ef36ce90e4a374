#include "errors.h"

#include <fmt/format.h>

namespace hdx {

Error::Error(std::string stage, int code, const std::string& msg, int exit_code)
    : std::runtime_error(fmt::format("[{} E{:03d}] {}", stage, code, msg)),
      stage_(std::move(stage)),
      code_(code),
      exit_code_(exit_code) {}

}  // namespace hdx
