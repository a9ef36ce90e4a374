// Model/RTL exactness of the ws and rs accelerators: every (layer, accelerator) pair must give
// rtl_cycles == model_cycles, bit-exact outputs and model events equal to RTL counters.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <random>

#include <nlohmann/json.hpp>

#include <algorithm>

#include "errors.h"
#include "golden.h"
#include "network.h"
#include "qnet.h"
#include "job.h"
#include "schedule_rs.h"
#include "schedule_ws.h"
#include "util.h"
#include "model.h"
#include "runner.h"
#include "verilate.h"

using namespace hdx;

namespace {

void expect_exact(const SimModel& m, const Layer& l, const Accelerator& a, uint64_t seed) {
  const std::string where = fmt::format(
      "layer {} ({}x{}x{} -> {}x{}x{}, k{}x{} s{} p{} g{}) on {}x{} bpc {} lat {} bufs {}/{}/{}",
      l.name, l.in_c, l.in_h, l.in_w, l.out_c, l.out_h, l.out_w, l.kh, l.kw, l.stride, l.pad,
      l.groups, a.pe_rows, a.pe_cols, a.dram_bytes_per_cycle, a.dram_latency_cycles,
      a.ifmap_kib, a.weight_kib, a.ofmap_kib);
  LayerSim s;
  try {
    s = simulate_layer(m, l, a, random_layer_data(l, seed));
  } catch (const Error& e) {
    ADD_FAILURE() << where << ": " << e.what();
    return;
  }
  EXPECT_EQ(s.rtl_cycles, s.model.cycles) << where;
  EXPECT_TRUE(s.outputs_match) << where << ": " << s.mismatches << " mismatches";
  const auto model_ev = event_list(s.model.ev), rtl_ev = event_list(s.rtl);
  for (size_t i = 0; i < model_ev.size(); ++i)
    EXPECT_EQ(rtl_ev[i].second, model_ev[i].second) << where << " event " << model_ev[i].first;
}

Layer conv(const std::string& name, int c, int h, int w, int oc, int k, int s, int p, int g,
           bool relu) {
  Layer l;
  l.name = name;
  l.in_c = c; l.in_h = h; l.in_w = w;
  l.out_c = oc; l.kh = l.kw = k; l.stride = s; l.pad = p; l.groups = g; l.relu = relu;
  l.out_h = (h + 2 * p - k) / s + 1;
  l.out_w = (w + 2 * p - k) / s + 1;
  return l;
}

Accelerator accel(int r, int c, int bpc, int lat, int ik, int wk, int ok) {
  Accelerator a;
  a.name = fmt::format("t{}x{}b{}i{}w{}o{}", r, c, bpc, ik, wk, ok);
  a.pe_rows = r; a.pe_cols = c; a.dram_bytes_per_cycle = bpc; a.dram_latency_cycles = lat;
  a.ifmap_kib = ik; a.weight_kib = wk; a.ofmap_kib = ok;
  return a;
}

}  // namespace

TEST(SimWs, SmallConv) {
  const Accelerator a = accel(4, 4, 4, 3, 8, 4, 4);
  const SimModel m = build_sim_model(a, false);
  expect_exact(m, conv("c1", 3, 8, 8, 5, 3, 1, 1, 1, true), a, 1);
}

namespace {

// A random layer drawn over kernels 1/3/5/7, strides 1/2, padding 0..3, depthwise, grouped
// and fully connected layers, with sizes that are not multiples of the array.
Layer random_layer(std::mt19937_64& rng, int i) {
  auto pick = [&rng](int lo, int hi) { return lo + static_cast<int>(rng() % (hi - lo + 1)); };
  const int kind = pick(0, 9);
  if (kind == 0) {  // fully connected over a small feature map
    Layer l = conv(fmt::format("fc{}", i), pick(1, 24), pick(1, 4), pick(1, 4), pick(1, 40), 1,
                   1, 0, 1, pick(0, 1));
    l.op = Op::Fc;
    l.kh = l.in_h; l.kw = l.in_w; l.out_h = l.out_w = 1;
    return l;
  }
  const int ks[] = {1, 3, 5, 7};
  const int k = ks[pick(0, 3)], s = pick(1, 2), p = pick(0, std::min(3, k));
  const int h = pick(std::max(1, k - 2 * p), 14), w = pick(std::max(1, k - 2 * p), 14);
  if (kind <= 2) {  // depthwise
    const int c = pick(1, 24);
    return conv(fmt::format("dw{}", i), c, h, w, c, k, s, p, c, pick(0, 1));
  }
  if (kind == 3) {  // grouped
    const int g = pick(2, 4);
    return conv(fmt::format("gc{}", i), g * pick(1, 6), h, w, g * pick(1, 8), k, s, p, g,
                pick(0, 1));
  }
  return conv(fmt::format("cv{}", i), pick(1, 40), h, w, pick(1, 48), k, s, p, 1, pick(0, 1));
}

struct Cfg {
  int r, c, bpc, ik, wk, ok;
};

}  // namespace

// The accelerators differ in what the Verilog depends on (array shape, DRAM width, buffer
// sizes); the DRAM latency varies per layer. Small buffers force tiling.
TEST(SimWs, RandomLayersExact) {
  const Cfg cfgs[] = {{2, 2, 1, 1, 1, 1},   {4, 4, 4, 2, 1, 1},   {3, 5, 2, 4, 2, 1},
                      {8, 8, 8, 2, 1, 2},   {2, 16, 16, 8, 1, 4}, {16, 4, 4, 3, 2, 1},
                      {8, 32, 32, 16, 4, 4}, {32, 8, 8, 4, 4, 2}, {12, 14, 2, 2, 2, 1},
                      {32, 32, 32, 8, 8, 8}};
  std::mt19937_64 rng(20261123);
  int pairs = 0, tiled = 0;
  for (const Cfg& cf : cfgs) {
    Accelerator a = accel(cf.r, cf.c, cf.bpc, 0, cf.ik, cf.wk, cf.ok);
    const SimModel m = build_sim_model(a, false);
    for (int n = 0; n < 11;) {
      const Layer l = random_layer(rng, pairs);
      a.dram_latency_cycles = static_cast<int>(rng() % 101);
      LayerCost c;
      try {
        c = layer_cost(l, a);
      } catch (const MappingError&) {
        continue;  // does not fit these buffers; draw another
      }
      tiled += !c.tiling.ifmap_resident || !c.tiling.weights_resident ||
               c.tiling.acc_tile_pixels < l.out_h * l.out_w;
      expect_exact(m, l, a, static_cast<uint64_t>(pairs));
      ++pairs;
      ++n;
    }
  }
  EXPECT_GE(pairs, 100);
  EXPECT_GE(tiled, 30);
}

namespace {

struct RsCfg {
  int r, c, bpc, ik, wk, ok, si, sf, sp;
};

}  // namespace

// The same random layers on rs accelerators: array shapes from 2x2 to Eyeriss's 12x14,
// scratchpads down to the smallest that hold a 7-tap row (so that q = p = 1 and every
// channel and filter takes its own pass), and rows fewer than the filter's (row folds).
TEST(SimRs, RandomLayersExact) {
  const RsCfg cfgs[] = {{2, 2, 1, 1, 1, 1, 7, 7, 1},     {4, 4, 4, 2, 1, 1, 12, 48, 8},
                        {3, 5, 2, 4, 2, 1, 8, 16, 4},    {5, 3, 32, 2, 2, 1, 9, 30, 3},
                        {6, 8, 8, 4, 4, 2, 16, 64, 6},   {12, 14, 16, 8, 8, 4, 12, 224, 24}};
  std::mt19937_64 rng(20261124);
  int pairs = 0, folded = 0, blocks = 0, tile_slots = 0, pass_slots = 0;
  for (const RsCfg& cf : cfgs) {
    Accelerator a = accel(cf.r, cf.c, cf.bpc, 0, cf.ik, cf.wk, cf.ok);
    a.name = fmt::format("rs{}x{}s{}_{}_{}", cf.r, cf.c, cf.si, cf.sf, cf.sp);
    a.dataflow = Dataflow::RS;
    a.spad_ifmap = cf.si;
    a.spad_filter = cf.sf;
    a.spad_psum = cf.sp;
    const SimModel m = build_sim_model(a, false);
    for (int n = 0; n < 18;) {
      const Layer l = random_layer(rng, pairs);
      a.dram_latency_cycles = static_cast<int>(rng() % 101);
      LayerCost c;
      try {
        c = layer_cost(l, a);
      } catch (const MappingError&) {
        continue;  // does not fit these buffers or scratchpads; draw another
      }
      folded += c.rs.row_folds > 1;
      blocks += c.rs.chan_blocks > 1;
      tile_slots += c.rs.weight_slots == RsTiling::WeightSlots::Tile;
      pass_slots += c.rs.weight_slots == RsTiling::WeightSlots::Pass;
      expect_exact(m, l, a, static_cast<uint64_t>(pairs));
      ++pairs;
      ++n;
    }
  }
  EXPECT_GE(pairs, 100);
  EXPECT_GE(folded, 10);
  EXPECT_GE(blocks, 20);
  EXPECT_GE(tile_slots, 5) << "weights in two tile slots";
  EXPECT_GE(pass_slots, 5) << "weights in two pass slots";
}

// A command that waits for something that never happens stops at the watchdog with a
// message naming how far each engine got, instead of hanging.
TEST(SimWs, WatchdogStopsAHang) {
  const Accelerator a = accel(4, 4, 4, 3, 8, 4, 4);
  const SimModel m = build_sim_model(a, false);
  const Layer l = conv("c1", 3, 8, 8, 5, 3, 1, 1, 1, true);
  WsProgram p = ws_program(l, a, DramMap{0, 1024, 2048, 4096});
  p.st.back().w.cmp = 1000;  // the CMP engine never completes 1000 commands
  SimJob job;
  job.latency = 3;
  job.max_cycles = 5000;
  set_commands(job, p);
  job.dram.assign(8192, 0);
  const std::string base = std::string(HDX_BINARY_DIR) + "/watchdog_test";
  write_job(base + ".job", job);
  std::string out;
  ASSERT_EQ(run_command({m.exe, base + ".job", base + ".res"}, &out), 0) << out;
  const SimResult r = read_result(base + ".res");
  EXPECT_EQ(r.status, 1u);
  EXPECT_NE(r.message.find("done never rose within 5000 cycles"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find(fmt::format("st {}/{}", p.st.size(), p.st.size())),
            std::string::npos) << r.message;
  std::remove((base + ".job").c_str());
  std::remove((base + ".res").c_str());
}

// The 4-state sign-off: random layers on small ws and rs arrays in Icarus, every one equal to
// the model in cycles and events and bit-exact, with no X or Z on any checked signal.
TEST(SimIcarus, RandomLayersExact) {
  const RsCfg cfgs[] = {{2, 2, 1, 1, 1, 1, 0, 0, 0},  {4, 4, 4, 2, 1, 1, 0, 0, 0},
                        {3, 5, 2, 4, 2, 1, 0, 0, 0},  {2, 2, 1, 1, 1, 1, 7, 7, 1},
                        {4, 4, 4, 2, 1, 1, 12, 48, 8}, {3, 5, 2, 4, 2, 1, 8, 16, 4}};
  // ws on the first three, rs on the last three
  std::mt19937_64 rng(20261127);
  int pairs[2] = {0, 0}, short_k = 0;
  for (const RsCfg& cf : cfgs) {
    Accelerator a = accel(cf.r, cf.c, cf.bpc, 0, cf.ik, cf.wk, cf.ok);
    const bool rs = cf.si > 0;
    if (rs) {
      a.name = fmt::format("rs{}x{}s{}_{}_{}", cf.r, cf.c, cf.si, cf.sf, cf.sp);
      a.dataflow = Dataflow::RS;
      a.spad_ifmap = cf.si;
      a.spad_filter = cf.sf;
      a.spad_psum = cf.sp;
    }
    const SimModel m = build_sim_model(a, false, {}, Simulator::Icarus);
    for (int n = 0; n < 7;) {
      const Layer l = random_layer(rng, pairs[rs]);
      a.dram_latency_cycles = static_cast<int>(rng() % 21);
      LayerCost c;
      try {
        c = layer_cost(l, a);
      } catch (const MappingError&) {
        continue;
      }
      if (c.cycles > 6000) continue;  // Icarus is slow; keep the set to seconds per layer
      short_k += l.k() < a.pe_rows;
      expect_exact(m, l, a, static_cast<uint64_t>(pairs[rs]));
      ++pairs[rs];
      ++n;
    }
  }
  EXPECT_GE(pairs[0], 20);
  EXPECT_GE(pairs[1], 20);
  EXPECT_GE(short_k, 3);  // reductions shorter than the array: rows that hold no weight
}

// A copy of what HDX_DATA_DIR must hold (templates, the harness sources, the SRAM table), for
// the tests that run a patched design.
namespace {
void copy_data_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  for (const char* sub : {"templates", "sim", "techlib"})
    fs::copy(std::string(HDX_SOURCE_DIR) + "/" + sub, dir + "/" + sub, fs::copy_options::recursive);
}
}  // namespace

// The check catches what it is there for: with the ws templates as they were before 4-state
// cleaning (weight registers not reset, rows past the reduction length never loaded), a layer
// whose reduction is shorter than the array multiplies by never-loaded weights, and Icarus
// reports the X with the signal and cycle.
TEST(SimIcarus, ReportsAnUnknownValue) {
  namespace fs = std::filesystem;
  const std::string data = std::string(HDX_BINARY_DIR) + "/icarus_x_test";
  fs::remove_all(data);
  fs::create_directories(data);
  copy_data_dir(data);
  auto patch = [&](const std::string& file, const std::string& from, const std::string& to) {
    std::string text = read_file(data + "/templates/" + file);
    const auto at = text.find(from);
    ASSERT_NE(at, std::string::npos) << file << " changed; update this test";
    text.replace(at, from.size(), to);
    write_file_atomic(data + "/templates/" + file, text);
  };
  patch("systolic/hdx_ws_pe.sv", "      w0_q <= '0;\n", "");
  patch("systolic/hdx_ws_pe.sv", "      w1_q <= '0;\n", "");
  patch("systolic/hdx_ws_cmp.sv", "assign wl_en[r] = su_active && su_row == Row;",
        "assign wl_en[r] = row_ok && su_row == Row;");
  setenv("HDX_DATA_DIR", data.c_str(), 1);
  const Accelerator a = accel(4, 4, 4, 3, 1, 1, 1);
  try {
    const SimModel m = build_sim_model(a, false, {}, Simulator::Icarus);
    (void)simulate_layer(m, conv("pw", 2, 5, 5, 3, 1, 1, 0, 1, false), a,
                         random_layer_data(conv("pw", 2, 5, 5, 3, 1, 1, 0, 1, false), 1));
    ADD_FAILURE() << "the unknown weights went unnoticed";
  } catch (const SimError& e) {
    EXPECT_NE(std::string(e.what()).find("X or Z on wr_data_o byte 0 in cycle"),
              std::string::npos) << e.what();
  }
  unsetenv("HDX_DATA_DIR");
  fs::remove_all(data);
}

namespace {

Accelerator make_cfg(const RsCfg& cf) {
  Accelerator a = accel(cf.r, cf.c, cf.bpc, 0, cf.ik, cf.wk, cf.ok);
  if (cf.si > 0) {
    a.name = fmt::format("rs{}x{}s{}_{}_{}", cf.r, cf.c, cf.si, cf.sf, cf.sp);
    a.dataflow = Dataflow::RS;
    a.spad_ifmap = cf.si;
    a.spad_filter = cf.sf;
    a.spad_psum = cf.sp;
  }
  return a;
}

}  // namespace

// Every handshake stalls sometimes: with the DRAM withholding ready and delaying responses
// and write acknowledgements at random (P = 0.3), outputs stay bit-exact and events equal,
// and the cycles are never fewer than the model's.
TEST(SimBackpressure, RandomLayersStayExact) {
  const RsCfg cfgs[] = {{4, 4, 4, 2, 1, 1, 0, 0, 0}, {3, 5, 2, 4, 2, 1, 0, 0, 0},
                        {4, 4, 4, 2, 1, 1, 12, 48, 8}, {3, 5, 2, 4, 2, 1, 8, 16, 4}};
  std::mt19937_64 rng(20261128);
  int pairs = 0, slower = 0;
  for (const RsCfg& cf : cfgs) {
    Accelerator a = make_cfg(cf);
    const SimModel m = build_sim_model(a, false);
    for (int n = 0; n < 10;) {
      const Layer l = random_layer(rng, pairs);
      a.dram_latency_cycles = static_cast<int>(rng() % 41);
      try {
        (void)layer_cost(l, a);
      } catch (const MappingError&) {
        continue;
      }
      SimOptions o;
      o.backpressure = 0.3;
      o.seed = static_cast<uint64_t>(pairs) + 1;
      LayerSim s;
      try {
        s = simulate_layer(m, l, a, random_layer_data(l, static_cast<uint64_t>(pairs)), "", o);
      } catch (const Error& e) {
        ADD_FAILURE() << l.name << ": " << e.what();
        ++n;
        continue;
      }
      EXPECT_TRUE(s.outputs_match) << l.name << ": " << s.mismatches << " mismatches";
      EXPECT_TRUE(s.events_match()) << l.name;
      EXPECT_GE(s.rtl_cycles, s.model.cycles) << l.name;
      slower += s.rtl_cycles > s.model.cycles;
      ++pairs;
      ++n;
    }
  }
  EXPECT_EQ(pairs, 40);
  EXPECT_GE(slower, 36);  // the stalls are real
}

// The two simulators draw the same stalls from the same seed, so they agree cycle for cycle
// under backpressure too; a bad probability is refused.
TEST(SimBackpressure, IcarusAndVerilatorAgree) {
  const Accelerator a = make_cfg({4, 4, 4, 2, 1, 1, 0, 0, 0});
  const SimModel v = build_sim_model(a, false);
  const SimModel i = build_sim_model(a, false, {}, Simulator::Icarus);
  const Layer l = conv("c1", 3, 6, 6, 5, 3, 1, 1, 1, true);
  const LayerData d = random_layer_data(l, 3);
  SimOptions o;
  o.backpressure = 0.5;
  o.seed = 42;
  const LayerSim sv = simulate_layer(v, l, a, d, "", o), si = simulate_layer(i, l, a, d, "", o);
  EXPECT_TRUE(sv.ok() && si.ok());
  EXPECT_GT(sv.rtl_cycles, sv.model.cycles);
  EXPECT_EQ(sv.rtl_cycles, si.rtl_cycles);
  EXPECT_EQ(sv.rtl_out, si.rtl_out);
  o.backpressure = 1.0;
  EXPECT_THROW(simulate_layer(v, l, a, d, "", o), SimError);
}

namespace {

// Runs a hand-edited program on a model's executable (no hdx in between) and returns the
// result, as the watchdog test does.
SimResult run_program(const SimModel& m, SimJob job, const std::string& name) {
  job.latency = 3;
  job.max_cycles = 20000;
  job.dram.assign(16384, 0);
  const std::string base = std::string(HDX_BINARY_DIR) + "/" + name;
  write_job(base + ".job", job);
  std::string out;
  EXPECT_EQ(run_command({m.exe, base + ".job", base + ".res"}, &out), 0) << out;
  SimResult r = read_result(base + ".res");
  std::remove((base + ".job").c_str());
  std::remove((base + ".res").c_str());
  return r;
}

}  // namespace

// An illegal command is flagged on err_o and stops its engine, instead of wrapping a counter
// or writing past a buffer; the harness names the engine.
TEST(SimIllegal, CommandsAreFlaggedNotRun) {
  const Accelerator a = accel(4, 4, 4, 3, 1, 1, 1);
  const SimModel m = build_sim_model(a, false);
  const Layer l = conv("c1", 3, 6, 6, 5, 3, 1, 1, 1, true);
  const WsProgram good = ws_program(l, a, DramMap{0, 1024, 2048, 4096});
  struct Case {
    const char* engine;
    std::function<void(WsProgram&)> spoil;
  };
  const Case cases[] = {
      {"LD", [](WsProgram& p) { p.ld[0].rows = 0; }},
      {"LD", [](WsProgram& p) { p.ld[0].row_len = 0; }},
      {"LD", [](WsProgram& p) { p.ld[0].target = 3; }},
      {"LD", [](WsProgram& p) { p.ld[0].dst_addr = 1020; }},  // past the 1 KiB ifmap buffer
      {"CMP", [](WsProgram& p) { p.cmp[0].m_count = 0; }},
      {"CMP", [](WsProgram& p) { p.cmp[0].k_valid = 5; }},     // more than 4 rows
      {"CMP", [](WsProgram& p) { p.cmp[0].n_valid = 0; }},
      {"CMP", [](WsProgram& p) { p.cmp[0].acc_addr = 1u << 20; }},
      {"ST", [](WsProgram& p) { p.st[0].m_count = 0; }},
      {"ST", [](WsProgram& p) { p.st[0].n_valid = 9; }},
      {"ST", [](WsProgram& p) { p.st[0].param_slot = 2; }},
  };
  int k = 0;
  for (const Case& c : cases) {
    WsProgram p = good;
    c.spoil(p);
    SimJob job;
    set_commands(job, p);
    const SimResult r = run_program(m, job, fmt::format("illegal_{}", k++));
    EXPECT_EQ(r.status, 5u) << c.engine << " case " << k << ": " << r.message;
    EXPECT_NE(r.message.find(fmt::format("the {} engine flagged an illegal command", c.engine)),
              std::string::npos) << r.message;
  }
  SimJob job;
  set_commands(job, good);
  EXPECT_EQ(run_program(m, job, "illegal_none").status, 0u);
}

TEST(SimIllegal, RsPassIsFlagged) {
  Accelerator a = accel(4, 4, 4, 3, 1, 1, 1);
  a.name = "rs_illegal";
  a.dataflow = Dataflow::RS;
  a.spad_ifmap = 12;
  a.spad_filter = 48;
  a.spad_psum = 8;
  const SimModel m = build_sim_model(a, false);
  const Layer l = conv("c1", 2, 4, 4, 3, 3, 1, 1, 1, false);
  for (int k = 0; k < 3; ++k) {
    RsProgram p = rs_program(l, a, DramMap{0, 1024, 2048, 4096});
    if (k == 0) p.pass[0].p = 0;
    if (k == 1) p.pass[0].e = 5;  // more than 4 columns
    if (k == 2) p.pass[0].kw = 13;  // more than the 12-entry ifmap scratchpad
    SimJob job;
    set_commands(job, p);
    const SimResult r = run_program(m, job, fmt::format("illegal_rs_{}", k));
    EXPECT_EQ(r.status, 5u) << k << ": " << r.message;
    EXPECT_NE(r.message.find("the CMP engine flagged"), std::string::npos) << r.message;
  }
}

// An assertion names its rule and cycle: a load engine that changes its request address
// while the DRAM withholds ready breaks hdx_core.rd_req_hold, on both simulators.
// A copy of templates/ and sim/ with one line of one template replaced, for the tests that
// check that a broken design is caught; HDX_DATA_DIR points at it until the object dies.
class PatchedData {
 public:
  PatchedData(const std::string& name, const std::string& file, const std::string& from,
              const std::string& to)
      : dir_(std::string(HDX_BINARY_DIR) + "/" + name) {
    namespace fs = std::filesystem;
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    copy_data_dir(dir_);
    const std::string path = dir_ + "/templates/" + file;
    std::string text = read_file(path);
    const auto at = text.find(from);
    if (at == std::string::npos) throw std::runtime_error(file + " changed; update this test");
    text.replace(at, from.size(), to);
    write_file_atomic(path, text);
    setenv("HDX_DATA_DIR", dir_.c_str(), 1);
  }
  ~PatchedData() {
    unsetenv("HDX_DATA_DIR");
    std::filesystem::remove_all(dir_);
  }

 private:
  std::string dir_;
};

// Runs the layer on both simulators and expects each to stop on the named assertion; on
// Verilator also twice through one job stream (hdx sim's workers), where the assertion's text
// comes from the model process's standard error and the stream goes on after the failure.
void expect_assertion(const Accelerator& a, const Layer& l, const SimOptions& o,
                      const std::string& rule) {
  for (Simulator sim : {Simulator::Verilator, Simulator::Icarus}) {
    SimModel m;
    try {
      m = build_sim_model(a, false, {}, sim);
      (void)simulate_layer(m, l, a, random_layer_data(l, 1), "", o);
      ADD_FAILURE() << simulator_name(sim) << ": " << rule << " went unnoticed";
    } catch (const SimError& e) {
      const std::string w = e.what();
      EXPECT_NE(w.find("assertion failed in cycle"), std::string::npos) << w;
      EXPECT_NE(w.find(rule), std::string::npos) << w;
    }
    if (sim != Simulator::Verilator) continue;
    SimWorker worker(m, "worker 1");
    for (int rep = 0; rep < 2; ++rep) {
      try {
        (void)simulate_layer(worker, l, a, random_layer_data(l, 1), o);
        ADD_FAILURE() << "job stream: " << rule << " went unnoticed";
      } catch (const SimError& e) {
        const std::string w = e.what();
        EXPECT_NE(w.find("assertion failed in cycle"), std::string::npos) << w;
        EXPECT_NE(w.find(rule), std::string::npos) << w;
      }
    }
  }
}

TEST(SimAssertions, BrokenHandshakeIsReported) {
  PatchedData data("assert_test", "common/hdx_ld.sv", "assign rd_req_addr_o = addr_q;",
                   "assign rd_req_addr_o = addr_q + {31'd0, !rd_req_ready_i};");
  SimOptions o;
  o.backpressure = 0.3;
  expect_assertion(accel(2, 2, 4, 3, 1, 1, 1), conv("c1", 2, 4, 4, 2, 1, 1, 0, 1, false), o,
                   "hdx_core.rd_req_hold");
}

// Lane 1 reads lane 0's byte: both lanes in one bank of the ws ifmap buffer.
TEST(SimAssertions, IfmapBankConflictIsReported) {
  PatchedData data("bank_test", "systolic/hdx_ws_cmp.sv", "assign addr = str_base_q + off;",
                   "assign addr = str_base_q + off - (r == 1 ? 1 : 0);");
  expect_assertion(accel(2, 2, 4, 3, 1, 1, 1), conv("c1", 2, 4, 4, 2, 1, 1, 0, 1, false), {},
                   "hdx_ibuf.bank_conflict");
}

// PE row 1 reads the word before its own, in PE row 0's bank of the rs weight buffer.
TEST(SimAssertions, WeightBankConflictIsReported) {
  PatchedData data("wbank_test", "eyeriss/hdx_rs_cmp.sv",
                   "assign addr = row_wb[r*32 +: 32] + xw + ct;",
                   "assign addr = row_wb[r*32 +: 32] + xw + ct - (r == 1 ? 32'd1 : 32'd0);");
  Accelerator a = accel(2, 2, 4, 3, 1, 1, 1);
  a.name = "rs2x2";
  a.dataflow = Dataflow::RS;
  a.spad_filter = 48;
  a.spad_psum = 8;
  expect_assertion(a, conv("c1", 2, 4, 4, 2, 3, 1, 1, 1, false), {}, "hdx_wbuf.bank_conflict");
}

// hdx sim --jobs: images (or layers) spread over several simulator processes, each running a
// job stream; the report does not depend on how many.
namespace {

const std::string kHdx = std::string(HDX_BINARY_DIR) + "/cli/hdx";
const std::string kAccel4 = std::string(HDX_SOURCE_DIR) + "/examples/accel_ws_4x4.json";

// A small Fashion-MNIST network with random int8 weights (the RTL must agree with the int8
// reference whatever the weights), written to DIR/net.json and DIR/weights_int8.npz.
void write_small_qnet(const std::string& dir) {
  const std::string text = R"({"name": "jobs_net", "input": {"channels": 1, "height": 28, "width": 28},
    "layers": [
      {"name": "c1", "op": "conv", "out_channels": 4, "kernel": 3, "stride": 2, "padding": 1, "relu": true},
      {"name": "c2", "op": "conv", "out_channels": 8, "kernel": 3, "stride": 2, "padding": 1, "relu": true},
      {"name": "fc", "op": "fc", "out_features": 10}]})";
  write_file_atomic(dir + "/net.json", text);
  const Network n = load_network(dir + "/net.json");
  QuantNet q;
  for (size_t i = 0; i < n.layers.size(); ++i) {
    const Layer& l = n.layers[i];
    QuantLayer ql;
    ql.weight = random_int8(static_cast<size_t>(l.weight_count()), 100 + i);
    ql.q = random_requant(l, 200 + i);
    ql.scale = 0.05f;
    q.layers.push_back(ql);
  }
  write_qnet(dir + "/weights_int8.npz", n, q);
}

// The report without what may differ between two runs of the same work: timings, the
// command line and the throughput figures.
nlohmann::json content(const std::string& path) {
  nlohmann::json j = nlohmann::json::parse(read_file(path));
  for (const char* k : {"seconds", "seconds_per_image", "command", "throughput"}) j.erase(k);
  for (auto& l : j["layers"]) l.erase("seconds");
  return j;
}

std::string fresh_dir(const std::string& name) {
  const std::string d = std::string(HDX_BINARY_DIR) + "/test-tmp/" + name;
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

}  // namespace

TEST(SimJobs, ReportIsTheSameOnOneAndTwoJobs) {
  const std::string dir = fresh_dir("SimJobsSame");
  write_small_qnet(dir);
  std::string out;
  auto sim = [&](const std::string& name, std::vector<std::string> extra) {
    std::vector<std::string> argv = {kHdx, "sim", "--network", dir + "/net.json", "--accel",
                                     kAccel4, "--out", dir + "/" + name};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_command(argv, &out);
  };
  // Real images: one worker takes every image, two share them.
  const std::vector<std::string> real = {"--weights", dir + "/weights_int8.npz", "--images", "5",
                                         "--first-image", "3"};
  auto with = [](std::vector<std::string> v, const std::string& jobs) {
    v.insert(v.end(), {"--jobs", jobs});
    return v;
  };
  ASSERT_EQ(sim("real1", with(real, "1")), 0) << out;
  EXPECT_NE(out.find("5 images on 1 worker (--jobs 1)"), std::string::npos) << out;
  ASSERT_EQ(sim("real2", with(real, "2")), 0) << out;
  EXPECT_NE(out.find("5 images on 2 workers (--jobs 2)"), std::string::npos) << out;
  const nlohmann::json r1 = content(dir + "/real1/sim_report.json");
  EXPECT_EQ(r1, content(dir + "/real2/sim_report.json"));
  EXPECT_EQ(r1["images"].size(), 5u);
  EXPECT_EQ(r1["images"][0]["index"], 3);
  EXPECT_EQ(r1["rtl_agreement"], 1.0);
  EXPECT_TRUE(r1["all_match"].get<bool>());
  const nlohmann::json t = nlohmann::json::parse(read_file(dir + "/real2/sim_report.json"))["throughput"];
  EXPECT_EQ(t["workers"], 2);
  EXPECT_GT(t["model_loop_seconds"].get<double>(), 0);

  // Random layers: the layers are shared out instead.
  ASSERT_EQ(sim("rand1", {"--seed", "5", "--jobs", "1"}), 0) << out;
  ASSERT_EQ(sim("rand2", {"--seed", "5", "--jobs", "2"}), 0) << out;
  EXPECT_EQ(content(dir + "/rand1/sim_report.json"), content(dir + "/rand2/sim_report.json"));

  // A worker count below one is one line and exit 2, before anything is built.
  EXPECT_EQ(sim("bad", {"--jobs", "0"}), 2) << out;
  EXPECT_NE(out.find("[config E025] --jobs 0: must be at least 1"), std::string::npos) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  std::filesystem::remove_all(dir);
}

// A simulator process that dies is reported with the worker, how it ended and the image it
// held, and no report is written as if the run had finished.
namespace {

// A model cache (under dir) whose model of kAccel4 is a script: the first process started
// from it is killed at once, any later one runs the real model. Returns the cache folder.
std::string cache_with_dying_model(const std::string& dir) {
  namespace fs = std::filesystem;
  const SimModel m = build_sim_model(load_accelerator(kAccel4), false);
  const std::string cache = dir + "/cache";
  const std::string entry = cache + "/verilator/" + fs::path(m.dir).filename().string();
  fs::create_directories(entry);
  write_file_atomic(entry + "/hdx_sim_model",
                    fmt::format("#!/bin/sh\nif mkdir '{}/died' 2>/dev/null; then kill -9 $$; fi\n"
                                "exec '{}' \"$@\"\n", dir, m.exe));
  fs::permissions(entry + "/hdx_sim_model", fs::perms::owner_all);
  return cache;
}

}  // namespace

TEST(SimJobs, DeadWorkerIsReported) {
  namespace fs = std::filesystem;
  const std::string dir = fresh_dir("SimJobsDead");
  write_small_qnet(dir);
  const std::string cache = cache_with_dying_model(dir);
  const char* old = std::getenv("HDX_CACHE_DIR");
  const std::string saved = old ? old : "";
  setenv("HDX_CACHE_DIR", cache.c_str(), 1);
  std::string out;
  const int rc = run_command({kHdx, "sim", "--network", dir + "/net.json", "--accel", kAccel4,
                              "--weights", dir + "/weights_int8.npz", "--images", "4", "--jobs",
                              "2", "--out", dir + "/out"}, &out);
  if (old) setenv("HDX_CACHE_DIR", saved.c_str(), 1);
  else unsetenv("HDX_CACHE_DIR");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("[sim E015] worker "), std::string::npos) << out;
  EXPECT_NE(out.find("was killed by signal 9"), std::string::npos) << out;
  EXPECT_NE(out.find("while it held image "), std::string::npos) << out;
  EXPECT_NE(out.find(", layer 'c1'"), std::string::npos) << out;
  EXPECT_NE(out.find("the run stopped at the first failure: "), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir + "/out/sim_report.json"));
  fs::remove_all(dir);
}

// Under mpirun the ranks share the images (with --weights) or the layers, and rank 0 writes
// one report equal in content to a run in one process.
TEST(SimJobs, MpiRanksGiveTheSameReport) {
  const std::string dir = fresh_dir("SimJobsMpi");
  write_small_qnet(dir);
  std::string out;
  auto sim = [&](int ranks, const std::string& name, std::vector<std::string> extra) {
    std::vector<std::string> argv;
    if (ranks > 0)
      argv = {HDX_MPIEXEC, "--oversubscribe", "--allow-run-as-root", "-n", std::to_string(ranks)};
    argv.insert(argv.end(), {kHdx, "sim", "--network", dir + "/net.json", "--accel", kAccel4,
                             "--out", dir + "/" + name, "--jobs", "1"});
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_command(argv, &out);
  };
  const std::vector<std::string> real = {"--weights", dir + "/weights_int8.npz", "--images", "3",
                                         "--first-image", "2"};
  ASSERT_EQ(sim(0, "real1", real), 0) << out;
  ASSERT_EQ(sim(2, "real2", real), 0) << out;
  EXPECT_NE(out.find("3 images over 2 ranks; rank 0 takes images 0-1 of 3 on 1 worker"),
            std::string::npos) << out;
  EXPECT_EQ(out.find("all 3 accelerator layers x 3 images"),
            out.rfind("all 3 accelerator layers x 3 images")) << "printed once: " << out;
  const nlohmann::json r1 = content(dir + "/real1/sim_report.json");
  EXPECT_EQ(r1, content(dir + "/real2/sim_report.json"));
  EXPECT_EQ(r1["images"].size(), 3u);
  const nlohmann::json t = nlohmann::json::parse(read_file(dir + "/real2/sim_report.json"))["throughput"];
  EXPECT_EQ(t["ranks"], 2);
  EXPECT_EQ(t["workers"], 2);

  // More ranks than images: the last rank has none and waits.
  ASSERT_EQ(sim(3, "real3", {"--weights", dir + "/weights_int8.npz", "--images", "2",
                             "--first-image", "2"}), 0) << out;
  EXPECT_NE(out.find("2 images over 3 ranks; rank 0 takes images 0 of 2"), std::string::npos)
      << out;
  nlohmann::json r3 = content(dir + "/real3/sim_report.json");
  EXPECT_EQ(r3["images"], nlohmann::json(std::vector<nlohmann::json>(r1["images"].begin(),
                                                                     r1["images"].begin() + 2)));

  // Random layers, one per rank; the tensors each rank dumps are in the one manifest.
  ASSERT_EQ(sim(0, "rand1", {"--seed", "4", "--dump-tensors"}), 0) << out;
  ASSERT_EQ(sim(3, "rand3", {"--seed", "4", "--dump-tensors"}), 0) << out;
  EXPECT_EQ(content(dir + "/rand1/sim_report.json"), content(dir + "/rand3/sim_report.json"));
  const nlohmann::json files =
      nlohmann::json::parse(read_file(dir + "/rand3/manifest.json"))["files"];
  for (const char* layer : {"c1", "c2", "fc"}) {
    const std::string f = fmt::format("tensors/{}/output.npy", layer);
    EXPECT_EQ(read_file(dir + "/rand3/" + f), read_file(dir + "/rand1/" + f)) << f;
    EXPECT_TRUE(files.contains(f)) << files;
  }
  std::filesystem::remove_all(dir);
}

// A rank whose simulator process dies is reported with its shard, and no report is written.
TEST(SimJobs, DeadWorkerUnderMpiIsReportedWithItsShard) {
  namespace fs = std::filesystem;
  const std::string dir = fresh_dir("SimJobsMpiDead");
  write_small_qnet(dir);
  const std::string cache = cache_with_dying_model(dir);  // the first model process dies
  std::string out;
  const int rc = run_command({"env", "HDX_CACHE_DIR=" + cache, HDX_MPIEXEC, "--oversubscribe",
                              "--allow-run-as-root", "-n", "2", kHdx, "sim", "--network",
                              dir + "/net.json", "--accel", kAccel4, "--weights",
                              dir + "/weights_int8.npz", "--images", "4", "--jobs", "1",
                              "--out", dir + "/out"}, &out);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("[mpi E002] rank "), std::string::npos) << out;
  const bool r0 = out.find("rank 0 of 2 (images 0-1 of 4) failed: [sim E015] worker 1") !=
                  std::string::npos;
  const bool r1 = out.find("rank 1 of 2 (images 2-3 of 4) failed: [sim E015] worker 1") !=
                  std::string::npos;
  EXPECT_TRUE(r0 != r1) << out;  // the one rank whose process died
  EXPECT_NE(out.find("was killed by signal 9"), std::string::npos) << out;
  EXPECT_NE(out.find("no report was written"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir + "/out/sim_report.json"));
  fs::remove_all(dir);
}
