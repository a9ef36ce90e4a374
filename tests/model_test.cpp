// Cost model invariants that hold without the RTL (the RTL comparison is sim_test).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "errors.h"
#include "model.h"
#include "schedule_ws.h"
#include "sram.h"
#include "tech.h"

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

// Host operations cost nothing on either dataflow; the accelerator layers keep their cost.
TEST(Model, HostOperationsCostNothing) {
  const Network n = load_network(std::string(HDX_SOURCE_DIR) + "/examples/net_residual.json");
  for (Dataflow df : {Dataflow::WS, Dataflow::RS}) {
    Accelerator a = accel(4, 4, 4, 10, 8);
    a.dataflow = df;
    const NetworkCost c = network_cost(n, a);
    long long sum = 0;
    for (std::size_t i = 0; i < n.layers.size(); ++i) {
      const LayerCost& lc = c.layers[i];
      EXPECT_EQ(lc.name, n.layers[i].name);
      if (n.layers[i].host()) {
        EXPECT_EQ(lc.cycles, 0);
        EXPECT_EQ(lc.ev, Events{});
        EXPECT_EQ(lc.energy.total(), 0);
      } else {
        EXPECT_GT(lc.cycles, 0);
      }
      sum += lc.cycles;
    }
    EXPECT_EQ(c.cycles, sum);
  }
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

// ---------------------------------------------------------------- rs

namespace {

Accelerator rs_accel(int r, int c, int bpc, int lat, int kib, int si, int sf, int sp) {
  Accelerator a = accel(r, c, bpc, lat, kib);
  a.dataflow = Dataflow::RS;
  a.spad_ifmap = si;
  a.spad_filter = sf;
  a.spad_psum = sp;
  return a;
}

}  // namespace

// Whatever the mapping: every MAC once, every output byte written once, every weight and
// param loaded at least once; each MAC reads the ifmap and filter scratchpads once and
// updates one psum; the array never beats its peak.
TEST(ModelRs, EventInvariantsOverRandomLayers) {
  std::mt19937_64 rng(17);
  auto pick = [&rng](int lo, int hi) { return lo + static_cast<int>(rng() % (hi - lo + 1)); };
  int checked = 0, folded = 0;
  for (int i = 0; i < 800; ++i) {
    const int k = 2 * pick(0, 3) + 1, g = pick(0, 3) == 0 ? pick(2, 4) : 1;
    const Layer l = conv(g * pick(1, 12), pick(k, 30), pick(k, 30), g * pick(1, 24), k,
                         pick(1, 2), pick(0, k / 2), g);
    const Accelerator a = rs_accel(pick(2, 16), pick(2, 16), 1 << pick(0, 5), pick(0, 100),
                                   pick(1, 16), pick(1, 16), pick(1, 128), pick(1, 16));
    LayerCost c;
    try {
      c = layer_cost(l, a);
    } catch (const MappingError&) {
      continue;
    }
    ++checked;
    folded += c.rs.row_folds > 1 || c.rs.chan_blocks > 1;
    SCOPED_TRACE(testing::Message() << "case " << i);
    EXPECT_EQ(c.ev.macs, l.macs());
    EXPECT_EQ(c.ev.dram_wr_bytes, l.out_size());
    EXPECT_GE(c.ev.weight_wr, l.weight_count());
    EXPECT_GE(c.ev.param_wr, 1LL * l.out_c * kParamBytes);
    EXPECT_EQ(c.ev.dram_rd_bytes, c.ev.ifmap_wr + c.ev.weight_wr + c.ev.param_wr);
    EXPECT_EQ(c.ev.spad_ifmap_rd, c.ev.macs);
    EXPECT_EQ(c.ev.spad_filter_rd, c.ev.macs);
    EXPECT_EQ(c.ev.spad_psum_rd, c.ev.macs);
    EXPECT_EQ(c.ev.spad_psum_wr, c.ev.macs);
    EXPECT_GE(c.ev.spad_filter_wr, c.ev.weight_rd);
    EXPECT_GE(c.ev.weight_rd, l.weight_count());
    EXPECT_GE(c.cycles * a.pe_rows * a.pe_cols, c.ev.macs);
    EXPECT_LE(c.utilization, 1.0);
    EXPECT_GT(c.energy.spad, 0.0);
    // The mapping respects the scratchpads and the accumulator lanes.
    EXPECT_LE(c.rs.q * l.kw, a.spad_ifmap);
    EXPECT_LE(c.rs.p * c.rs.q * l.kw, a.spad_filter);
    EXPECT_LE(c.rs.p, a.spad_psum);
    EXPECT_LE(c.rs.tile_n, a.pe_cols);
    EXPECT_LE(c.rs.kh_f * c.rs.r_v, a.pe_rows);
    EXPECT_LE(c.rs.e * c.rs.r_h, a.pe_cols);
  }
  EXPECT_GE(checked, 300);
  EXPECT_GE(folded, 50);
}

// A layer that cannot be mapped names the scratchpad or buffer and the smallest legal value.
TEST(ModelRs, UnmappableLayersNameTheLimit) {
  const Layer l = conv(8, 20, 20, 8, 7, 1, 3, 1);
  auto expect = [](const Layer& l, const Accelerator& a, int code, const std::string& part) {
    try {
      layer_cost(l, a);
      ADD_FAILURE() << "no error, expected " << part;
    } catch (const MappingError& e) {
      EXPECT_EQ(e.code(), code);
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  expect(l, rs_accel(4, 4, 4, 10, 16, 6, 224, 24), 13, "set spad.ifmap to at least 7");
  expect(l, rs_accel(4, 4, 4, 10, 16, 12, 5, 24), 14, "set spad.filter to at least 7");
  Accelerator a = rs_accel(4, 4, 4, 10, 16, 12, 224, 24);
  a.weight_kib = 1;  // 256 words; two pass slots of 7 taps x 1 channel x 4 rows fit
  EXPECT_NO_THROW(layer_cost(l, a));
  EXPECT_EQ(layer_cost(l, a).rs.weight_slots, RsTiling::WeightSlots::Pass);
  // One tile of 3 x 4 x 4 x 3 = 144 words stays resident in 256, though two would not fit.
  EXPECT_EQ(layer_cost(conv(16, 20, 20, 4, 3, 1, 1, 1), a).rs.weight_slots,
            RsTiling::WeightSlots::Resident);
  // With 18 channels per PE, a pass slot is 7 x 18 x 1 x 4 = 504 words: two need 1008 words
  // of 4 bytes on 4 banks, 4032 bytes.
  Accelerator wide_spads = rs_accel(4, 4, 4, 10, 1, 128, 1024, 24);
  wide_spads.ifmap_kib = 64;
  const Layer big = conv(64, 20, 20, 8, 7, 1, 3, 1);
  expect(big, wide_spads, 11, "set buffers_kib.weight to at least 4");
  wide_spads.weight_kib = 4;
  EXPECT_NO_THROW(layer_cost(big, wide_spads));
  a.weight_kib = 16;
  a.ofmap_kib = 1;  // 1024 / 16 / 2 = 32 entries per slot; a row needs 20
  EXPECT_NO_THROW(layer_cost(l, a));
  const Layer wide = conv(8, 40, 40, 8, 7, 1, 3, 1);
  expect(wide, a, 10, "set buffers_kib.ofmap to at least 2");
}

// The worked example of docs/architecture.md section 3 (conv1 of examples/net_tiny.json on
// examples/accel_ws_4x4.json), computed by hand from the rules.
TEST(Model, WorkedExample) {
  const Layer l = conv(3, 8, 8, 8, 3, 1, 1, 1);
  const Accelerator a = load_accelerator(std::string(HDX_SOURCE_DIR) + "/examples/accel_ws_4x4.json");
  const LayerCost c = layer_cost(l, a);
  EXPECT_EQ(c.cycles, 1062);  // ST2 done at 1051, its last write response 1 + 10 cycles later
  EXPECT_EQ(c.n_cmp, 14);     // 7 folds of K = 27 for each of 2 channel tiles
  EXPECT_EQ(c.n_st, 2);
  EXPECT_EQ(c.ev.macs, 13824);
}

// The worked example of docs/architecture.md section 9, computed by hand from the rules.
TEST(ModelRs, WorkedExample) {
  const Layer l = conv(2, 4, 4, 3, 3, 1, 1, 1);
  const Accelerator a = load_accelerator(std::string(HDX_SOURCE_DIR) + "/examples/accel_rs_4x4.json");
  const LayerCost c = layer_cost(l, a);
  EXPECT_EQ(c.rs.q, 2);
  EXPECT_EQ(c.rs.p, 3);
  EXPECT_EQ(c.rs.kh_f, 3);
  EXPECT_EQ(c.rs.r_v, 1);
  EXPECT_EQ(c.rs.e, 4);
  EXPECT_EQ(c.rs.r_h, 1);
  EXPECT_EQ(c.cycles, 198);  // ST1 done at 187, its last write response 1 + 10 cycles later
  EXPECT_EQ(c.n_ld, 11);     // ifmap, params, one weight load per (kernel row, tap)
  EXPECT_EQ(c.n_cmp, 1);
  EXPECT_EQ(c.n_st, 1);
  EXPECT_EQ(c.ev.macs, 864);
  EXPECT_EQ(c.ev.ifmap_rd, 32);  // every input value read once
  EXPECT_EQ(c.ev.spad_ifmap_wr, 144);
  EXPECT_EQ(c.ev.weight_rd, 54);
  EXPECT_EQ(c.ev.spad_filter_wr, 216);
  EXPECT_EQ(c.ev.acc_wr, 256);
  EXPECT_EQ(c.ev.acc_rd, 256);  // the store reads the strip once (FIRST: the pass does not)
}

// Area: each component is its fitted standard-cell formula plus the SRAM macros of its
// memories, priced by the SRAM table (docs/costmodel.md, "Area"); buffer energy per byte
// comes from the same macros, so it grows with the buffer and shrinks with a wider word.
TEST(ModelArea, ComponentsAreStdCellFormulaPlusTheirSramMacros) {
  const Tech& t = default_tech();
  for (Dataflow df : {Dataflow::WS, Dataflow::RS}) {
    Accelerator a = accel(4, 4, 4, 10, 8);
    a.dataflow = df;
    a.spad_filter = 48;
    const Area ar = accelerator_area(a, t);
    double sram[5] = {0, 0, 0, 0, 0};  // ifmap, weight, acc, spad, param
    for (const Memory& m : accelerator_memories(a)) {
      const double s = price_sram(t.sram_table(), m.kind, m.depth, m.width).area_um2 * m.count;
      const int i = m.block == "ifmap_buffer" ? 0 : m.block == "weight_buffer" ? 1
                    : m.block == "accumulator" ? 2 : m.block == "pe_array" ? 3 : 4;
      sram[i] += s;
    }
    EXPECT_GT(sram[0] * sram[1] * sram[2] * sram[4], 0);
    EXPECT_DOUBLE_EQ(ar.ifmap, t.ifmap_um2_per_bank * ifmap_banks(a) + sram[0]);
    EXPECT_DOUBLE_EQ(ar.weight, t.weight_um2_per_col * 4 + sram[1]);
    EXPECT_DOUBLE_EQ(ar.acc, t.acc_um2_per_col * 4 + sram[2]);
    EXPECT_DOUBLE_EQ(ar.spad, sram[3]);
    EXPECT_EQ(ar.spad > 0, df == Dataflow::RS);
    EXPECT_DOUBLE_EQ(ar.param, sram[4]);
    EXPECT_DOUBLE_EQ(ar.output_stage, t.requant_um2_per_col * 4);
    EXPECT_GT(ar.pe_array, 0);
    // rs adds the drain's lane selects: C x C x spad.psum inputs.
    const bool rs = df == Dataflow::RS;
    const double drain = rs ? t.control_rs_um2_per_drain_input * 4 * 4 * a.spad_psum : 0.0;
    EXPECT_EQ(drain > 0, rs);
    EXPECT_DOUBLE_EQ(ar.control, (rs ? t.control_rs_um2 : t.control_ws_um2) +
                                     t.control_um2_per_line * 8 +
                                     t.control_um2_per_dram_byte * a.dram_bytes_per_cycle +
                                     drain);
    // Twice the PEs, twice the PE array.
    Accelerator b = a;
    b.pe_cols = 8;
    EXPECT_NEAR(accelerator_area(b, t).pe_array, 2 * ar.pe_array, 1e-9 * ar.pe_array);
  }
  Accelerator small = accel(4, 4, 4, 10, 8), big = accel(4, 4, 4, 10, 64);
  const SramEnergy es = sram_energy(small, t), eb = sram_energy(big, t);
  EXPECT_GT(es.ifmap_rd, 0);
  EXPECT_LT(es.ifmap_rd, eb.ifmap_rd);
  EXPECT_LT(es.acc_wr, eb.acc_wr);
  EXPECT_GT(es.ifmap_wr, es.ifmap_rd);  // a write costs more than a read in the table
  EXPECT_GT(accelerator_area(big, t).total(), accelerator_area(small, t).total());
}

// A technology file may name its own SRAM table; one that cannot be read is a config error.
TEST(ModelArea, TechFileNamesItsSramTable) {
  const Tech t = tech_from_json(nlohmann::json{{"sram_lib", default_sram_lib_path()}, {"pe_ws_um2", 1000.0}});
  Accelerator a = accel(4, 4, 4, 10, 8);
  const Area ar = accelerator_area(a, t), ad = accelerator_area(a, default_tech());
  EXPECT_DOUBLE_EQ(ar.ifmap, ad.ifmap);
  EXPECT_DOUBLE_EQ(ar.pe_array, 16 * 1000.0);
  EXPECT_EQ(tech_to_json(t).at("sram_lib"), default_sram_lib_path());
  EXPECT_THROW(tech_from_json(nlohmann::json{{"sram_lib", "/nonexistent/sram.json"}}), ConfigError);
  EXPECT_THROW(tech_from_json(nlohmann::json{{"sram_area_um2_per_kib", 5000.0}}), ConfigError);  // old key
}
