// hdx flow end to end on a tiny spec: search, quantize, rtl, sim and report; resuming from a
// stage; bad input stopping at the right stage; the HTML report rendered by headless Chromium.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "util.h"

namespace fs = std::filesystem;
using nlohmann::json;
using hdx::read_file;
using hdx::run_command;

namespace {

const std::string kHdx = std::string(HDX_BINARY_DIR) + "/cli/hdx";

json tiny_spec() {
  return json::parse(R"({
    "name": "tiny", "seed": 3,
    "dataset": {"name": "fashion-mnist", "search_train": 512, "search_val": 256, "train": 2000,
                "test": 500},
    "supernet": {"stem": {"channels": 4, "stride": 2},
                 "stages": [{"channels": 8, "repeats": 2, "stride": 2},
                            {"channels": 8, "repeats": 1}],
                 "candidates": {"kernels": [3, 5], "expansions": [1, 3]}},
    "hardware": {"dataflow": ["ws", "rs"], "pe_rows": [4, 8], "pe_cols": [4, 8],
                 "buffers_kib": {"ifmap": [8], "weight": [8], "ofmap": [4, 16]},
                 "dram": {"bytes_per_cycle": [8]}},
    "objective": {"metric": "edp", "weight": 0.2},
    "constraints": [{"metric": "latency_ms", "max": 1.0}, {"metric": "area_mm2", "max": 1.0}],
    "search": {"epochs": 2, "warmup_share": 0.5, "batch_size": 64},
    "train": {"epochs": 1, "batch_size": 64},
    "flow": {"calib_images": 500, "sim_images": 2},
    "threads": 2
  })");
}

fs::path fresh(const std::string& name) {
  const fs::path d = fs::path(HDX_BINARY_DIR) / "test-tmp" / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

int flow(const std::vector<std::string>& extra, std::string* out) {
  std::vector<std::string> argv = {kHdx, "flow"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return run_command(argv, out);
}

// The pixels of a PNG (8-bit RGB or RGBA, not interlaced, as Chromium writes screenshots).
struct Png {
  int w = 0, h = 0, channels = 0;
  std::vector<uint8_t> px;  // rows of w * channels bytes
};

Png read_png(const std::string& path) {
  const std::string f = read_file(path);
  Png p;
  if (f.size() < 33 || f.compare(1, 3, "PNG") != 0) return p;
  auto be32 = [&](size_t at) {
    return (uint32_t(uint8_t(f[at])) << 24) | (uint32_t(uint8_t(f[at + 1])) << 16) |
           (uint32_t(uint8_t(f[at + 2])) << 8) | uint32_t(uint8_t(f[at + 3]));
  };
  std::string idat;
  int color = 0;
  for (size_t at = 8; at + 8 <= f.size();) {
    const uint32_t len = be32(at);
    const std::string type = f.substr(at + 4, 4);
    if (type == "IHDR") {
      p.w = static_cast<int>(be32(at + 8));
      p.h = static_cast<int>(be32(at + 12));
      color = uint8_t(f[at + 17]);
    } else if (type == "IDAT") {
      idat += f.substr(at + 8, len);
    }
    at += 12 + len;
  }
  p.channels = color == 6 ? 4 : 3;
  const size_t stride = static_cast<size_t>(p.w) * p.channels;
  std::vector<uint8_t> raw((stride + 1) * p.h);
  uLongf n = raw.size();
  if (uncompress(raw.data(), &n, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) != Z_OK)
    return Png{};
  p.px.assign(stride * p.h, 0);
  const int bpp = p.channels;
  for (int y = 0; y < p.h; ++y) {
    const uint8_t ft = raw[y * (stride + 1)];
    const uint8_t* in = &raw[y * (stride + 1) + 1];
    uint8_t* row = &p.px[y * stride];
    const uint8_t* up = y ? &p.px[(y - 1) * stride] : nullptr;
    for (size_t x = 0; x < stride; ++x) {
      const int a = x >= static_cast<size_t>(bpp) ? row[x - bpp] : 0, b = up ? up[x] : 0,
                c = (up && x >= static_cast<size_t>(bpp)) ? up[x - bpp] : 0;
      int v = in[x];
      if (ft == 1) v += a;
      else if (ft == 2) v += b;
      else if (ft == 3) v += (a + b) / 2;
      else if (ft == 4) {
        const int pp = a + b - c, pa = std::abs(pp - a), pb = std::abs(pp - b), pc = std::abs(pp - c);
        v += (pa <= pb && pa <= pc) ? a : pb <= pc ? b : c;
      }
      row[x] = static_cast<uint8_t>(v);
    }
  }
  return p;
}

}  // namespace

// The whole flow on a tiny spec: the exact model meets every constraint, every layer is
// bit-exact on the RTL at the model's cycles, the RTL classifies as the reference; then a
// resume from rtl reuses the search; the HTML report renders in headless Chromium.
TEST(FlowCli, TinyFlowResumeAndReport) {
  const fs::path dir = fresh("flow");
  const std::string spec = (dir / "spec.json").string(), out = (dir / "out").string();
  std::ofstream(spec) << tiny_spec().dump();
  std::string log;
  ASSERT_EQ(flow({"--spec", spec, "--out", out}, &log), 0) << log;
  EXPECT_NE(log.find("[flow] done"), std::string::npos) << log;
  const json rep = json::parse(read_file(out + "/report.json"));
  EXPECT_EQ(rep["status"], "pass") << rep.dump(2);
  for (const char* k : {"outputs_bit_exact", "rtl_cycles_equal_model", "rtl_agrees_with_reference",
                        "constraints_met"})
    EXPECT_TRUE(rep["checks"][k].get<bool>()) << k;
  ASSERT_EQ(rep["constraints"].size(), 2u);
  for (const auto& c : rep["constraints"]) {
    EXPECT_TRUE(c["met"].get<bool>());
    EXPECT_LE(c["value"].get<double>(), c["limit"].get<double>());
  }
  EXPECT_NEAR(rep["constraints"][0]["rtl_value"].get<double>(),  // latency measured on the RTL
              rep["constraints"][0]["value"].get<double>(), 1e-12);
  EXPECT_EQ(rep["rtl_agreement"], 1.0);
  for (const auto& l : rep["layers"]) {
    EXPECT_TRUE(l["outputs_match"].get<bool>()) << l["name"];
    EXPECT_EQ(l["model_cycles"], l["rtl_cycles"]) << l["name"];
  }
  EXPECT_EQ(rep["host_ops"], json::array({"pool"}));
  for (const char* k : {"float", "int8", "rtl"}) EXPECT_TRUE(rep["accuracy"][k].is_number()) << k;
  EXPECT_EQ(rep["accuracy"]["rtl_images"], 2);
  const json sim = json::parse(read_file(out + "/sim/sim_report.json"));
  EXPECT_EQ(sim["images"].size(), 2u);
  for (const char* f : {"report.md", "report.html", "plots/cycles.svg", "plots/pareto.svg",
                        "plots/energy.svg", "plots/area.svg", "plots/trajectory.svg",
                        "rtl/manifest.json", "quant/weights_int8.npz"})
    EXPECT_TRUE(fs::exists(fs::path(out) / f)) << f;

  // Resume from rtl: the search's files are reused untouched.
  const auto t_net = fs::last_write_time(out + "/search/network.json");
  const std::string weights = read_file(out + "/quant/weights_int8.npz");
  ASSERT_EQ(flow({"--spec", spec, "--out", out, "--from", "rtl"}, &log), 0) << log;
  EXPECT_EQ(log.find("stage 1/5"), std::string::npos) << log;
  EXPECT_EQ(log.find("[search]"), std::string::npos) << log;
  EXPECT_NE(log.find("stage 3/5: rtl"), std::string::npos) << log;
  EXPECT_EQ(fs::last_write_time(out + "/search/network.json"), t_net);
  EXPECT_EQ(read_file(out + "/quant/weights_int8.npz"), weights);
  EXPECT_EQ(json::parse(read_file(out + "/report.json"))["status"], "pass");

  // An epoch whose design did not map leaves empty metric fields in history.csv; the report
  // skips it.
  {
    std::ofstream h(out + "/search/history.csv", std::ios::app);
    h << "3,search,1,2.3,0.1,,,,,,,0,0.1\n";
  }
  ASSERT_EQ(flow({"--spec", spec, "--out", out, "--from", "report"}, &log), 0) << log;

  // The report in a browser: headless Chromium renders it with its styles and plots.
  const std::string png = (dir / "report.png").string();
  ASSERT_EQ(run_command({"chromium", "--headless", "--no-sandbox", "--disable-gpu",
                         "--hide-scrollbars", "--window-size=1200,2400",
                         "--screenshot=" + png, "file://" + fs::absolute(out + "/report.html").string()},
                        &log), 0) << log;
  const Png p = read_png(png);
  ASSERT_EQ(p.w, 1200) << log;
  ASSERT_EQ(p.h, 2400);
  long long ink = 0, verdict = 0, bars = 0;
  for (size_t i = 0; i + 2 < p.px.size(); i += static_cast<size_t>(p.channels)) {
    const int r = p.px[i], g = p.px[i + 1], b = p.px[i + 2];
    ink += r + g + b < 600;
    verdict += r == 0xe6 && g == 0xf4 && b == 0xe6;  // the green PASS box
    bars += r == 0x4c && g == 0x78 && b == 0xa8;     // model bars of the plots
  }
  const double n = static_cast<double>(p.w) * p.h;
  EXPECT_GT(ink / n, 0.01);         // text and tables were drawn
  EXPECT_GT(verdict, 20000);        // the stylesheet applied
  EXPECT_GT(bars, 2000);            // the inline SVG plots rendered

  // With a synthesis report in rtl/synth (what --synth writes), area and clock are judged by
  // it: here 2 mm2 against the 1 mm2 limit and 250 MHz (a 4 ns path: 2 ns of slack missing)
  // against the 500 MHz clock. The verdict fails and the flow exits 1 naming both.
  const double clock = rep["accelerator"]["clock_mhz"].get<double>();
  ASSERT_EQ(clock, 500);
  const json synth = {
      {"library", "lib45"}, {"liberty", "lib45.lib"}, {"sram_lib", "sram.json"},
      {"area_um2", 2.0e6}, {"std_cell_area_um2", 1.5e6}, {"sram_area_um2", 0.5e6},
      {"cells", 1000}, {"flip_flops", 100},
      {"by_kind", {{"pe_array", {{"area_um2", 1.2e6}}}, {"control", {{"area_um2", 0.5e6}}},
                   {"load_engine", {{"area_um2", 0.3e6}}}}},
      {"timing", {{"fmax_mhz", 250.0}, {"worst_slack_ns", -2.0}, {"startpoint", "a_reg"},
                  {"endpoint", "b_reg"}, {"sram_max_access_ns", 0.4}, {"sram_max_setup_ns", 0.1},
                  {"violations", {{"endpoints", 40}, {"registers", 2},
                                  {"worst_registers", {{{"register", "u_core.b_q[*]"},
                                                        {"endpoints", 32},
                                                        {"worst_slack_ns", -2.0}}}}}}}}};
  fs::create_directories(out + "/rtl/synth");
  hdx::write_file_atomic(out + "/rtl/synth/report.json", synth.dump());
  EXPECT_EQ(flow({"--spec", spec, "--out", out, "--from", "report"}, &log), 1) << log;
  EXPECT_NE(log.find("[flow E054] verdict FAIL: area_mm2 2 by synthesis (limit <= 1); fmax_mhz "
                     "250 by synthesis (limit >= 500)"), std::string::npos) << log;
  {
    const json r = json::parse(read_file(out + "/report.json"));
    EXPECT_EQ(r["status"], "fail");
    ASSERT_EQ(r["constraints"].size(), 3u);
    EXPECT_EQ(r["constraints"][0]["judged_by"], "rtl");  // latency: the RTL's cycles
    EXPECT_TRUE(r["constraints"][0]["met"].get<bool>());
    EXPECT_EQ(r["constraints"][1]["judged_by"], "synthesis");
    EXPECT_NEAR(r["constraints"][1]["synth_value"].get<double>(), 2.0, 1e-12);
    EXPECT_FALSE(r["constraints"][1]["met"].get<bool>());
    EXPECT_EQ(r["constraints"][2]["metric"], "fmax_mhz");
    EXPECT_FALSE(r["constraints"][2]["met"].get<bool>());
    EXPECT_NEAR(r["synthesis"]["area_by_group"]["control"]["synthesis_mm2"].get<double>(), 0.8,
                1e-12);
    EXPECT_NEAR(r["synthesis"]["rtl_latency_ms_at_fmax"].get<double>(),
                2 * r["totals"]["rtl_latency_ms"].get<double>(), 1e-12);
    EXPECT_EQ(r["synthesis"]["violations"], synth["timing"]["violations"]);
    const std::string md = read_file(out + "/report.md");
    EXPECT_NE(md.find("## Synthesis"), std::string::npos);
    EXPECT_NE(md.find("misses the clock: u_core.b_q[*]"), std::string::npos) << md;
  }
  // A small, fast design passes; the slowest SRAM macro's access + setup also bounds Fmax.
  json fits = synth;
  fits["area_um2"] = 0.5e6;
  fits["timing"]["fmax_mhz"] = 600.0;
  fits["timing"]["worst_slack_ns"] = 0.333;
  hdx::write_file_atomic(out + "/rtl/synth/report.json", fits.dump());
  ASSERT_EQ(flow({"--spec", spec, "--out", out, "--from", "report"}, &log), 0) << log;
  EXPECT_NEAR(json::parse(read_file(out + "/report.json"))["synthesis"]["fmax_mhz"].get<double>(),
              600, 1e-9);
  fits["timing"]["sram_max_access_ns"] = 2.0;  // 2.1 ns: under 500 MHz
  hdx::write_file_atomic(out + "/rtl/synth/report.json", fits.dump());
  EXPECT_EQ(flow({"--spec", spec, "--out", out, "--from", "report"}, &log), 1) << log;
  EXPECT_NE(log.find("fmax_mhz 476.2 by synthesis"), std::string::npos) << log;
  fs::remove_all(out + "/rtl/synth");
  // --synth belongs to the rtl stage.
  EXPECT_EQ(flow({"--spec", spec, "--out", out, "--from", "report", "--synth"}, &log), 2) << log;
  EXPECT_NE(log.find("--synth runs in the rtl stage"), std::string::npos) << log;
  EXPECT_EQ(flow({"--spec", spec, "--out", out, "--from", "rtl", "--liberty", "x.lib"}, &log), 2)
      << log;
  EXPECT_NE(log.find("--liberty needs --synth"), std::string::npos) << log;

  // A stage that fails takes the later stages' old results with it: no stale PASS report.
  hdx::write_file_atomic(out + "/quant/weights_int8.npz", read_file(out + "/search/weights.npz"));
  EXPECT_EQ(flow({"--spec", spec, "--out", out, "--from", "sim"}, &log), 2) << log;
  EXPECT_FALSE(fs::exists(out + "/report.json"));
  EXPECT_FALSE(fs::exists(out + "/sim"));
  EXPECT_TRUE(fs::exists(out + "/rtl/manifest.json"));

  // --synth and its files reach the rtl stage: a liberty that is not there stops it there.
  EXPECT_EQ(flow({"--spec", spec, "--out", out, "--from", "rtl", "--synth", "--liberty",
                  (dir / "none.lib").string()}, &log), 2) << log;
  EXPECT_NE(log.find("[rtlgen E006] " + (dir / "none.lib").string()), std::string::npos) << log;
  EXPECT_NE(log.find("[flow E050] stage rtl failed (exit 2)"), std::string::npos) << log;
  fs::remove_all(dir);
}

// Bad input stops at the right stage with a clear message and leaves the finished stages'
// files alone.
TEST(FlowCli, BadInputStopsAtTheRightStage) {
  const fs::path dir = fresh("flow-bad");
  const std::string spec = (dir / "spec.json").string(), out = (dir / "out").string();
  std::string log;

  // A budget no design meets: the search stage fails, nothing later runs.
  json s = tiny_spec();
  s["constraints"][0]["max"] = 1e-6;
  s["search"]["max_extra_epochs"] = 0;
  std::ofstream(spec) << s.dump();
  EXPECT_EQ(flow({"--spec", spec, "--out", out}, &log), 1) << log;
  EXPECT_NE(log.find("[search E030] no design met every constraint"), std::string::npos) << log;
  EXPECT_NE(log.find("[flow E050] stage search failed (exit 1)"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(out + "/quant"));

  // A missing data set: the search stage says which file and what to install.
  s = tiny_spec();
  s["dataset"]["path"] = "/nonexistent";
  std::ofstream(spec) << s.dump();
  EXPECT_EQ(flow({"--spec", spec, "--out", out, "--force"}, &log), 2) << log;
  EXPECT_NE(log.find("/nonexistent/train-images-idx3-ubyte.gz: data set file not found"),
            std::string::npos) << log;
  EXPECT_NE(log.find("stage search failed"), std::string::npos) << log;

  // No final training: the search writes no weights, so a flow past the search is refused
  // before anything runs.
  s = tiny_spec();
  s["train"]["epochs"] = 0;
  std::ofstream(spec) << s.dump();
  EXPECT_EQ(flow({"--spec", spec, "--out", out, "--force"}, &log), 2) << log;
  EXPECT_NE(log.find("train.epochs is 0, so the search writes no weights"), std::string::npos)
      << log;

  // Search and quantize only; sim cannot start before rtl has run.
  std::ofstream(spec) << tiny_spec().dump();
  ASSERT_EQ(flow({"--spec", spec, "--out", out, "--force", "--to", "quantize"}, &log), 0) << log;
  EXPECT_FALSE(fs::exists(out + "/rtl"));
  EXPECT_EQ(flow({"--spec", spec, "--out", out, "--from", "sim"}, &log), 2) << log;
  EXPECT_NE(log.find("--from sim needs " + out + "/rtl/manifest.json, which stage rtl writes; "
                     "run with --from rtl"), std::string::npos) << log;
  ASSERT_EQ(flow({"--spec", spec, "--out", out, "--from", "rtl", "--to", "rtl"}, &log), 0) << log;

  // Weights that do not match the network: sim stops, the earlier files stay.
  const std::string net = read_file(out + "/search/network.json");
  hdx::write_file_atomic(out + "/quant/weights_int8.npz", read_file(out + "/search/weights.npz"));
  EXPECT_EQ(flow({"--spec", spec, "--out", out, "--from", "sim"}, &log), 2) << log;
  EXPECT_NE(log.find("array 'stem.weight' is <f4"), std::string::npos) << log;
  EXPECT_NE(log.find("[flow E050] stage sim failed (exit 2)"), std::string::npos) << log;
  EXPECT_NE(log.find("resume with: hdx flow --spec " + spec + " --out " + out + " --from sim"),
            std::string::npos) << log;
  EXPECT_EQ(read_file(out + "/search/network.json"), net);
  EXPECT_TRUE(fs::exists(out + "/rtl/manifest.json"));
  EXPECT_FALSE(fs::exists(out + "/report.json"));

  // Flow settings and threads may change without a new search; the searched part may not.
  s = tiny_spec();
  s["flow"]["calib_images"] = 300;
  s["threads"] = 1;
  std::ofstream(spec) << s.dump();
  EXPECT_EQ(flow({"--spec", spec, "--out", out, "--from", "quantize", "--to", "quantize"}, &log), 0)
      << log;
  s = tiny_spec();
  s["seed"] = 4;
  std::ofstream(spec) << s.dump();
  EXPECT_EQ(flow({"--spec", spec, "--out", out, "--from", "quantize"}, &log), 2) << log;
  EXPECT_NE(log.find("differs from the spec the search in"), std::string::npos) << log;
  fs::remove_all(dir);
}
