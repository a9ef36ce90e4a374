// Model/RTL exactness of the ws and rs accelerators: every (layer, accelerator) pair must give
// rtl_cycles == model_cycles, bit-exact outputs and model events equal to RTL counters.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "errors.h"
#include "job.h"
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
  int pairs = 0, folded = 0, blocks = 0;
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
      expect_exact(m, l, a, static_cast<uint64_t>(pairs));
      ++pairs;
      ++n;
    }
  }
  EXPECT_GE(pairs, 100);
  EXPECT_GE(folded, 10);
  EXPECT_GE(blocks, 20);
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
