// Simulation throughput of the Verilated accelerators, for ws 8x8, 16x16 and 32x32 arrays and
// rs 4x4 and 12x14 arrays (Eyeriss v1's 12 / 224 / 24 entry scratchpads) on one real layer
// (3x3 conv 32 -> 64 on a 16x16 input, padding 1):
//   - build: the whole build_sim_model (rtlgen with lint, then the Verilator build) from an
//     empty cache; the rtlgen + lint part is also timed alone;
//   - the model executable alone on the layer's job file: wall time and CPU time, and the
//     simulated cycles per second;
//   - simulate_layer (golden kernel, job assembly and file, process, result), and what the
//     harness adds over the simulation loop inside the model executable. The difference of
//     medians (simulate_layer - bare executable) is printed but is noisy, since the harness's
//     part is small; the "harness share" is therefore built from parts each timed alone:
//     harness = layer_cost + golden kernel + program + job write + result read, plus the
//     model process's start (its run with no arguments), job read and result write; the
//     simulation loop is the bare executable's wall time less those three; the share is
//     harness / (harness + loop).
//
// The job file is the one simulate_layer itself writes: the benchmark hands simulate_layer a
// copy of the SimModel whose exe is a small wrapper script that copies the job file aside and
// then runs the real model, so no part of the harness is reproduced here.
//
//   make sim_bench && ./bench/sim_bench [--reps N] [--keep] [ARRAY...]
//   ARRAY: ws8, ws16, ws32, rs4, rs12 (default: all)
//
// The cache goes into a fresh temporary folder made under $HDX_CACHE_DIR (else $TMPDIR, else
// /tmp), so every model is built from scratch; it is removed at the end unless --keep.
#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "accel.h"
#include "golden.h"
#include "job.h"
#include "model.h"
#include "network.h"
#include "rtlgen.h"
#include "runner.h"
#include "schedule_rs.h"
#include "schedule_ws.h"
#include "util.h"
#include "verilate.h"

using namespace hdx;
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0.0 : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Median wall seconds of f over reps calls.
double time_median(int reps, const std::function<void()>& f) {
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = Clock::now();
    f();
    t.push_back(since(t0));
  }
  return median(t);
}

double children_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_CHILDREN, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

Layer conv(const std::string& name, int c, int h, int w, int oc, int k, int s, int p) {
  Layer l;
  l.name = name;
  l.in_c = c; l.in_h = h; l.in_w = w;
  l.out_c = oc; l.kh = l.kw = k; l.stride = s; l.pad = p; l.relu = true;
  l.out_h = (h + 2 * p - k) / s + 1;
  l.out_w = (w + 2 * p - k) / s + 1;
  return l;
}

// ws8/16/32: square ws arrays; rs4: 4x4 rs, rs12: 12x14 rs (spads 12 / 224 / 24). All have
// 64 KiB buffers, 16 bytes/cycle and DRAM latency 20.
Accelerator array(const std::string& key) {
  Accelerator a;
  a.ifmap_kib = a.weight_kib = a.ofmap_kib = 64;
  a.dram_bytes_per_cycle = 16;
  a.dram_latency_cycles = 20;
  if (key == "rs4" || key == "rs12") {
    a.dataflow = Dataflow::RS;
    a.pe_rows = key == "rs4" ? 4 : 12;
    a.pe_cols = key == "rs4" ? 4 : 14;
    a.spad_ifmap = 12;
    a.spad_filter = 224;
    a.spad_psum = 24;
  } else {
    a.pe_rows = a.pe_cols = std::atoi(key.c_str() + 2);
  }
  a.name = fmt::format("{}_{}x{}", dataflow_name(a.dataflow), a.pe_rows, a.pe_cols);
  return a;
}

struct Row {
  std::string label;
  double build_s = 0, rtlgen_s = 0;
  long long rtl_cycles = 0, model_cycles = 0;
  bool ok = false;
  double exe_wall_s = 0, exe_cpu_s = 0;   // model executable alone, medians
  double start_s = 0;                     // process start of the model executable alone
  double job_read_s = 0, res_write_s = 0; // the executable's file I/O, timed in-process
  double layer_s = 0;                     // LayerSim::seconds of simulate_layer, median
  // Parts of simulate_layer timed alone with the public API.
  double cost_s = 0, golden_s = 0, program_s = 0, job_write_s = 0, res_read_s = 0;
};

Row bench_array(const std::string& key, const std::string& tmp, int reps) {
  Row r;
  const Accelerator a = array(key);
  r.label = fmt::format("{} {}x{}", dataflow_name(a.dataflow), a.pe_rows, a.pe_cols);
  const std::string n = key;
  const Layer l = conv("conv3x3_32_64_16x16", 32, 16, 16, 64, 3, 1, 1);
  const LayerData d = random_layer_data(l, 1);

  const SimModel m = build_sim_model(a, false);
  if (!m.built_now) throw std::runtime_error(fmt::format("{}: model was not built fresh", a.name));
  r.build_s = m.build_seconds;
  {
    RtlOptions ro;
    ro.out_dir = fmt::format("{}/rtlgen_{}", tmp, n);
    ro.command_line = "sim_bench";
    const auto t0 = Clock::now();
    generate_rtl(a, ro);
    r.rtlgen_s = since(t0);
  }

  // Capture the job file that simulate_layer writes, through a wrapper in place of the model.
  const std::string job = fmt::format("{}/layer_{}.job", tmp, n);
  const std::string res = fmt::format("{}/layer_{}.res", tmp, n);
  const std::string wrapper = fmt::format("{}/capture_{}.sh", tmp, n);
  write_file_atomic(wrapper, fmt::format("#!/bin/sh\ncp \"$1\" '{}' || exit 3\nexec '{}' \"$@\"\n",
                                         job, m.exe));
  chmod(wrapper.c_str(), 0755);
  SimModel cap = m;
  cap.exe = wrapper;
  LayerSim s = simulate_layer(cap, l, a, d);  // also warms the file cache
  if (!s.ok() || !fs::exists(job)) throw std::runtime_error("capturing the job file failed");
  r.rtl_cycles = s.rtl_cycles;
  r.model_cycles = s.model.cycles;
  r.ok = s.ok();

  // simulate_layer as the tools call it, and the model executable alone on the same job
  // (wall and CPU time), interleaved so that a slow phase of a noisy machine hits both.
  std::vector<double> layer, wall, cpu;
  for (int i = 0; i < reps; ++i) {
    s = simulate_layer(m, l, a, d);
    layer.push_back(s.seconds);
    r.ok = r.ok && s.ok();

    std::string out;
    const double c0 = children_cpu_seconds();
    const auto t0 = Clock::now();
    const int rc = run_command({m.exe, job, res}, &out);
    wall.push_back(since(t0));
    cpu.push_back(children_cpu_seconds() - c0);
    if (rc != 0) throw std::runtime_error(fmt::format("model exited with {}: {}", rc, out));
  }
  r.layer_s = median(layer);
  r.exe_wall_s = median(wall);
  r.exe_cpu_s = median(cpu);
  const SimResult rr = read_result(res);
  if (static_cast<long long>(rr.counters[0]) != s.rtl_cycles)
    throw std::runtime_error("the bare model run gave other cycles than simulate_layer");
  // Process start: the model executable with no arguments prints its usage and exits.
  r.start_s = time_median(reps, [&] {
    std::string out;
    run_command({m.exe}, &out);
  });
  SimJob j;
  r.job_read_s = time_median(reps, [&] { j = read_job(job); });
  r.res_write_s = time_median(reps, [&] { write_result(res + ".copy", rr); });

  // The harness's own parts.
  r.cost_s = time_median(reps, [&] { (void)layer_cost(l, a); });
  r.golden_s = time_median(reps, [&] { (void)conv_golden(l, d.input, d.weight, d.q); });
  r.program_s = time_median(reps, [&] {
    if (a.dataflow == Dataflow::RS)
      (void)rs_program(l, a, DramMap{});
    else
      (void)ws_program(l, a, DramMap{});
  });
  r.job_write_s = time_median(reps, [&] { write_job(job + ".copy", j); });
  r.res_read_s = time_median(reps, [&] { (void)read_result(res); });
  return r;
}

std::string ms(double s) { return fmt::format("{:.3f}", 1e3 * s); }

std::string rate(double per_s) {
  if (per_s >= 1e6) return fmt::format("{:.2f} M", per_s * 1e-6);
  if (per_s >= 1e3) return fmt::format("{:.1f} k", per_s * 1e-3);
  return fmt::format("{:.0f}", per_s);
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 7;
  bool keep = false;
  std::vector<std::string> keys;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    if (s == "--reps" && i + 1 < argc) {
      reps = std::max(1, std::atoi(argv[++i]));
    } else if (s == "--keep") {
      keep = true;
    } else if (s == "ws8" || s == "ws16" || s == "ws32" || s == "rs4" || s == "rs12") {
      keys.push_back(s);
    } else {
      fmt::print(stderr, "usage: {} [--reps N] [--keep] [ARRAY...]   (ARRAY: ws8 ws16 ws32 rs4 "
                 "rs12; default all)\n", argv[0]);
      return 2;
    }
  }
  if (keys.empty()) keys = {"ws8", "ws16", "ws32", "rs4", "rs12"};

  const char* base_env = std::getenv("HDX_CACHE_DIR");
  const char* tmp_env = std::getenv("TMPDIR");
  const std::string base = base_env && *base_env ? base_env : tmp_env && *tmp_env ? tmp_env : "/tmp";
  std::error_code ec;
  fs::create_directories(base, ec);
  std::string pattern = base + "/sim-bench-XXXXXX";
  if (!mkdtemp(pattern.data())) {
    fmt::print(stderr, "cannot create a temporary folder under {}\n", base);
    return 1;
  }
  const std::string tmp = pattern;
  setenv("HDX_CACHE_DIR", (tmp + "/cache").c_str(), 1);

  std::vector<Row> rows;
  int rc = 0;
  try {
    for (const std::string& k : keys) {
      fmt::print(stderr, "{}: building and running ...\n", k);
      rows.push_back(bench_array(k, tmp, reps));
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "sim_bench: {}\n", e.what());
    rc = 1;
  }
  if (!keep) fs::remove_all(tmp, ec);
  if (rows.empty()) return rc;

  fmt::print("Layer: 3x3 conv 32 -> 64 on 16x16, padding 1; buffers 64 KiB each, 16 B/cycle, "
             "DRAM latency 20. Times in ms, medians of {} runs, unless noted.\n\n", reps);
  fmt::print("| array | build s | of which rtlgen+lint s | RTL cycles | exact | model exe wall | "
             "model exe CPU | sim loop | sim cycles/s (loop) | sim cycles/s (exe CPU) | "
             "simulate_layer | simulate_layer - exe wall | harness+process (sum of parts) | "
             "harness share |\n");
  fmt::print("|---|---:|---:|---:|:-:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const Row& r : rows) {
    const double loop = r.exe_wall_s - r.start_s - r.job_read_s - r.res_write_s;
    const double over = r.cost_s + r.golden_s + r.program_s + r.job_write_s + r.res_read_s +
                        r.start_s + r.job_read_s + r.res_write_s;
    fmt::print("| {0} | {1:.1f} | {2:.1f} | {3} | {4} | {5} | {6} | {7} | {8} | {9} | {10} | "
               "{11} | {12} | {13:.1f}% |\n",
               r.label, r.build_s, r.rtlgen_s, r.rtl_cycles,
               r.ok ? "yes" : fmt::format("NO (model {})", r.model_cycles), ms(r.exe_wall_s),
               ms(r.exe_cpu_s), ms(loop), rate(r.rtl_cycles / loop),
               rate(r.rtl_cycles / r.exe_cpu_s), ms(r.layer_s), ms(r.layer_s - r.exe_wall_s),
               ms(over), 100.0 * over / (over + loop));
  }
  fmt::print("\nParts, each timed alone (ms). Harness: layer_cost, golden kernel, program "
             "(command list), job write, result read. Model executable: process start (its run "
             "with no arguments), job read, result write, and the simulation loop (the rest of "
             "its wall time).\n\n");
  fmt::print("| array | layer_cost | golden kernel | program | job write | result read | "
             "process start | job read | result write | sim loop (rest) |\n");
  fmt::print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const Row& r : rows) {
    const double loop = r.exe_wall_s - r.start_s - r.job_read_s - r.res_write_s;
    fmt::print("| {0} | {1} | {2} | {3} | {4} | {5} | {6} | {7} | {8} | {9} |\n", r.label,
               ms(r.cost_s), ms(r.golden_s), ms(r.program_s), ms(r.job_write_s),
               ms(r.res_read_s), ms(r.start_s), ms(r.job_read_s), ms(r.res_write_s), ms(loop));
  }
  return rc;
}
