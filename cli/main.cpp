// hdx: thin entry point. Runs cost, rtl, sim and regress itself and hands search, quantize and flow to
// hdx-train, the executable beside it that links LibTorch, so that the commands that do not
// train start without loading LibTorch. Prints errors as one line.
#include <boost/version.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "commands.h"
#include "hdx_version.h"
#include "mpi_ranks.h"
#include "rtlgen.h"
#include "util.h"

namespace {

const char* kUsage =
    "hdx " HDX_VERSION " - co-design of a neural network and its accelerator, with RTL sign-off\n"
    "\n"
    "usage: hdx <command> [options]      (hdx <command> --help for its options)\n"
    "\n"
    "commands:\n"
    "  cost     per-layer cycles, events, utilization, energy and area from the cost model\n"
    "  rtl      write the accelerator's Verilog, filelist, signature and manifest\n"
    "  sim      run every layer on the Verilated RTL: bit-exact outputs, model vs RTL cycles\n"
    "  regress  hdx sim over a list of (network, accelerator[, weights]) entries, one report\n"
    "  search   find a network and an accelerator that meet the spec's constraints\n"
    "  quantize int8 weights and requantization of a searched network; float and int8 accuracy\n"
    "  flow     search, quantize, rtl, sim and report in one resumable run\n"
    "\n"
    "examples:\n"
    "  hdx cost --network examples/net_all_kinds.json --accel examples/accel_ws_16x16.json\n"
    "  hdx rtl  --accel examples/accel_ws_4x4.json --out out/rtl4 --synth\n"
    "  hdx sim  --network examples/net_all_kinds.json --accel examples/accel_ws_16x16.json \\\n"
    "           --out out/sim16\n"
    "  mpirun -n 4 hdx regress --list bench/regress/list20.json --out out/regress\n"
    "  hdx flow   --spec examples/fmnist-latency.json --out out/flow\n"
    "  hdx search --spec examples/fmnist-latency.json --out out/search\n"
    "  hdx quantize --network out/search/network.json --weights out/search/weights.npz \\\n"
    "           --out out/quant\n"
    "\n"
    "options:\n"
    "  -h, --help     this text\n"
    "  --version      versions of hdx and of the tools and libraries it uses\n"
    "\n"
    "docs: README.md, docs/cli.md, docs/formats.md, docs/arithmetic.md, docs/architecture.md,\n"
    "      docs/search.md\n";

void print_version() {
  fmt::print("hdx {}\n", HDX_VERSION);
  fmt::print("  fmt {}.{}.{}\n", FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100);
  fmt::print("  nlohmann_json {}.{}.{}\n", NLOHMANN_JSON_VERSION_MAJOR,
             NLOHMANN_JSON_VERSION_MINOR, NLOHMANN_JSON_VERSION_PATCH);
  fmt::print("  Boost {}.{}.{}\n", BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000,
             BOOST_VERSION % 100);
  fmt::print("  LibTorch {} (in hdx-train, which runs search, quantize and flow)\n",
             HDX_LIBTORCH_VERSION);
  const nlohmann::json tools = hdx::tool_versions();
  for (const auto& [k, v] : tools.items())
    fmt::print("  {}: {}\n", k, v.get<std::string>());
}

// Replaces this process by hdx-train, found beside this executable, with the same arguments;
// returns only when that fails.
int run_train(char** argv) {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::string exe = (self.parent_path() / "hdx-train").string();
  if (!ec) execv(exe.c_str(), argv);
  fmt::print(stderr, "[cli E003] cannot run {} for 'hdx {}': {}; hdx {} needs LibTorch and runs "
                     "from hdx-train, which must sit beside hdx (build the hdx-train target or "
                     "reinstall hdx)\n", ec ? "hdx-train" : exe, argv[1],
             std::strerror(ec ? ec.value() : errno), argv[1]);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> all(argv, argv + argc);
  const std::string command_line = hdx::shell_join(all);
  if (argc < 2 || all[1] == "-h" || all[1] == "--help" || all[1] == "help") {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (all[1] == "--version" || all[1] == "version") {
    print_version();
    return 0;
  }
  if (all[1] == "search" || all[1] == "quantize" || all[1] == "flow") return run_train(argv);
  const hdx::cli::Args rest(all.begin() + 2, all.end());
  // sim and regress shard their work over the ranks of an mpirun or srun launch; MPI starts
  // only for them, and only under such a launcher.
  std::unique_ptr<hdx::cli::Comm> mpi;
  return hdx::cli::run_guarded(all[1], [&] {
    if (all[1] == "sim" || all[1] == "regress") mpi = hdx::cli::start_mpi_if_launched();
    hdx::cli::UseComm use(mpi.get());
    if (all[1] == "cost") return hdx::cli::cmd_cost(rest, command_line);
    if (all[1] == "rtl") return hdx::cli::cmd_rtl(rest, command_line);
    if (all[1] == "sim") return hdx::cli::cmd_sim(rest, command_line);
    if (all[1] == "regress") return hdx::cli::cmd_regress(rest, command_line);
    fmt::print(stderr, "[cli E001] unknown command '{}'; the commands are cost, rtl, sim, "
                       "regress, search, quantize, flow (see hdx --help)\n", all[1]);
    return 2;
  });
}
