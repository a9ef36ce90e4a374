#include "verilate.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "errors.h"
#include "icarus.h"
#include "rtlgen.h"
#include "util.h"

namespace fs = std::filesystem;

namespace hdx {

std::string cache_root() {
  if (const char* e = std::getenv("HDX_CACHE_DIR"); e && *e) return e;
  if (const char* e = std::getenv("XDG_CACHE_HOME"); e && *e) return std::string(e) + "/hdx";
  if (const char* e = std::getenv("HOME"); e && *e) return std::string(e) + "/.cache/hdx";
  return "/tmp/hdx-cache";
}

const char* simulator_name(Simulator s) {
  return s == Simulator::Icarus ? "icarus" : "verilator";
}

SimModel build_sim_model(const Accelerator& a, bool trace,
                         const std::function<void(const std::string&)>& log, Simulator sim) {
  if (sim == Simulator::Icarus) {
    if (trace) throw SimError(4, "waveforms (--waves) need --simulator verilator", 2);
    return build_icarus_model(a, log);
  }
  require_tool("verilator", "verilator");
  SimModel m;
  m.top = top_name(a);
  m.trace = trace;
  // The harness sources are part of the executable, so they are part of the key.
  const std::string sim_dir = data_dir() + "/sim";
  const std::string harness = sha256_hex(read_file(sim_dir + "/sim_main.cpp") +
                                         read_file(sim_dir + "/job.cpp") +
                                         read_file(sim_dir + "/job.h"));
  // Empty unless built with HDX_SANITIZE; then -g as well, so that a report's frames name the
  // inlined functions of Verilator's FST writer that scripts/sanitizers/ubsan.supp suppresses
  // (without variable tracking, which makes the model's compile about five times slower).
  const std::string san =
      *HDX_SANITIZE_FLAGS ? HDX_SANITIZE_FLAGS " -g -fno-var-tracking-assignments" : "";
  // Verilator's own optimizations, and -O2 for the C++ of the model (Verilator's makefile
  // compiles it with -Os unless told otherwise, which runs about 20% slower); X assignments
  // and initial values are 0, as Verilator's default run-time setting makes them anyway (the
  // design reads no unwritten value: Icarus checks that).
  const std::vector<std::string> speed = {"-O3", "--x-assign", "fast", "--x-initial", "fast",
                                          "-MAKEFLAGS", "OPT_FAST=-O2 OPT_GLOBAL=-O2"};
  const std::string flags = fmt::format("{}", fmt::join(speed, " ")) + san;
  const std::string key = config_hash(a) + "-" + sha256_hex(harness + flags).substr(0, 8) +
                          (trace ? "-fst" : "") + (san.empty() ? "" : "-san");
  m.dir = cache_root() + "/verilator/" + key;
  m.exe = m.dir + "/hdx_sim_model";
  if (fs::exists(m.exe)) return m;

  return build_into_cache(m, "Verilator", a, log, [&](const std::string& tmp) {
    RtlOptions ro;
    ro.out_dir = tmp + "/tree";
    ro.command_line = "hdx sim (model build)";
    const RtlResult rr = generate_rtl(a, ro);
    std::vector<std::string> argv = {
        "verilator", "--cc", "--exe", "--build", "--assert", "-j", "2", "--prefix", "Vhdx_top",
        "--top-module", rr.top, "-F", rr.filelist, sim_dir + "/sim_main.cpp",
        sim_dir + "/job.cpp", "--Mdir", tmp + "/obj", "-o", "hdx_sim_model", "-CFLAGS",
        fmt::format("-O1 -DHDX_TRACE={} -DHDX_BPC={} -I{} {}", trace ? 1 : 0,
                    a.dram_bytes_per_cycle, sim_dir, san)};
    argv.insert(argv.end(), speed.begin(), speed.end());
    if (trace) argv.push_back("--trace-fst");
    if (!san.empty()) argv.insert(argv.end(), {"-LDFLAGS", san});
    std::string out;
    const int rc = run_command(argv, &out);
    if (rc != 0) {
      const auto p = out.find("%Error");
      throw SimError(2, fmt::format("Verilator build of '{}' failed (exit {}): {}", a.name, rc,
                                    out.substr(p == std::string::npos ? 0 : p, 400)));
    }
    std::error_code ec;
    fs::rename(tmp + "/obj/hdx_sim_model", tmp + "/hdx_sim_model", ec);
    fs::remove_all(tmp + "/obj", ec);
  });
}

SimModel build_into_cache(SimModel m, const std::string& what, const Accelerator& a,
                          const std::function<void(const std::string&)>& log,
                          const std::function<void(const std::string& tmp)>& compile) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string tmp = fmt::format("{}.tmp.{}", m.dir, static_cast<long>(getpid()));
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) throw SimError(1, fmt::format("cannot create {}: {}", tmp, ec.message()));
  if (log)
    log(fmt::format("building the {} model of '{}' ({}) in {}", what, a.name,
                    fs::path(m.dir).filename().string(), m.dir));
  try {
    compile(tmp);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  fs::rename(tmp, m.dir, ec);
  if (ec) fs::remove_all(tmp, ec);  // another process built the same configuration first
  if (!fs::exists(m.exe)) throw SimError(3, fmt::format("model {} missing after build", m.exe));
  m.built_now = true;
  m.build_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return m;
}

}  // namespace hdx
