// hdx flow: search -> quantize -> rtl -> sim -> report, each stage a folder of files that the
// next stage reads, so a flow can resume from any stage.
#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "errors.h"
#include "json_util.h"
#include "report.h"
#include "search.h"
#include "spec.h"
#include "util.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace hdx::cli {

namespace {

const std::vector<std::string> kStages = {"search", "quantize", "rtl", "sim", "report"};

int stage_index(const std::string& s, const char* option) {
  for (size_t i = 0; i < kStages.size(); ++i)
    if (kStages[i] == s) return static_cast<int>(i);
  throw ConfigError(25, fmt::format("{} {}: unknown stage; the stages are search, quantize, rtl, "
                                    "sim, report", option, s));
}

// The files a stage reads that earlier stages write (checked before a resumed run starts).
std::vector<std::pair<std::string, std::string>> stage_inputs(int stage) {
  std::vector<std::pair<std::string, std::string>> need;  // (file, stage that writes it)
  if (stage >= 1)
    for (const char* f : {"search/network.json", "search/accelerator.json", "search/weights.npz",
                          "search/search_report.json"})
      need.emplace_back(f, "search");
  if (stage >= 3) need.emplace_back("quant/weights_int8.npz", "quantize");
  if (stage >= 3) need.emplace_back("rtl/manifest.json", "rtl");
  if (stage >= 4) need.emplace_back("sim/sim_report.json", "sim");
  return need;
}

// What a stage writes under DIR.
std::vector<std::string> stage_outputs(int stage) {
  switch (stage) {
    case 0: return {"search"};
    case 1: return {"quant"};
    case 2: return {"rtl"};
    case 3: return {"sim"};
    default: return {"report.json", "report.md", "report.html", "plots"};
  }
}

}  // namespace

int cmd_flow(const Args& args, const std::string& command_line) {
  po::options_description od("options");
  od.add_options()("help,h", "this text")(
      "spec", po::value<std::string>()->required(), "spec.json (docs/formats.md)")(
      "out", po::value<std::string>()->required(),
      "output folder: search/, quant/, rtl/, sim/, report.json, report.md, report.html")(
      "from", po::value<std::string>()->default_value("search"),
      "first stage to run: search, quantize, rtl, sim or report (earlier stages' files are "
      "reused)")(
      "to", po::value<std::string>()->default_value("report"), "last stage to run")(
      "images", po::value<int>(), "test images to run on the RTL (default: the spec's "
                                  "flow.sim_images)")(
      "device", po::value<std::string>(),
      "auto, cpu or cuda for the search stage (default: the spec's device)")(
      "force", "start from search in a non-empty output folder")(
      "synth", "the rtl stage also synthesizes (hdx rtl --synth): area and clock are then "
               "judged by synthesis")(
      "liberty", po::value<std::string>(), "with --synth: the cell library (.lib) to map to")(
      "sram-lib", po::value<std::string>(), "with --synth: the SRAM macro table (.json)");
  po::variables_map vm;
  if (!parse(args, od, vm,
             "usage: hdx flow --spec S --out DIR [--from STAGE] [--to STAGE] [--images K] "
             "[--device D] [--synth [--liberty F] [--sram-lib F]]",
             "  hdx flow --spec examples/fmnist-latency.json --out out/flow\n"
             "  hdx flow --spec examples/fmnist-latency.json --out out/flow --from rtl\n"
             "  hdx flow --spec examples/fmnist-latency.json --out out/flow --from rtl --synth\n"))
    return 0;
  const std::string spec_path = vm["spec"].as<std::string>();
  const Spec spec = load_spec(spec_path);
  const std::string out = vm["out"].as<std::string>();
  if (launch_ranks().size > 1)
    throw ConfigError(27, fmt::format("hdx flow runs in one process; run its search stage "
                                      "data-parallel with mpirun -n N hdx search --spec {0} --out "
                                      "{1}/search, then hdx flow --spec {0} --out {1} --from "
                                      "quantize without mpirun", spec_path, out));
  const int from = stage_index(vm["from"].as<std::string>(), "--from");
  const int to = stage_index(vm["to"].as<std::string>(), "--to");
  if (from > to)
    throw ConfigError(25, fmt::format("--from {} comes after --to {}; the order is search, "
                                      "quantize, rtl, sim, report", kStages[from], kStages[to]));
  std::string device = spec.device;
  if (vm.count("device")) {
    device = vm["device"].as<std::string>();
    if (device != "auto" && device != "cpu" && device != "cuda")
      throw ConfigError(26, fmt::format("--device {}: must be auto, cpu or cuda", device));
  }
  if (from == 0) resolve_device(device);  // "cuda" without a GPU fails before any stage runs
  if (spec.train.epochs == 0 && from == 0 && to > 0)
    throw ConfigError(25, fmt::format("{}: train.epochs is 0, so the search writes no weights "
                                      "and the stages after it cannot run; set train.epochs or "
                                      "pass --to search", spec_path));
  const bool synth = vm.count("synth") > 0;
  for (const char* o : {"liberty", "sram-lib"})
    if (vm.count(o) && !synth)
      throw ConfigError(25, fmt::format("--{} needs --synth", o));
  if (synth && (from > 2 || to < 2))
    throw ConfigError(25, fmt::format("--synth runs in the rtl stage, which --from {} --to {} "
                                      "leaves out; resume with --from rtl (or earlier)",
                                      kStages[from], kStages[to]));
  const int images = vm.count("images") ? vm["images"].as<int>() : spec.sim_images;
  if (images < 1) throw ConfigError(25, fmt::format("--images {}: must be at least 1", images));

  if (from == 0) {
    if (fs::exists(out) && !fs::is_empty(out) && !vm.count("force"))
      throw IoError(11, fmt::format("{} is not empty; pass --force to run the whole flow again "
                                    "there, --from STAGE to resume, or choose another --out",
                                    out), 2);
  } else {
    // Resuming: the earlier stages' files must be there, from this very spec.
    for (const auto& [file, writer] : stage_inputs(from))
      if (!fs::exists(fs::path(out) / file))
        throw IoError(51, fmt::format("--from {} needs {}/{}, which stage {} writes; run with "
                                      "--from {}", kStages[from], out, file, writer, writer), 2);
    // Only what the search reads counts: flow settings, thread counts and the device may
    // change.
    auto searched = [](nlohmann::json j) {
      if (j.is_object()) j.erase("flow"), j.erase("threads"), j.erase("device");
      return j;
    };
    const nlohmann::json used = read_json_file(out + "/search/manifest.json");
    const nlohmann::json none;
    const nlohmann::json& config = used.is_object() && used.contains("config") ? used["config"] : none;
    if (searched(config.is_object() && config.contains("spec") ? config["spec"] : none) !=
        searched(spec_to_json(spec)))
      throw ConfigError(52, fmt::format("{} differs from the spec the search in {}/search ran "
                                        "with; run the flow from search (--from search --force) "
                                        "or pass that spec", spec_path, out));
  }
  fs::create_directories(out);

  // What the stages from `from` on wrote before is stale now: remove it, so that a stage that
  // fails cannot leave an older run's later results (an old report saying PASS) beside it.
  nlohmann::json times = nlohmann::json::object();
  const std::string times_path = out + "/flow_times.json";
  if (fs::exists(times_path)) times = read_json_file(times_path);
  if (!times.is_object()) times = nlohmann::json::object();  // only a record of stage times
  for (int st = from; st < static_cast<int>(kStages.size()); ++st) {
    for (const std::string& f : stage_outputs(st)) fs::remove_all(fs::path(out) / f);
    times.erase(kStages[st]);
  }
  const std::string s = out + "/search/", q = out + "/quant/";
  for (int st = from; st <= to; ++st) {
    const std::string& name = kStages[st];
    fmt::print("[flow] stage {}/{}: {}\n", st + 1, kStages.size(), name);
    std::fflush(stdout);
    Args a;
    const std::string force = "--force";
    if (name == "search") {
      a = {"--spec", spec_path, "--out", out + "/search", force};
      if (vm.count("device")) a.insert(a.end(), {"--device", vm["device"].as<std::string>()});
    } else if (name == "quantize") {
      a = {"--network", s + "network.json", "--weights", s + "weights.npz", "--out", out + "/quant",
           "--calib", std::to_string(spec.calib_images), "--test", std::to_string(spec.dataset.test),
           "--dataset", spec.dataset.name, "--data", spec.dataset.path,
           "--threads", std::to_string(spec.threads), "--device", device, force};
    } else if (name == "rtl") {
      a = {"--accel", s + "accelerator.json", "--out", out + "/rtl", force};
      if (synth) a.push_back("--synth");
      for (const char* o : {"liberty", "sram-lib"})
        if (vm.count(o)) a.insert(a.end(), {std::string("--") + o, vm[o].as<std::string>()});
    } else if (name == "sim") {
      a = {"--network", s + "network.json", "--accel", s + "accelerator.json", "--weights",
           q + "weights_int8.npz", "--images", std::to_string(images), "--dataset",
           spec.dataset.name, "--data", spec.dataset.path, "--out", out + "/sim", force};
    }
    const auto t0 = std::chrono::steady_clock::now();
    int rc = 0;
    nlohmann::json report;
    try {
      if (name == "search") rc = cmd_search(a, command_line);
      else if (name == "quantize") rc = cmd_quantize(a, command_line);
      else if (name == "sim") rc = cmd_sim(a, command_line);
      else if (name == "report") report = write_flow_report(out, times, spec);
      else if ((rc = cmd_rtl(a, command_line)) == 1 && synth) {
        // A synthesized netlist that misses its clock (rtlgen E009): every file is written;
        // the simulation still tells whether the design is right, the report judges the clock.
        fmt::print("[flow] the rtl stage's netlist misses the clock; the flow goes on and the "
                   "report's fmax_mhz constraint fails\n");
        rc = 0;
      }
    } catch (const Error& e) {
      fmt::print(stderr, "{}\n", e.what());
      rc = e.exit_code();
    } catch (const std::exception& e) {  // a bug; still say which stage and how to go on
      fmt::print(stderr, "[hdx E999] internal error: {}\n", e.what());
      rc = 3;
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (rc != 0) {
      fmt::print(stderr, "[flow E050] stage {} failed (exit {}) after {:.1f} s; {}the later "
                         "stages did not run. Fix the cause and resume with: hdx flow --spec {} "
                         "--out {} --from {}\n",
                 name, rc, secs,
                 st > 0 ? fmt::format("the files of the stages before it are intact in {}; ", out)
                        : "",
                 spec_path, out, name);
      return rc;
    }
    times[name] = secs;
    write_file_atomic(times_path, times.dump(2) + "\n");
    fmt::print("[flow] stage {} done in {:.1f} s\n\n", name, secs);
    if (name == "report" && report.at("status") != "pass") {
      std::fflush(stdout);
      fmt::print(stderr, "[flow E054] verdict FAIL: {} ({}/report.html)\n",
                 report.at("failures").get<std::string>(), out);
      return 1;
    }
  }
  if (to == static_cast<int>(kStages.size()) - 1)
    fmt::print("[flow] done, verdict PASS: {}/report.html, report.md, report.json\n", out);
  return 0;
}

}  // namespace hdx::cli
