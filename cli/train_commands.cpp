// search and quantize: the subcommands that need LibTorch, linked into hdx-train only.
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <thread>

#include "commands.h"
#include "errors.h"
#include "qnet.h"
#include "quantize.h"
#include "rtlgen.h"
#include "search.h"
#include "util.h"

namespace po = boost::program_options;

namespace hdx::cli {

namespace {
std::atomic<bool> g_stop{false};
extern "C" void on_sigint(int) {
  g_stop = true;
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process at once
}
}  // namespace

int cmd_search(const Args& args, const std::string& command_line) {
  po::options_description od("options");
  od.add_options()("help,h", "this text")(
      "spec", po::value<std::string>()->required(), "spec.json (docs/formats.md)")(
      "out", po::value<std::string>()->required(),
      "output folder: network.json, accelerator.json, weights.npz, search_report.json, "
      "history.csv, trajectory.svg, manifest.json")(
      "device", po::value<std::string>(),
      "auto, cpu or cuda: where the search and the final training run (default: the spec's "
      "device, else auto)")(
      "force", "write into a non-empty output folder");
  po::variables_map vm;
  if (!parse(args, od, vm, "usage: hdx search --spec S --out DIR [--device D] [--force]",
             "  hdx search --spec examples/fmnist-latency.json --out out/search\n"))
    return 0;
  Spec spec = load_spec(vm["spec"].as<std::string>());
  if (vm.count("device")) {
    const std::string d = vm["device"].as<std::string>();
    if (d != "auto" && d != "cpu" && d != "cuda")
      throw ConfigError(26, fmt::format("--device {}: must be auto, cpu or cuda", d));
    spec.device = d;
  }
  resolve_device(spec.device);  // "cuda" without a GPU fails here, before any work
  const std::string out = vm["out"].as<std::string>();
  // Under mpirun (or srun) every rank runs this search on its share of each batch; rank 0
  // prepares the folder, prints and writes, the others only compute.
  const Ranks ranks = launch_ranks();
  if (ranks.rank == 0) prepare_out(out, vm.count("force") > 0);

  const bool tty = isatty(1) != 0;
  bool bar_open = false;
  std::string last_phase;
  long long last_decile = -1;
  SearchOptions o;
  o.out_dir = out;
  o.stop = &g_stop;
  o.ranks = ranks;
  o.log = [&](const std::string& line) {
    if (bar_open) fmt::print("\r\033[K");
    bar_open = false;
    fmt::print("[search] {}\n", line);
    std::fflush(stdout);
  };
  o.progress = [&](const SearchProgress& p) {
    const double frac = p.total > 0 ? std::min(1.0, static_cast<double>(p.done) / p.total) : 0;
    const std::string eta = p.done > 0 ? fmt::format("ETA {:.0f} s", p.eta_s) : "ETA -";
    if (tty) {
      const int w = 24, done = static_cast<int>(w * frac);
      fmt::print("\r\033[K[search] [{}{}] {:3.0f}% {} {:.60}", std::string(done, '#'),
                 std::string(w - done, '.'), 100 * frac, eta, p.text);
      bar_open = true;
    } else {
      // Plain lines for logs: one per tenth of each phase.
      const long long decile = static_cast<long long>(10 * frac);
      if (p.phase == last_phase && decile == last_decile) return;
      last_phase = p.phase;
      last_decile = decile;
      fmt::print("[search] {:3.0f}% {}, {}\n", 100 * frac, p.text, eta);
    }
    std::fflush(stdout);
  };
  g_stop = false;
  std::signal(SIGINT, on_sigint);
  const SearchResult r = run_search(spec, o);
  std::signal(SIGINT, SIG_DFL);
  if (ranks.rank != 0) return r.status == "feasible" ? 0 : r.status == "stopped" ? 130 : 1;
  if (bar_open) fmt::print("\n");

  std::vector<std::string> files = r.files;
  write_manifest(out, command_line, {{"spec", spec_to_json(spec)}, {"seed", spec.seed}}, files);
  const nlohmann::json& rep = r.report;
  fmt::print("\ndesign: {}\n", rep["design"]["choice"].get<std::string>());
  const nlohmann::json& a = rep["design"]["accelerator"];
  fmt::print("accelerator: {} {}x{}, buffers {}/{}/{} KiB, DRAM {} B/cycle\n",
             a["dataflow"].get<std::string>(), a["pe_rows"].get<int>(), a["pe_cols"].get<int>(),
             a["buffers_kib"]["ifmap"].get<int>(), a["buffers_kib"]["weight"].get<int>(),
             a["buffers_kib"]["ofmap"].get<int>(), a["dram"]["bytes_per_cycle"].get<int>());
  for (const auto& c : rep["constraints"])
    fmt::print("constraint {} {} {:g}: {} -> {}\n", c["metric"].get<std::string>(),
               c["bound"].get<std::string>(), c["limit"].get<double>(),
               c["value"].is_null() ? "does not map" : fmt::format("{:.4g}", c["value"].get<double>()),
               c["met"].get<bool>() ? "met" : "MISSED");
  if (!rep["accuracy"].is_null())
    fmt::print("float test accuracy: {:.2f}% on the {} test images{}\n",
               100 * rep["accuracy"]["test_accuracy"].get<double>(),
               rep["accuracy"]["test_images"].get<int>(),
               r.status == "feasible" ? "" : " (of a design that misses a constraint)");
  if (r.status == "stopped") {
    fmt::print(stderr, "[search E031] stopped by Ctrl-C; the design at that point is in {}/"
                       "network.partial.json and accelerator.partial.json (no weights); it is not "
                       "a result, run again to finish\n", out);
    return 130;
  }
  if (r.status != "feasible") {
    fmt::print(stderr, "[search E030] no design met every constraint within the budget; the "
                       "closest one is in {}/network.infeasible.json and "
                       "accelerator.infeasible.json (see search_report.json); loosen the "
                       "constraints, widen the hardware space or raise search.max_extra_epochs / "
                       "search.time_minutes\n", out);
    return 1;
  }
  const bool trained = std::find(r.files.begin(), r.files.end(), "weights.npz") != r.files.end();
  fmt::print("all constraints met by the exact cost model; outputs in {} (network.json, "
             "accelerator.json, {}search_report.json, history.csv, trajectory.svg)\n",
             out, trained ? "weights.npz, " : "");
  if (!trained)
    fmt::print("no weights.npz: train.epochs is 0, so the derived network was not trained\n");
  return 0;
}

int cmd_quantize(const Args& args, const std::string& command_line) {
  po::options_description od("options");
  od.add_options()("help,h", "this text")(
      "network", po::value<std::string>()->required(), "network.json")(
      "weights", po::value<std::string>()->required(),
      "float weights (weights.npz as hdx search writes it)")(
      "out", po::value<std::string>()->required(),
      "output folder: weights_int8.npz, quant_report.json, manifest.json")(
      "calib", po::value<int>()->default_value(2000),
      "training images for the activation scales")(
      "test", po::value<int>()->default_value(0), "test images to measure (0: all)")(
      "threads", po::value<int>()->default_value(0), "threads for the int8 reference (0: all cores)")(
      "device", po::value<std::string>()->default_value("cpu"),
      "auto, cpu or cuda: where the float passes (calibration, float accuracy) run")(
      "force", "write into a non-empty output folder");
  add_data_options(od);
  po::variables_map vm;
  if (!parse(args, od, vm,
             "usage: hdx quantize --network N --weights W --out DIR [--calib K] [--test K] "
             "[--dataset D --data DIR]",
             "  hdx quantize --network out/search/network.json --weights out/search/weights.npz "
             "--out out/quant\n"))
    return 0;
  if (launch_ranks().size > 1)
    throw ConfigError(27, "hdx quantize runs in one process; under mpirun only hdx search is "
                          "data-parallel: run quantize without mpirun");
  const Network net = load_network(vm["network"].as<std::string>());
  const std::string out = vm["out"].as<std::string>();
  const std::string name = vm["dataset"].as<std::string>(), dir = data_dir(vm);
  const int calib = vm["calib"].as<int>(), ntest = vm["test"].as<int>();
  if (calib < 1) throw ConfigError(23, fmt::format("--calib {}: must be at least 1", calib));
  if (ntest < 0) throw ConfigError(23, fmt::format("--test {}: must be 0 (all) or more", ntest));
  int threads = vm["threads"].as<int>();
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const std::string want = vm["device"].as<std::string>();
  if (want != "auto" && want != "cpu" && want != "cuda")
    throw ConfigError(26, fmt::format("--device {}: must be auto, cpu or cuda", want));
  const std::string device = resolve_device(want);
  const Images train = load_images(name, dir, true, calib);
  const Images test = load_images(name, dir, false, ntest);
  prepare_out(out, vm.count("force") > 0);
  auto log = [](const std::string& s) { fmt::print("[quantize] {}\n", s); std::fflush(stdout); };
  const QuantizeResult r = quantize(net, vm["weights"].as<std::string>(), train, calib, test,
                                    threads, log, device);
  write_qnet(out + "/weights_int8.npz", net, r.q);
  nlohmann::json layers = nlohmann::json::array();
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const Layer& l = net.layers[i];
    layers.push_back({{"name", l.name}, {"op", op_name(l.op)}, {"host", l.host()},
                      {"output_scale", r.q.layers[i].scale}});
  }
  const nlohmann::json rep = {
      {"network", net.name},
      {"dataset", name},
      {"calibration_images", r.calib_images},
      {"test_images", r.test_images},
      {"accuracy", {{"float", r.float_accuracy}, {"int8", r.int8_accuracy}}},
      {"float_int8_agreement", r.agreement},
      {"input_scale", kInputScale},
      {"layers", layers},
      {"times_s", {{"calibration", r.calib_s}, {"float_test", r.float_s}, {"int8_test", r.int8_s}}}};
  write_file_atomic(out + "/quant_report.json", rep.dump(2) + "\n");
  write_manifest(out, command_line,
                 {{"network", network_to_json(net)}, {"dataset", name},
                  {"float_weights", vm["weights"].as<std::string>()},
                  {"float_weights_sha256", sha256_file(vm["weights"].as<std::string>())},
                  {"calibration_images", r.calib_images}, {"test_images", r.test_images}},
                 {"weights_int8.npz", "quant_report.json"});
  fmt::print("int8 weights in {}/weights_int8.npz; test accuracy float {:.2f}%, int8 {:.2f}% on "
             "{} images\n", out, 100 * r.float_accuracy, 100 * r.int8_accuracy, r.test_images);
  return 0;
}

}  // namespace hdx::cli

