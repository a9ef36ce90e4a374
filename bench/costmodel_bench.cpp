// Throughput of the cost model: layer_cost() evaluations per second on one core, for a few
// representative layers on the 16x16 ws example accelerator. items_per_second is the number
// of layer evaluations per second; the counters say how many LD/CMP/ST commands the tile
// schedule of each layer has, since layer_cost replays that schedule command by command.
//
//   make costmodel_bench && ./bench/costmodel_bench
#include <benchmark/benchmark.h>

#include <string>

#include "accel.h"
#include "model.h"
#include "network.h"

using namespace hdx;

namespace {

const Accelerator& accel16() {
  static const Accelerator a =
      load_accelerator(std::string(HDX_SOURCE_DIR) + "/examples/accel_ws_16x16.json");
  return a;
}

Layer conv(const std::string& name, int c, int h, int w, int oc, int k, int s, int p, int g) {
  Layer l;
  l.name = name;
  l.in_c = c; l.in_h = h; l.in_w = w;
  l.out_c = oc; l.kh = l.kw = k; l.stride = s; l.pad = p; l.groups = g; l.relu = true;
  l.out_h = (h + 2 * p - k) / s + 1;
  l.out_w = (w + 2 * p - k) / s + 1;
  return l;
}

Layer fc(const std::string& name, int in, int out) {
  Layer l = conv(name, in, 1, 1, out, 1, 1, 0, 1);
  l.op = Op::Fc;
  l.relu = false;
  return l;
}

void run(benchmark::State& state, const Layer& l) {
  const Accelerator& a = accel16();
  LayerCost c;
  for (auto _ : state) {
    c = layer_cost(l, a);
    benchmark::DoNotOptimize(c.cycles);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["cmds"] = static_cast<double>(c.n_ld + c.n_cmp + c.n_st);
  state.counters["cmp_cmds"] = static_cast<double>(c.n_cmp);
  state.counters["cycles"] = static_cast<double>(c.cycles);
}

void BM_conv3x3_32to32_16x16(benchmark::State& s) {
  run(s, conv("conv3x3_32_32_16x16", 32, 16, 16, 32, 3, 1, 1, 1));
}
void BM_conv1x1_64to128_8x8(benchmark::State& s) {
  run(s, conv("conv1x1_64_128_8x8", 64, 8, 8, 128, 1, 1, 0, 1));
}
void BM_dw3x3_32_16x16(benchmark::State& s) {
  run(s, conv("dw3x3_32_16x16", 32, 16, 16, 32, 3, 1, 1, 32));
}
void BM_fc_512to10(benchmark::State& s) { run(s, fc("fc_512_10", 512, 10)); }
void BM_conv3x3_64to64_56x56(benchmark::State& s) {
  run(s, conv("conv3x3_64_64_56x56", 64, 56, 56, 64, 3, 1, 1, 1));
}

}  // namespace

BENCHMARK(BM_conv3x3_32to32_16x16);
BENCHMARK(BM_conv1x1_64to128_8x8);
BENCHMARK(BM_dw3x3_32_16x16);
BENCHMARK(BM_fc_512to10);
BENCHMARK(BM_conv3x3_64to64_56x56);

BENCHMARK_MAIN();
