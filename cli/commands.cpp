#include "commands.h"

#include <boost/program_options.hpp>
#include <boost/program_options/errors.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>
#include <nlohmann/json.hpp>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iterator>
#include <mutex>
#include <thread>
#include <atomic>
#include <exception>

#include "errors.h"
#include "golden.h"
#include "model.h"
#include "npy.h"
#include "qnet.h"
#include "ranks.h"
#include "rtlgen.h"
#include "runner.h"
#include "data.h"
#include "input.h"
#include "util.h"
#include "verilate.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace hdx::cli {

// Parses args; prints help and returns false when --help was given.
bool parse(const Args& args, const po::options_description& od, po::variables_map& vm,
           const char* usage, const char* examples) {
  po::store(po::command_line_parser(args).options(od).run(), vm);
  if (vm.count("help")) {
    fmt::print("{}\n\n{}\nexamples:\n{}", usage, fmt::streamed(od), examples);
    return false;
  }
  po::notify(vm);
  return true;
}

int run_guarded(const std::string& command, const std::function<int()>& run) {
  try {
    return run();
  } catch (const RankError& e) {  // another rank's failure: rank 0 prints it
    if (!e.quiet()) fmt::print(stderr, "{}\n", e.what());
    return e.exit_code();
  } catch (const Error& e) {
    fmt::print(stderr, "{}\n", e.what());
    return e.exit_code();
  } catch (const po::error& e) {
    fmt::print(stderr, "[cli E002] {}; see hdx {} --help\n", e.what(), command);
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "[hdx E999] internal error: {}\n", e.what());
    return 3;
  }
}

// Refuses a non-empty output folder unless forced; creates it.
void prepare_out(const std::string& dir, bool force) {
  if (fs::exists(dir) && !fs::is_directory(dir))
    throw IoError(10, fmt::format("{} exists and is not a directory; choose another --out", dir),
                  2);
  if (fs::exists(dir) && !fs::is_empty(dir) && !force)
    throw IoError(11, fmt::format("{} is not empty; pass --force to overwrite it or choose "
                                  "another --out", dir), 2);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IoError(12, fmt::format("cannot create {}: {}", dir, ec.message()));
}

// The data set options shared by quantize and sim.
void add_data_options(po::options_description& od) {
  od.add_options()("dataset", po::value<std::string>()->default_value("fashion-mnist"),
                   "fashion-mnist or cifar10")(
      "data", po::value<std::string>(),
      "folder of the data set files (default for fashion-mnist: Debian's "
      "/usr/share/datasets/fashion-mnist)");
}

std::string data_dir(const po::variables_map& vm) {
  const std::string name = vm["dataset"].as<std::string>();
  if (name != "fashion-mnist" && name != "cifar10")
    throw ConfigError(23, fmt::format("--dataset {}: unknown data set; use fashion-mnist or "
                                      "cifar10", name));
  if (vm.count("data")) return vm["data"].as<std::string>();
  if (name == "cifar10")
    throw ConfigError(23, "--dataset cifar10 needs --data, the folder of the binary batches "
                          "(cifar-10-batches-bin)");
  return default_data_dir(name);
}

namespace {

std::string shape(const Layer& l) {
  return fmt::format("{}x{}x{}->{}x{}x{}", l.in_c, l.in_h, l.in_w, l.out_c, l.out_h, l.out_w);
}

std::string op_desc(const Layer& l) {
  if (l.host()) return fmt::format("{} (host)", op_name(l.op));
  if (l.op == Op::Fc) return "fc";
  std::string s = fmt::format("conv{}x{}", l.kh, l.kw);
  if (l.stride != 1) s += fmt::format("/s{}", l.stride);
  if (l.groups == l.in_c && l.groups > 1) s += " dw";
  else if (l.groups > 1) s += fmt::format(" g{}", l.groups);
  return s;
}

nlohmann::json events_json(const Events& e) {
  nlohmann::json j;
  for (const auto& [k, v] : event_list(e)) j[k] = v;
  return j;
}

// What rank 0 needs of another rank's layer result (the model's side it computes itself).
nlohmann::json layer_sim_to_json(const LayerSim& s) {
  nlohmann::json ev = nlohmann::json::array();
  for (auto f : kEventFields) ev.push_back(s.rtl.*f);
  return {{"name", s.name}, {"rtl_cycles", s.rtl_cycles}, {"rtl", ev},
          {"outputs_match", s.outputs_match}, {"mismatches", s.mismatches},
          {"backpressure", s.backpressure}, {"seconds", s.seconds},
          {"loop_seconds", s.loop_seconds}, {"loop_cpu_seconds", s.loop_cpu_seconds}};
}

LayerSim layer_sim_from_json(const nlohmann::json& j, const Layer& l, const Accelerator& a) {
  LayerSim s;
  s.name = j.at("name").get<std::string>();
  if (!l.host()) s.model = layer_cost(l, a);
  s.rtl_cycles = j.at("rtl_cycles").get<long long>();
  for (size_t n = 0; n < std::size(kEventFields); ++n)
    s.rtl.*kEventFields[n] = j.at("rtl")[n].get<long long>();
  s.outputs_match = j.at("outputs_match").get<bool>();
  s.mismatches = j.at("mismatches").get<long long>();
  s.backpressure = j.at("backpressure").get<bool>();
  s.seconds = j.at("seconds").get<double>();
  s.loop_seconds = j.at("loop_seconds").get<double>();
  s.loop_cpu_seconds = j.at("loop_cpu_seconds").get<double>();
  return s;
}

// User and system CPU time of this process and of its children that have ended.
double cpu_seconds() {
  double t = 0;
  for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
    rusage u{};
    getrusage(who, &u);
    t += static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
  }
  return t;
}

std::string fmt_si(double v) {
  if (v >= 1e9) return fmt::format("{:.2f}G", v / 1e9);
  if (v >= 1e6) return fmt::format("{:.2f}M", v / 1e6);
  if (v >= 1e3) return fmt::format("{:.1f}k", v / 1e3);
  return fmt::format("{:.0f}", v);
}

}  // namespace

int cmd_cost(const Args& args, const std::string& command_line) {
  po::options_description od("options");
  od.add_options()("help,h", "this text")(
      "network", po::value<std::string>()->required(), "network.json")(
      "accel", po::value<std::string>()->required(), "accelerator.json")(
      "tech", po::value<std::string>(), "technology table (JSON); default: built-in 45 nm")(
      "json", po::value<std::string>(), "also write the report as JSON to this file");
  po::variables_map vm;
  if (!parse(args, od, vm, "usage: hdx cost --network N --accel A [--tech T] [--json F]",
             "  hdx cost --network examples/net_all_kinds.json --accel "
             "examples/accel_ws_16x16.json --json cost.json\n"))
    return 0;
  const Network net = load_network(vm["network"].as<std::string>());
  const Accelerator acc = load_accelerator(vm["accel"].as<std::string>());
  const Tech tech = vm.count("tech") ? load_tech(vm["tech"].as<std::string>()) : default_tech();
  const NetworkCost c = network_cost(net, acc, tech);

  fmt::print("network '{}' on accelerator '{}' ({} {}x{}, {} MHz)\n\n", net.name, acc.name,
             dataflow_name(acc.dataflow), acc.pe_rows, acc.pe_cols, acc.clock_mhz);
  fmt::print("{:<16} {:<14} {:<20} {:>10} {:>6} {:>9} {:>9} {:>9} {:>10}\n", "layer", "op",
             "shape", "cycles", "util", "MACs", "DRAM rd", "DRAM wr", "energy uJ");
  nlohmann::json layers = nlohmann::json::array();
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const Layer& l = net.layers[i];
    const LayerCost& lc = c.layers[i];
    fmt::print("{:<16} {:<14} {:<20} {:>10} {:>5.1f}% {:>9} {:>9} {:>9} {:>10.3f}\n", l.name,
               op_desc(l), shape(l), lc.cycles, 100 * lc.utilization, fmt_si(lc.ev.macs),
               fmt_si(lc.ev.dram_rd_bytes), fmt_si(lc.ev.dram_wr_bytes),
               lc.energy.total() * 1e-6);
    layers.push_back({{"name", l.name},
                      {"op", op_name(l.op)},
                      {"host", l.host()},
                      {"cycles", lc.cycles},
                      {"latency_us", lc.latency_us},
                      {"utilization", lc.utilization},
                      {"events", events_json(lc.ev)},
                      {"energy_pj",
                       {{"mac", lc.energy.mac}, {"dram", lc.energy.dram},
                        {"ifmap", lc.energy.ifmap}, {"weight", lc.energy.weight},
                        {"acc", lc.energy.acc}, {"param", lc.energy.param},
                        {"spad", lc.energy.spad},
                        {"total", lc.energy.total()}}},
                      {"commands", {{"ld", lc.n_ld}, {"cmp", lc.n_cmp}, {"st", lc.n_st}}}});
  }
  const double util = c.cycles ? static_cast<double>(c.macs) /
                                     (static_cast<double>(c.cycles) * acc.pe_rows * acc.pe_cols)
                               : 0;
  fmt::print("{:<16} {:<14} {:<20} {:>10} {:>5.1f}% {:>9}\n\n", "total", "", "", c.cycles,
             100 * util, fmt_si(c.macs));
  fmt::print("latency {:.3f} ms at {} MHz, energy {:.3f} uJ, area {:.3f} mm2 "
             "(PE array {:.3f}, buffers {:.3f}, output stage {:.3f}, control {:.3f})\n",
             c.latency_us / 1000, acc.clock_mhz, c.energy_uj, c.area_mm2,
             (c.area.pe_array + c.area.spad) * 1e-6,
             (c.area.ifmap + c.area.weight + c.area.acc + c.area.param) * 1e-6,
             c.area.output_stage * 1e-6, c.area.control * 1e-6);
  if (vm.count("json")) {
    nlohmann::json j = {{"network", net.name},
                        {"accelerator", accelerator_to_json(acc)},
                        {"technology", tech_to_json(tech)},
                        {"command", command_line},
                        {"layers", layers},
                        {"total",
                         {{"cycles", c.cycles},
                          {"macs", c.macs},
                          {"utilization", util},
                          {"latency_us", c.latency_us},
                          {"energy_uj", c.energy_uj},
                          {"area_mm2", c.area_mm2}}},
                        {"area_um2",
                         {{"pe_array", c.area.pe_array}, {"spad", c.area.spad},
                          {"ifmap", c.area.ifmap},
                          {"weight", c.area.weight}, {"acc", c.area.acc},
                          {"param", c.area.param}, {"output_stage", c.area.output_stage},
                          {"control", c.area.control}}}};
    const fs::path jp(vm["json"].as<std::string>());
    if (jp.has_parent_path()) fs::create_directories(jp.parent_path());
    write_file_atomic(jp.string(), j.dump(2) + "\n");
  }
  return 0;
}

int cmd_rtl(const Args& args, const std::string& command_line) {
  po::options_description od("options");
  od.add_options()("help,h", "this text")(
      "accel", po::value<std::string>()->required(), "accelerator.json")(
      "out", po::value<std::string>()->required(), "output folder (Verilog goes to OUT/rtl)")(
      "force", "write into a non-empty output folder")(
      "synth", "also map to a cell library with Yosys and time it with OpenSTA: OUT/synth/")(
      "liberty", po::value<std::string>(),
      "with --synth: the cell library (.lib) to map to instead of hdx's generic 45 nm one")(
      "sram-lib", po::value<std::string>(),
      "with --synth: the SRAM macro table (.json) pricing the memories instead of hdx's")(
      "no-lint", "skip the Verilator -Wall lint");
  po::variables_map vm;
  if (!parse(args, od, vm, "usage: hdx rtl --accel A --out DIR [--force] [--synth [--liberty F] [--sram-lib F]]",
             "  hdx rtl --accel examples/accel_ws_4x4.json --out out/rtl4\n"
             "  hdx rtl --accel examples/accel_ws_4x4.json --out out/rtl4 --force --synth\n"))
    return 0;
  const Accelerator acc = load_accelerator(vm["accel"].as<std::string>());
  RtlOptions o;
  o.out_dir = vm["out"].as<std::string>();
  o.force = vm.count("force") > 0;
  o.synth = vm.count("synth") > 0;
  o.lint = vm.count("no-lint") == 0;
  if (vm.count("liberty")) {
    if (!o.synth)
      throw po::error("the option '--liberty' needs '--synth'");
    o.liberty = vm["liberty"].as<std::string>();
  }
  if (vm.count("sram-lib")) {
    if (!o.synth)
      throw po::error("the option '--sram-lib' needs '--synth'");
    o.sram_lib = vm["sram-lib"].as<std::string>();
  }
  o.command_line = command_line;
  const RtlResult r = generate_rtl(acc, o);
  fmt::print("wrote {} files for top '{}' (config {}) to {}\n", r.files.size(), r.top,
             r.config_hash, o.out_dir);
  fmt::print("  filelist: {}   (verilator -F {}; iverilog -g2012 -f filelist.f from {})\n",
             r.filelist, r.filelist, r.rtl_dir);
  if (o.lint) fmt::print("  Verilator --lint-only -Wall: clean\n");
  if (!o.synth) return 0;
  const auto& s = r.synth;
  const auto& t = s.at("timing");
  fmt::print("  Yosys ({}): {:.0f} um2 = {:.0f} um2 of standard cells ({} cells, {} "
             "flip-flops) + {:.0f} um2 of SRAM macros ({} bits, {}) (synth/report.json)\n",
             s.at("library").get<std::string>(), s.at("area_um2").get<double>(),
             s.at("std_cell_area_um2").get<double>(), s.at("cells").get<long long>(),
             s.at("flip_flops").get<long long>(), s.at("sram_area_um2").get<double>(),
             s.at("memories").at("bits").get<long long>(), s.at("sram_lib").get<std::string>());
  fmt::print("  OpenSTA at {} MHz: worst slack {:.3f} ns, {} -> {}, Fmax {:.0f} MHz "
             "(synth/timing.txt)\n",
             t.at("clock_mhz").get<double>(), t.at("worst_slack_ns").get<double>(),
             t.value("startpoint", "?"), t.value("endpoint", "?"), t.at("fmax_mhz").get<double>());
  if (t.contains("violations") && t["violations"].at("endpoints").get<long long>() > 0) {
    const auto& v = t.at("violations");
    std::string worst;
    for (size_t i = 0; i < std::min<size_t>(3, v.at("worst_registers").size()); ++i) {
      const auto& r = v.at("worst_registers")[i];
      worst += fmt::format("{}{} ({:.3f} ns, {} bits)", i ? ", " : "",
                           r.at("register").get<std::string>(),
                           r.at("worst_slack_ns").get<double>(), r.at("endpoints").get<long long>());
    }
    fmt::print("  {} endpoints in {} registers miss the clock, the worst: {} (synth/report.json)\n",
               v.at("endpoints").get<long long>(), v.at("registers").get<long long>(), worst);
  }
  fmt::print("  SRAM macros: slowest access {:.3f} ns + setup {:.3f} ns (not in OpenSTA's "
             "paths)\n",
             t.at("sram_max_access_ns").get<double>(), t.at("sram_max_setup_ns").get<double>());
  if (!t.at("met").get<bool>()) {
    fmt::print(stderr,
               "[rtlgen E009] timing not met: worst slack {:.3f} ns at {} MHz; the netlist meets "
               "{:.0f} MHz ({}/synth/timing.txt)\n",
               t.at("worst_slack_ns").get<double>(), t.at("clock_mhz").get<double>(),
               t.at("fmax_mhz").get<double>(), o.out_dir);
    return 1;
  }
  if (!t.at("sram_fits_period").get<bool>()) {
    fmt::print(stderr,
               "[rtlgen E009] timing not met: the slowest SRAM macro needs {:.3f} ns access + "
               "{:.3f} ns setup, more than the {:.3f} ns period ({}/synth/report.json)\n",
               t.at("sram_max_access_ns").get<double>(), t.at("sram_max_setup_ns").get<double>(),
               t.at("period_ns").get<double>(), o.out_dir);
    return 1;
  }
  return 0;
}

int cmd_sim(const Args& args, const std::string& command_line) {
  po::options_description od("options");
  od.add_options()("help,h", "this text")(
      "network", po::value<std::string>()->required(), "network.json")(
      "accel", po::value<std::string>()->required(), "accelerator.json")(
      "out", po::value<std::string>()->required(), "output folder for sim_report.json")(
      "weights", po::value<std::string>(),
      "int8 weights (weights_int8.npz from hdx quantize): run real test images end to end")(
      "images", po::value<int>()->default_value(1), "with --weights: test images to run")(
      "first-image", po::value<int>()->default_value(0), "with --weights: index of the first one")(
      "seed", po::value<uint64_t>()->default_value(1), "seed of the random layer data")(
      "dump-tensors", "write OUT/tensors/<layer>/*.npy (input, weight, bias, mult, shift, "
                      "RTL output; of the first image with --weights)")(
      "tensors", po::value<std::string>(),
      "read each layer's input, weight, bias, mult and shift from DIR/<layer>/*.npy (the "
      "layout --dump-tensors writes) instead of random data")(
      "waves", po::value<std::string>(), "write OUT/waves/<LAYER>.fst for this layer")(
      "simulator", po::value<std::string>()->default_value("verilator"),
      "verilator (2-state, fast) or icarus (4-state: an X or Z on a handshake, done, payload, "
      "output or counter fails the layer)")(
      "backpressure", po::value<double>()->default_value(0.0),
      "0 <= P < 1: each cycle the DRAM model withholds request ready, write ready, a due read "
      "response and a due write response, each with probability P (seeded by --seed); "
      "outputs and events must stay exact, cycles may only grow")(
      "jobs", po::value<int>(),
      "simulator processes run in parallel, each taking whole images (with --weights) or "
      "layers (default: one per core)")(
      "force", "write into a non-empty output folder");
  add_data_options(od);
  po::variables_map vm;
  if (!parse(args, od, vm,
             "usage: hdx sim --network N --accel A --out DIR [--seed S | --tensors DIR | "
             "--weights W [--images K]] [--dump-tensors] [--waves LAYER] [--simulator icarus] "
             "[--backpressure P] [--jobs N]",
             "  hdx sim --network examples/net_all_kinds.json --accel "
             "examples/accel_ws_16x16.json --out out/sim16\n"
             "  hdx sim --network examples/net_tiny.json --accel examples/accel_ws_4x4.json "
             "--out out/tiny --dump-tensors --waves conv1 --force\n"
             "  hdx sim --network out/search/network.json --weights out/quant/weights_int8.npz "
             "--accel out/search/accelerator.json --images 10 --out out/sim\n"
             "  mpirun -n 4 hdx sim --network out/search/network.json --weights "
             "out/quant/weights_int8.npz --accel out/search/accelerator.json --images 10000 "
             "--jobs 2 --out out/sim10k\n"))
    return 0;
  // Under mpirun or srun the ranks share the images (with --weights) or the layers; rank 0
  // checks the output folder, builds the model (the other ranks then find it in the cache)
  // and writes the one report. Every rank checks the inputs, and a failure on any rank stops
  // every rank before the work starts.
  Comm& rk = comm();
  const bool lead = rk.rank() == 0;
  const auto log = rank0_log("sim");
  Network net;
  Accelerator acc;
  std::string out, waves, sim_name;
  uint64_t seed = 1;
  bool real = false;
  Simulator simulator = Simulator::Verilator;
  double bp = 0;
  int cores = 1, jobs = 1;
  QuantNet qnet;
  Images images;
  int first = 0, passes = 1;
  SimModel model, wave_model;
  on_every_rank([&] {
    net = load_network(vm["network"].as<std::string>());
    acc = load_accelerator(vm["accel"].as<std::string>());
    out = vm["out"].as<std::string>();
    seed = vm["seed"].as<uint64_t>();
    waves = vm.count("waves") ? vm["waves"].as<std::string>() : "";
    real = vm.count("weights") > 0;
    sim_name = vm["simulator"].as<std::string>();
    if (sim_name != "verilator" && sim_name != "icarus")
      throw ConfigError(25, fmt::format("--simulator {}: must be verilator or icarus", sim_name));
    simulator = sim_name == "icarus" ? Simulator::Icarus : Simulator::Verilator;
    bp = vm["backpressure"].as<double>();
    if (!(bp >= 0 && bp < 1))
      throw ConfigError(25, fmt::format("--backpressure {}: must be at least 0 and below 1", bp));
    cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    jobs = vm.count("jobs") ? vm["jobs"].as<int>() : cores;
    if (jobs < 1)
      throw ConfigError(25, fmt::format("--jobs {}: must be at least 1 (simulator processes run in "
                                        "parallel; default: one per core, here {})", jobs, cores));
    if (simulator == Simulator::Icarus && !waves.empty())
      throw ConfigError(25, "--waves needs --simulator verilator (FST waveforms)");
    if (real && vm.count("tensors"))
      throw ConfigError(24, "--weights and --tensors both give the layer data; pass one");
    if (!waves.empty()) {
      const int k = find_layer(net, waves);
      if (k < 0)
        throw ConfigError(20, fmt::format("--waves {}: no layer of that name in network '{}'",
                                          waves, net.name));
      const Layer& found = net.layers[static_cast<size_t>(k)];
      if (found.host())
        throw ConfigError(21, fmt::format("--waves {}: that layer is a host operation ({}) and "
                                          "does not run on the RTL; name an accelerator layer",
                                          waves, op_name(found.op)));
    }
    // Check every input before building anything.
    for (const Layer& l : net.layers) (void)layer_cost(l, acc);
    if (real) {
      qnet = load_qnet(vm["weights"].as<std::string>(), net);
      const int k = vm["images"].as<int>();
      first = vm["first-image"].as<int>();
      if (k < 1 || first < 0)
        throw ConfigError(24, fmt::format("--images {} --first-image {}: need at least one image "
                                          "and a first index of 0 or more", k, first));
      images = load_images(vm["dataset"].as<std::string>(), data_dir(vm), false, first + k);
      if (images.n < first + k)
        throw ConfigError(24, fmt::format("--first-image {} --images {}: the test set has only {} "
                                          "images", first, k, images.n));
      check_image_shape(net, images);
    }
    passes = real ? images.n - first : 1;
    if (!lead) return;
    prepare_out(out, vm.count("force") > 0);
    model = build_sim_model(acc, false, log, simulator);
    if (model.built_now) log(fmt::format("model built in {:.1f} s", model.build_seconds));
    else log(fmt::format("model found in cache {}", model.dir));
    if (!waves.empty()) wave_model = build_sim_model(acc, true, log);
  });

  // One pass per image (one pass of random or given data without --weights): every
  // accelerator layer on the RTL, fed with what the RTL wrote for the layers before it; host
  // operations on the host. The work is split into items, an image each with --weights and a
  // layer each otherwise (random or given layers do not depend on one another), and spread
  // over `workers` threads, each with a simulator process of its own that runs every job it
  // is given from one job stream. Results land in per-item slots, so the report is the same
  // whatever the number of workers.
  std::vector<std::string> files;
  const size_t L = net.layers.size();
  std::vector<std::vector<LayerSim>> sims(static_cast<size_t>(passes), std::vector<LayerSim>(L));
  struct ImageResult {
    int label = 0, rtl_class = 0, ref_class = 0;
  };
  std::vector<ImageResult> image_results(static_cast<size_t>(passes));
  const auto t0 = std::chrono::steady_clock::now();
  const bool tty = lead && isatty(1) != 0;
  const size_t n_acc = static_cast<size_t>(std::count_if(
      net.layers.begin(), net.layers.end(), [](const Layer& l) { return !l.host(); }));
  const size_t n_items = real ? static_cast<size_t>(passes) : L;
  // This rank's items (all of them in one process).
  const Shard sh = shard_of(n_items, rk.rank(), rk.size());
  const size_t n_mine = sh.last - sh.first;
  size_t total_jobs = n_acc * n_mine;  // of this rank
  if (!real)
    total_jobs = static_cast<size_t>(std::count_if(
        net.layers.begin() + static_cast<long>(sh.first),
        net.layers.begin() + static_cast<long>(sh.last), [](const Layer& l) { return !l.host(); }));
  const int workers = static_cast<int>(std::min<size_t>(static_cast<size_t>(jobs), n_mine));
  const char* noun = real ? (n_items == 1 ? "image" : "images") : (n_items == 1 ? "layer" : "layers");
  if (rk.size() == 1)
    log(fmt::format("{} {} on {} worker{} (--jobs {})", n_items, noun, workers,
                    workers == 1 ? "" : "s", jobs));
  else
    log(fmt::format("{} {} over {} ranks; rank 0 takes {} on {} worker{} (--jobs {})", n_items,
                    noun, rk.size(), shard_text(sh, n_items, real ? "images" : "layers"),
                    workers, workers == 1 ? "" : "s", jobs));
  std::mutex mu;  // guards printing, `files` and `done`
  size_t done = 0;
  std::atomic<size_t> next{sh.first};
  std::atomic<bool> stop{false};
  std::vector<std::exception_ptr> errors(n_items);
  std::vector<char> finished(n_items, 0);
  std::vector<double> busy(static_cast<size_t>(workers), 0.0), loop(static_cast<size_t>(workers), 0.0),
      loop_cpu(static_cast<size_t>(workers), 0.0);
  const double cpu0 = cpu_seconds();

  auto progress = [&](int p, size_t i, const LayerSim& s) {
    std::lock_guard<std::mutex> lock(mu);
    ++done;
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double eta = el / static_cast<double>(done) * static_cast<double>(total_jobs - done);
    const std::string line = fmt::format(
        "{}[{}/{}] {}: {} cycles (model {}), outputs {}, {:.2g} s, ETA {:.0f} s",
        real ? fmt::format("image {}/{} ", p + 1, passes) : "", i + 1, L, net.layers[i].name,
        s.rtl_cycles, s.model.cycles, s.outputs_match ? "match" : "MISMATCH", s.seconds, eta);
    if (tty) {  // one bar, redrawn in place
      const size_t w = 24, filled = w * done / total_jobs;
      fmt::print("\r[sim] [{}{}] {:<70.70}", std::string(filled, '#'),
                 std::string(w - filled, '.'), line);
      std::fflush(stdout);
    } else {
      log(line);
    }
  };
  auto dump = [&](const Layer& l, const LayerData& d, const LayerSim& s) {
    const std::string td = out + "/tensors/" + l.name;
    fs::create_directories(td);
    std::vector<std::string> written;
    auto w = [&](const std::string& name, const auto& data, std::vector<size_t> shp) {
      write_npy(td + "/" + name, data, shp);
      written.push_back("tensors/" + l.name + "/" + name);
    };
    const size_t oc = static_cast<size_t>(l.out_c);
    w("input.npy", d.input, {size_t(l.in_h), size_t(l.in_w), size_t(l.in_c)});
    w("weight.npy", d.weight, {oc, size_t(l.kh), size_t(l.kw), size_t(l.cin_g())});
    w("bias.npy", d.q.bias, {oc});
    w("mult.npy", d.q.mult, {oc});
    w("shift.npy", d.q.shift, {oc});
    w("output.npy", s.rtl_out, {size_t(l.out_h), size_t(l.out_w), oc});
    const nlohmann::json lj = network_to_json(single_layer_network(l));
    write_file_atomic(td + "/layer.json", lj.dump(2) + "\n");
    written.push_back("tensors/" + l.name + "/layer.json");
    std::lock_guard<std::mutex> lock(mu);
    files.insert(files.end(), written.begin(), written.end());
  };
  // Runs accelerator layer i of pass p on the worker (or, for the --waves layer of the first
  // pass, on the traced model in a process of its own).
  auto run_layer = [&](SimWorker& wk, int p, size_t i, const LayerData& d,
                       const std::vector<int8_t>* golden) {
    const Layer& l = net.layers[i];
    SimOptions so;
    so.backpressure = bp;
    so.seed = (seed * 1000 + i) * 1000 + static_cast<uint64_t>(p) + 1;
    if (l.name == waves && p == 0) {
      const std::string fst = out + "/waves/" + l.name + ".fst";
      fs::create_directories(out + "/waves");
      {
        std::lock_guard<std::mutex> lock(mu);
        files.push_back("waves/" + l.name + ".fst");
      }
      return simulate_layer(wave_model, l, acc, d, fs::absolute(fst).string(), so);
    }
    return simulate_layer(wk, l, acc, d, so, golden,
                          real ? fmt::format("image {} (test index {}), layer '{}'", p + 1,
                                             first + p, l.name)
                               : fmt::format("layer '{}'", l.name));
  };
  // Item k: image k with --weights, else layer k.
  auto run_item = [&](SimWorker& wk, size_t k) {
    if (!real) {
      const size_t i = k;
      const Layer& l = net.layers[i];
      LayerSim& s = sims[0][i];
      s.name = l.name;
      if (l.host()) return;
      const LayerData d = vm.count("tensors")
                              ? load_layer_data(l, vm["tensors"].as<std::string>() + "/" + l.name)
                              : random_layer_data(l, seed * 1000 + i);
      s = run_layer(wk, 0, i, d, nullptr);
      progress(0, i, s);
      if (vm.count("dump-tensors")) dump(l, d, s);
      s.rtl_out = {};
      s.golden_out = {};
      return;
    }
    const int p = static_cast<int>(k);
    const std::vector<int8_t> input = image_input(images, first + p);
    const std::vector<std::vector<int8_t>> ref = reference_forward(net, qnet, input);
    std::vector<std::vector<int8_t>> rtl;  // per layer, HWC
    for (size_t i = 0; i < L; ++i) {
      const Layer& l = net.layers[i];
      LayerSim& s = sims[k][i];
      s.name = l.name;
      if (l.host()) {
        rtl.push_back(host_op(net, qnet, i, input, rtl));
        s.outputs_match = rtl.back() == ref[i];
        continue;
      }
      LayerData d;
      d.input = layer_input(net, i, input, rtl);
      d.weight = qnet.layers[i].weight;
      d.q = qnet.layers[i].q;
      // On the reference's own input the golden output is the reference's.
      const bool same = d.input == layer_input(net, i, input, ref);
      s = run_layer(wk, p, i, d, same ? &ref[i] : nullptr);
      // Bit-exact against the golden kernel on the RTL's own input, and against the
      // reference inference of the whole network.
      s.outputs_match = s.outputs_match && s.rtl_out == ref[i];
      rtl.push_back(std::move(s.rtl_out));
      s.rtl_out = {};
      s.golden_out = {};
      progress(p, i, s);
      if (vm.count("dump-tensors") && p == 0) {
        LayerSim with_out;
        with_out.rtl_out = rtl.back();
        dump(l, d, with_out);
      }
    }
    ImageResult& ir = image_results[k];
    ir.label = images.labels[static_cast<size_t>(first + p)];
    ir.rtl_class = argmax(rtl.back());
    ir.ref_class = argmax(ref.back());
    std::lock_guard<std::mutex> lock(mu);
    if (tty) fmt::print("\r\033[K");  // the line replaces the bar, which the next layer redraws
    log(fmt::format("image {}: label {}, RTL class {}, reference class {}{}", first + p, ir.label,
                    ir.rtl_class, ir.ref_class, ir.rtl_class == ir.ref_class ? "" : "  DISAGREE"));
  };
  auto work = [&](int w) {
    SimWorker wk(model, fmt::format("worker {}", w + 1));
    const auto start = std::chrono::steady_clock::now();
    size_t k = 0;
    try {
      while (!stop && (k = next++) < sh.last) {
        run_item(wk, k);
        finished[k] = 1;
        const std::vector<LayerSim>& row = sims[real ? k : 0];
        for (size_t i = real ? 0 : k; i < (real ? L : k + 1); ++i) {
          loop[static_cast<size_t>(w)] += row[i].loop_seconds;
          loop_cpu[static_cast<size_t>(w)] += row[i].loop_cpu_seconds;
        }
      }
      wk.stop();
    } catch (...) {
      errors[k] = std::current_exception();
      stop = true;
    }
    busy[static_cast<size_t>(w)] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  std::exception_ptr failed;
  if (!lead) {  // rank 0 built the model; the others find it in the cache
    try {
      model = build_sim_model(acc, false, nullptr, simulator);
      if (!waves.empty()) wave_model = build_sim_model(acc, true, nullptr);
    } catch (...) {
      failed = std::current_exception();
    }
  }
  if (!failed && workers == 1) {
    work(0);
  } else if (!failed) {
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w) threads.emplace_back(work, w);
    for (auto& t : threads) t.join();
  }
  for (size_t k = 0; k < n_items && !failed; ++k) failed = errors[k];
  const size_t n_done = static_cast<size_t>(std::count(finished.begin(), finished.end(), 1));
  if (failed && rk.size() == 1) {
    if (tty) fmt::print("\n");
    log(fmt::format("the run stopped at the first failure: {} of {} {} finished, the others not "
                    "run or not complete", n_done, n_items, real ? "images" : "layers"));
    std::rethrow_exception(failed);
  }
  // Under MPI, rank 0 gathers every rank's items into its own slots; a rank that failed is
  // reported with its shard.
  double more_loop = 0, more_busy = 0, more_loop_cpu = 0, more_cpu = 0;
  int more_workers = 0;
  if (rk.size() > 1) {
    RankOutcome me;
    if (failed) {
      me.ok = false;
      try {
        std::rethrow_exception(failed);
      } catch (const Error& e) {
        me.message = e.what();
        me.exit_code = e.exit_code();
      } catch (const std::exception& e) {
        me.message = fmt::format("[hdx E999] internal error: {}", e.what());
        me.exit_code = 3;
      }
      me.message += fmt::format(" ({} of its {} {} finished)", n_done, n_mine,
                                real ? "images" : "layers");
    } else {
      nlohmann::json items = nlohmann::json::array();
      for (size_t k = sh.first; k < sh.last; ++k) {
        nlohmann::json row = nlohmann::json::array();
        for (size_t i = real ? 0 : k; i < (real ? L : k + 1); ++i)
          row.push_back(layer_sim_to_json(sims[real ? k : 0][i]));
        nlohmann::json item = {{"item", k}, {"layers", row}};
        if (real)
          item["image"] = {image_results[k].label, image_results[k].rtl_class,
                           image_results[k].ref_class};
        items.push_back(item);
      }
      double lp = 0, bz = 0, lc = 0;
      for (int w = 0; w < workers; ++w) {
        lp += loop[static_cast<size_t>(w)];
        bz += busy[static_cast<size_t>(w)];
        lc += loop_cpu[static_cast<size_t>(w)];
      }
      me.payload = nlohmann::json({{"items", items}, {"files", files}, {"workers", workers},
                                   {"loop", lp}, {"busy", bz}, {"loop_cpu", lc},
                                   {"cpu", cpu_seconds() - cpu0}}).dump();
    }
    const std::vector<RankOutcome> all = gather_outcomes(me);
    if (!lead) return 0;  // rank 0 reports for every rank
    std::string why;
    int exit_code = 0;
    for (size_t r = 0; r < all.size(); ++r) {
      const Shard rs = shard_of(n_items, static_cast<int>(r), rk.size());
      if (!all[r].ok) {
        why += fmt::format("{}rank {} of {} ({}) failed: {}", why.empty() ? "" : "; ", r,
                           all.size(), shard_text(rs, n_items, real ? "images" : "layers"),
                           all[r].message);
        if (!exit_code) exit_code = all[r].exit_code;
        continue;
      }
      if (r == 0) continue;
      const nlohmann::json j = nlohmann::json::parse(all[r].payload);
      for (const auto& item : j.at("items")) {
        const size_t k = item.at("item").get<size_t>();
        const auto& row = item.at("layers");
        for (size_t n = 0; n < row.size(); ++n) {
          const size_t i = real ? n : k;
          sims[real ? k : 0][i] = layer_sim_from_json(row[n], net.layers[i], acc);
        }
        if (real) {
          image_results[k].label = item.at("image")[0].get<int>();
          image_results[k].rtl_class = item.at("image")[1].get<int>();
          image_results[k].ref_class = item.at("image")[2].get<int>();
        }
      }
      for (const auto& f : j.at("files")) files.push_back(f.get<std::string>());
      more_workers += j.at("workers").get<int>();
      more_loop += j.at("loop").get<double>();
      more_busy += j.at("busy").get<double>();
      more_loop_cpu += j.at("loop_cpu").get<double>();
      more_cpu += j.at("cpu").get<double>();
    }
    if (!why.empty()) {
      if (tty) fmt::print("\n");
      throw RankError(2, why + "; no report was written", exit_code == 2 ? 2 : 1);
    }
  }
  nlohmann::json image_rows = nlohmann::json::array();
  int agree = 0, rtl_correct = 0, ref_correct = 0;
  if (real)
    for (int p = 0; p < passes; ++p) {
      const ImageResult& ir = image_results[static_cast<size_t>(p)];
      agree += ir.rtl_class == ir.ref_class;
      rtl_correct += ir.rtl_class == ir.label;
      ref_correct += ir.ref_class == ir.label;
      image_rows.push_back({{"index", first + p}, {"label", ir.label},
                            {"reference_class", ir.ref_class}, {"rtl_class", ir.rtl_class},
                            {"agree", ir.rtl_class == ir.ref_class}});
    }

  if (tty) fmt::print("\n");
  fmt::print("\n{:<16} {:<14} {:>10} {:>10} {:>7} {:>8} {:>7}\n", "layer", "op",
             "model cyc", "rtl cyc", "cycles", "outputs", "events");
  nlohmann::json layers = nlohmann::json::array();
  bool all_ok = true;
  long long tm = 0, tr = 0;
  double cycles_all = 0;  // RTL cycles over every pass
  double em = 0, er = 0;  // energy in uJ
  for (size_t i = 0; i < L; ++i) {
    const Layer& l = net.layers[i];
    // Over all passes: outputs exact in every one, cycles and events equal in every one.
    const LayerSim& s0 = sims[0][i];
    bool outputs = true, cycles = true, events = true;
    long long bad = 0;
    double secs = 0;
    for (const auto& pass : sims) {
      outputs &= pass[i].outputs_match;
      cycles &= pass[i].cycles_match();
      events &= pass[i].events_match();
      bad += pass[i].mismatches;
      cycles_all += static_cast<double>(pass[i].rtl_cycles);
      secs += pass[i].seconds;
    }
    const long long rtl_cycles = s0.rtl_cycles;  // of the first pass; "cycles" covers them all
    if (l.host()) {
      all_ok &= outputs || !real;
      fmt::print("{:<16} {:<14} {:>10} {:>10}   runs on the host{}\n", l.name, op_desc(l), 0, 0,
                 real ? (outputs ? ", outputs exact" : ", outputs DIFFER") : "");
      nlohmann::json row = {{"name", l.name}, {"op", op_name(l.op)}, {"host", true},
                            {"model_cycles", 0}, {"rtl_cycles", 0}};
      if (real) row["outputs_match"] = outputs;
      layers.push_back(row);
      continue;
    }
    all_ok &= outputs && cycles && events;
    tm += s0.model.cycles;
    tr += rtl_cycles;
    em += s0.model.energy.total() * 1e-6;
    er += event_energy(s0.rtl, acc).total() * 1e-6;
    fmt::print("{:<16} {:<14} {:>10} {:>10} {:>7} {:>8} {:>7}\n", l.name, op_desc(l),
               s0.model.cycles, rtl_cycles,
               !cycles ? "DIFFER" : bp > 0 ? (rtl_cycles == s0.model.cycles ? "equal" : ">=") : "equal",
               outputs ? "exact" : bad ? fmt::format("{} bad", bad) : "DIFFER",
               events ? "equal" : "DIFFER");
    layers.push_back({{"name", l.name},
                      {"op", op_name(l.op)},
                      {"host", false},
                      {"model_cycles", s0.model.cycles},
                      {"rtl_cycles", rtl_cycles},
                      {"cycles_match", cycles},
                      {"outputs_match", outputs},
                      {"mismatches", bad},
                      {"events_match", events},
                      {"utilization", s0.model.utilization},
                      {"model_energy_uj", s0.model.energy.total() * 1e-6},
                      {"rtl_energy_uj", event_energy(s0.rtl, acc).total() * 1e-6},
                      {"model_events", events_json(s0.model.ev)},
                      {"rtl_events", events_json(s0.rtl)},
                      {"seconds", secs}});
  }
  fmt::print("{:<16} {:<14} {:>10} {:>10}\n\n", "total", "", tm, tr);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::json report = {{"network", net.name},
                           {"accelerator", accelerator_to_json(acc)},
                           {"command", command_line},
                           {"config_hash", config_hash(acc)},
                           {"simulator", sim_name},
                           {"backpressure", bp},
                           {"layers", layers},
                           {"total", {{"model_cycles", tm}, {"rtl_cycles", tr},
                                      {"model_energy_uj", em}, {"rtl_energy_uj", er},
                                      {"model_latency_ms", tm / acc.clock_mhz * 1e-3},
                                      {"rtl_latency_ms", tr / acc.clock_mhz * 1e-3}}},
                           {"seconds", secs},
                           {"all_match", all_ok}};
  // Where the time went: the model's own cycle loops (summed over every job) against the
  // workers' wall time; harness_overhead is what the rest of the run adds to the loops.
  double loop_sum = more_loop, busy_sum = more_busy, loop_cpu_sum = more_loop_cpu;
  const int all_workers = workers + more_workers;
  for (int w = 0; w < workers; ++w) {
    loop_sum += loop[static_cast<size_t>(w)];
    busy_sum += busy[static_cast<size_t>(w)];
    loop_cpu_sum += loop_cpu[static_cast<size_t>(w)];
  }
  // CPU time of hdx and its finished simulator processes since the run began (the model
  // build before it is not counted): on a busy machine a fairer measure than wall time.
  const double cpu = cpu_seconds() - cpu0 + more_cpu;
  report["throughput"] = {
      {"jobs", jobs},
      {"ranks", rk.size()},
      {"workers", all_workers},
      {"wall_seconds", secs},
      {"worker_seconds", busy_sum},
      {"model_loop_seconds", loop_sum},
      {"harness_overhead", loop_sum > 0 ? secs * all_workers / loop_sum - 1 : 0.0},
      {"cpu_seconds", cpu},
      {"model_loop_cpu_seconds", loop_cpu_sum},
      {"harness_cpu_overhead", loop_cpu_sum > 0 ? cpu / loop_cpu_sum - 1 : 0.0},
      {"simulated_cycles_per_second", secs > 0 ? cycles_all / secs : 0.0}};
  if (real) report["throughput"]["images_per_second"] = secs > 0 ? passes / secs : 0.0;
  if (real) {
    const double n = passes;
    report["images"] = image_rows;
    report["rtl_agreement"] = agree / n;
    report["accuracy"] = {{"rtl", rtl_correct / n}, {"reference", ref_correct / n}};
    report["seconds_per_image"] = secs / n;
    all_ok &= agree == passes;
    report["all_match"] = all_ok;
  } else {
    report["seed"] = seed;
  }
  write_file_atomic(out + "/sim_report.json", report.dump(2) + "\n");
  files.push_back("sim_report.json");
  nlohmann::json config = {{"network", network_to_json(net)},
                           {"accelerator", accelerator_to_json(acc)}};
  if (real)
    config["data"] = {{"weights", vm["weights"].as<std::string>()},
                      {"weights_sha256", sha256_file(vm["weights"].as<std::string>())},
                      {"dataset", vm["dataset"].as<std::string>()},
                      {"first_image", first}, {"images", passes}};
  else
    config["seed"] = seed;
  write_manifest(out, command_line, config, files);
  if (real)
    fmt::print("{} test images on the RTL: predicted class equals the int8 reference on {}/{} "
               "({:.0f}%); accuracy {:.1f}% (reference {:.1f}%); {:.2g} s per image\n", passes,
               agree, passes, 100.0 * agree / passes, 100.0 * rtl_correct / passes,
               100.0 * ref_correct / passes, secs / passes);
  if (!all_ok) {
    fmt::print(stderr, "[sim E020] model and RTL disagree on at least one layer{} (see {}/"
                       "sim_report.json)\n", real ? " or image" : "", out);
    return 1;
  }
  fmt::print("all {} accelerator layers{}: outputs bit-exact, RTL cycles {}, events "
             "equal{} (report: {}/sim_report.json)\n", n_acc,
             real ? fmt::format(" x {} images", passes) : "",
             bp > 0 ? fmt::format(">= model cycles ({} vs {} under backpressure {})", tr, tm, bp)
                    : std::string("== model cycles"),
             n_acc == L ? "" : fmt::format("; {} host operation{} {}", L - n_acc, L - n_acc == 1 ? "" : "s",
                                           real ? "run on the host" : "not simulated"),
             out);
  return 0;
}

}  // namespace hdx::cli
