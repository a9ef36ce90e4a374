// hdx-train: the commands of hdx that need LibTorch (search, quantize, flow). hdx runs it with
// its own arguments, so `hdx search ...` is `hdx-train search ...`; only this executable links
// LibTorch.
#include <fmt/format.h>

#include <string>
#include <vector>

#include "commands.h"
#include "util.h"

int main(int argc, char** argv) {
  const std::vector<std::string> all(argv, argv + argc);
  if (argc < 2 || (all[1] != "search" && all[1] != "quantize" && all[1] != "flow")) {
    fmt::print(stderr, "[cli E001] hdx-train runs search, quantize and flow{}; the other "
                       "commands are in hdx (see hdx --help)\n",
               argc < 2 ? "" : fmt::format(", not '{}'", all[1]));
    return 2;
  }
  const std::string command_line = hdx::shell_join(all);
  const hdx::cli::Args rest(all.begin() + 2, all.end());
  return hdx::cli::run_guarded(all[1], [&] {
    if (all[1] == "search") return hdx::cli::cmd_search(rest, command_line);
    if (all[1] == "quantize") return hdx::cli::cmd_quantize(rest, command_line);
    return hdx::cli::cmd_flow(rest, command_line);
  });
}
