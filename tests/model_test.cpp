// Cost model invariants that hold without the RTL (the RTL comparison is sim_ws_test).
#include <gtest/gtest.h>

#include <random>

#include "errors.h"
#include "model.h"
#include "schedule_ws.h"

using namespace hdx;

namespace {

Layer conv(int c, int h, int w, int oc, int k, int s, int p, int g) {
  Layer l;
  l.name = "l";
  l.in_c = c; l.in_h = h; l.in_w = w; l.out_c = oc; l.kh = l.kw = k;
  l.stride = s; l.pad = p; l.groups = g;
  l.out_h = (h + 2 * p - k) / s + 1;
  l.out_w = (w + 2 * p - k) / s + 1;
  return l;
}

Accelerator accel(int r, int c, int bpc, int lat, int kib) {
  Accelerator a;
  a.pe_rows = r; a.pe_cols = c; a.dram_bytes_per_cycle = bpc; a.dram_latency_cycles = lat;
  a.ifmap_kib = a.weight_kib = a.ofmap_kib = kib;
  return a;
}

}  // namespace

// Whatever the tiling: every MAC is done once, every output byte written once, every input
// byte and weight loaded at least once.
TEST(Model, EventInvariantsOverRandomLayers) {
  std::mt19937_64 rng(7);
  auto pick = [&rng](int lo, int hi) { return lo + static_cast<int>(rng() % (hi - lo + 1)); };
  int checked = 0;
  for (int i = 0; i < 500; ++i) {
    const int k = 2 * pick(0, 3) + 1, g = pick(0, 2) == 0 ? 2 : 1;
    const Layer l = conv(g * pick(1, 20), pick(k, 30), pick(k, 30), g * pick(1, 20), k,
                         pick(1, 2), pick(0, k / 2), g);
    const Accelerator a = accel(pick(2, 32), pick(2, 32), 1 << pick(0, 5), pick(0, 100),
                                pick(1, 16));
    LayerCost c;
    try {
      c = layer_cost(l, a);
    } catch (const MappingError&) {
      continue;
    }
    ++checked;
    EXPECT_EQ(c.ev.macs, l.macs());
    EXPECT_EQ(c.ev.dram_wr_bytes, l.out_size());
    EXPECT_GE(c.ev.ifmap_wr, 1);
    EXPECT_GE(c.ev.weight_wr, l.weight_count());
    EXPECT_EQ(c.ev.param_wr % kParamBytes, 0);
    EXPECT_GE(c.ev.param_wr, 1LL * l.out_c * kParamBytes);
    EXPECT_EQ(c.ev.dram_rd_bytes, c.ev.ifmap_wr + c.ev.weight_wr + c.ev.param_wr);
    // A lower bound: the array cannot do more than rows*cols MACs per cycle, and the DRAM
    // channels move at most bytes_per_cycle each per cycle.
    EXPECT_GE(c.cycles * a.pe_rows * a.pe_cols, c.ev.macs);
    EXPECT_GE(c.cycles * a.dram_bytes_per_cycle, c.ev.dram_wr_bytes);
    EXPECT_LE(c.utilization, 1.0);
  }
  EXPECT_GE(checked, 300);
}

// More DRAM latency never makes a layer faster; a wider DRAM channel never makes it slower.
TEST(Model, MonotoneInLatencyAndBandwidth) {
  const Layer l = conv(16, 20, 20, 24, 3, 1, 1, 1);
  long long prev = 0;
  for (int lat : {0, 1, 10, 50, 100}) {
    const long long c = layer_cost(l, accel(8, 8, 4, lat, 4)).cycles;
    EXPECT_GE(c, prev);
    prev = c;
  }
  prev = 1LL << 60;
  for (int bpc : {1, 2, 4, 8, 16, 32}) {
    const long long c = layer_cost(l, accel(8, 8, bpc, 20, 4)).cycles;
    EXPECT_LE(c, prev);
    prev = c;
  }
}

TEST(Model, SmallBuffersForceTilingAndTooSmallOnesAreErrors) {
  const Layer l = conv(32, 32, 32, 64, 3, 1, 1, 1);
  const WsTiling big = ws_tiling(l, accel(8, 8, 8, 10, 256));
  EXPECT_TRUE(big.ifmap_resident);
  EXPECT_TRUE(big.weights_resident);
  const WsTiling small = ws_tiling(l, accel(8, 8, 8, 10, 8));
  EXPECT_FALSE(small.ifmap_resident);
  EXPECT_GE(small.region_out_rows, 1);
  EXPECT_LT(small.region_out_rows, l.out_h);
  EXPECT_FALSE(small.weights_resident);
  try {
    ws_tiling(conv(512, 64, 64, 8, 3, 1, 1, 1), accel(8, 8, 8, 10, 64));
    FAIL() << "expected a MappingError";
  } catch (const MappingError& e) {
    EXPECT_EQ(e.code(), 12);
    EXPECT_EQ(e.exit_code(), 2);
    EXPECT_NE(std::string(e.what()).find("set buffers_kib.ifmap to at least 192"),
              std::string::npos) << e.what();
  }
}

TEST(Model, NetworkTotalsAreSumsOfLayers) {
  Network n;
  n.layers = {conv(3, 16, 16, 8, 3, 1, 1, 1), conv(8, 16, 16, 8, 3, 2, 1, 8)};
  const Accelerator a = accel(4, 4, 4, 10, 8);
  const NetworkCost c = network_cost(n, a);
  EXPECT_EQ(c.cycles, c.layers[0].cycles + c.layers[1].cycles);
  EXPECT_EQ(c.macs, n.layers[0].macs() + n.layers[1].macs());
  EXPECT_NEAR(c.energy_uj,
              (c.layers[0].energy.total() + c.layers[1].energy.total()) * 1e-6, 1e-9);
  EXPECT_GT(c.area_mm2, 0);
}

// layer_cost skips runs of loop iterations that repeat periodically; its figures must be those
// of the command-by-command replay. Layers cover depthwise, grouped, 1x1, strided, padded and
// fc shapes; buffers are small enough that many layers tile over rows, groups and weights.
TEST(Model, SkippingPeriodicRunsEqualsFullReplay) {
  std::mt19937_64 rng(11);
  auto pick = [&rng](int lo, int hi) { return lo + static_cast<int>(rng() % (hi - lo + 1)); };
  int checked = 0, skipped = 0;
  for (int i = 0; i < 3000; ++i) {
    const int k = 2 * pick(0, 3) + 1, kind = pick(0, 4);
    const int c = pick(1, 48), hw = pick(k, 40);
    Layer l;
    if (kind == 0) {
      l = conv(c, hw, hw, c, k, pick(1, 2), pick(0, k / 2), c);  // depthwise
    } else if (kind == 1) {
      l = conv(2 * c, hw, pick(k, 40), 2 * pick(1, 40), k, pick(1, 2), pick(0, k / 2), 2);
    } else if (kind == 2) {
      l = conv(c, hw, hw, pick(1, 200), 1, 1, 0, 1);
    } else if (kind == 3) {
      l = conv(pick(1, 600), 1, 1, pick(1, 100), 1, 1, 0, 1);
      l.op = Op::Fc;
    } else {
      l = conv(c, hw, pick(k, 40), pick(1, 100), k, pick(1, 2), pick(0, k / 2), 1);
    }
    const Accelerator a = accel(pick(2, 32), pick(2, 32), 1 << pick(0, 5), pick(0, 100),
                                pick(1, 16));
    LayerCost fast, full;
    try {
      full = layer_cost_full_replay(l, a);
    } catch (const MappingError&) {
      continue;
    }
    fast = layer_cost(l, a);
    ++checked;
    SCOPED_TRACE(testing::Message() << "case " << i << ": " << l.in_c << "x" << l.in_h << "x"
                                    << l.in_w << " -> " << l.out_c << " k" << l.kh << " s"
                                    << l.stride << " p" << l.pad << " g" << l.groups << " on "
                                    << a.pe_rows << "x" << a.pe_cols << " bpc "
                                    << a.dram_bytes_per_cycle << " lat "
                                    << a.dram_latency_cycles << " kib " << a.ifmap_kib);
    ASSERT_EQ(fast.cycles, full.cycles);
    ASSERT_TRUE(fast.ev == full.ev);
    ASSERT_EQ(fast.n_ld, full.n_ld);
    ASSERT_EQ(fast.n_cmp, full.n_cmp);
    ASSERT_EQ(fast.n_st, full.n_st);
    ASSERT_EQ(full.n_replayed, full.n_ld + full.n_cmp + full.n_st);
    skipped += fast.n_replayed < full.n_replayed;
  }
  EXPECT_GE(checked, 2000);
  EXPECT_GE(skipped, checked / 4);  // the comparison covers many skips
}
