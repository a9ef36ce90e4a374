#include "icarus.h"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "errors.h"
#include "rtlgen.h"
#include "schedule_rs.h"
#include "schedule_ws.h"
#include "util.h"

namespace fs = std::filesystem;

namespace hdx {

SimModel build_icarus_model(const Accelerator& a,
                            const std::function<void(const std::string&)>& log) {
  require_tool("iverilog", "iverilog");
  require_tool("vvp", "iverilog");
  SimModel m;
  m.simulator = Simulator::Icarus;
  m.top = top_name(a);
  const std::string tb = data_dir() + "/sim/hdx_tb.sv";
  const std::string key = config_hash(a) + "-" + sha256_hex(read_file(tb)).substr(0, 8);
  m.dir = cache_root() + "/icarus/" + key;
  m.exe = m.dir + "/hdx_sim_model.vvp";
  if (fs::exists(m.exe)) return m;

  return build_into_cache(m, "Icarus", a, log, [&](const std::string& tmp) {
    RtlOptions ro;
    ro.out_dir = tmp + "/tree";
    ro.command_line = "hdx sim --simulator icarus (model build)";
    ro.lint = false;
    const RtlResult rr = generate_rtl(a, ro);
    // The filelist is read the ordinary way, from the folder it lives in.
    const std::vector<std::string> argv = {
        "iverilog", "-g2012", "-o", tmp + "/hdx_sim_model.vvp", "-s", "hdx_tb",
        "-DHDX_TOP=" + rr.top, fmt::format("-DHDX_BPC={}", a.dram_bytes_per_cycle),
        fmt::format("-DHDX_LD_W={}", ld_fields().size()),
        fmt::format("-DHDX_CMP_W={}",
                    (a.dataflow == Dataflow::RS ? rs_fields() : cmp_fields()).size()),
        fmt::format("-DHDX_ST_W={}", st_fields().size()), "-f", "filelist.f", tb};
    std::string out;
    const int rc = run_command(argv, &out, rr.rtl_dir);
    if (rc != 0)
      throw SimError(2, fmt::format("Icarus build of '{}' failed (exit {}): {}", a.name, rc,
                                    out.substr(0, 400)));
  });
}

SimResult run_icarus_job(const SimModel& m, const SimJob& job, const std::string& work_dir) {
  fs::create_directories(work_dir);
  {
    std::ofstream f(work_dir + "/job.txt");
    const size_t dram_words = (job.dram.size() + 3) / 4;
    f << fmt::format("{} {} {} {} {} {} {} {} {} {} {}\n", job.latency, job.backpressure,
                     job.seed, job.max_cycles, job.ld.size(), job.cmp.size(), job.st.size(),
                     job.dram.size(), job.out_addr, job.out_bytes, dram_words);
    for (const auto* v : {&job.ld, &job.cmp, &job.st})
      for (uint32_t w : *v) f << fmt::format("{:08x}\n", w);
    for (size_t i = 0; i < dram_words; ++i) {
      uint32_t w = 0;
      for (size_t b = 0; b < 4 && 4 * i + b < job.dram.size(); ++b)
        w |= uint32_t(job.dram[4 * i + b]) << (8 * b);
      f << fmt::format("{:08x}\n", w);
    }
    if (!f) throw SimError(14, fmt::format("cannot write {}/job.txt", work_dir));
  }
  std::string out;
  const int rc = run_command({"vvp", "-n", m.exe, "+dir=" + work_dir}, &out);
  if (rc != 0)
    throw SimError(10, fmt::format("Icarus model {} exited with {}: {}", m.exe, rc,
                                   out.substr(0, 300)));
  std::ifstream f(work_dir + "/result.txt");
  if (!f) throw SimError(11, fmt::format("Icarus model {} wrote no result: {}", m.exe,
                                         out.substr(0, 300)));
  SimResult r = parse_icarus_result(f, job, work_dir + "/result.txt");
  // Assertion failures print "ERROR: file:line: message" and "Time: T Scope: ..." and let the
  // run go on; the testbench's clock rises at T = 3 + 3 * cycle.
  if (const auto p = out.find("ERROR:"); p != std::string::npos && r.status == 0) {
    r.status = 4;
    const auto t = out.find("Time:", p);
    const long long time = t == std::string::npos ? -1 : std::atoll(out.c_str() + t + 5);
    r.message = fmt::format("assertion failed in cycle {}: {}", time < 3 ? 0 : (time - 3) / 3,
                            out.substr(p + 7, out.find('\n', p) - p - 7));
  }
  return r;
}

}  // namespace hdx
