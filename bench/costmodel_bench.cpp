// Throughput of the cost model: layer_cost() evaluations per second on one core, for every
// candidate layer of a small MBConv supernet (the table a search fills) on the three example
// accelerators (ws) and on the two rs examples, and for a few single layers on the 16x16
// one. items_per_second is layer
// evaluations per second. The counters say how many LD/CMP/ST commands the tile schedule of
// a layer has and how many of them layer_cost replayed one by one; it skips the rest as
// periodic repeats (docs/costmodel.md). The *_full_replay runs replay every command.
//
//   make costmodel_bench && ./bench/costmodel_bench
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

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
  state.counters["replayed"] = static_cast<double>(c.n_replayed);
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

// Every candidate layer of a small MBConv supernet on 28x28 Fashion-MNIST images (the kind of
// table the search fills): a 3x3 stem to 16 channels, stages of (channels, stride) (16, 1),
// (24, 2), (32, 2), (64, 1), each candidate MBConv k 3/5/7 x expansion 1/3/6 (expand 1x1,
// depthwise k x k, project 1x1), and the classifier. One item is one layer evaluation.
std::vector<Layer> supernet_layers() {
  std::vector<Layer> v;
  v.push_back(conv("stem", 1, 28, 28, 16, 3, 1, 1, 1));
  int c = 16, hw = 28;
  const int stages[4][2] = {{16, 1}, {24, 2}, {32, 2}, {64, 1}};
  for (const auto& st : stages) {
    const int out = st[0], s = st[1];
    for (int k : {3, 5, 7})
      for (int e : {1, 3, 6}) {
        const int mid = c * e;
        if (e > 1) v.push_back(conv("expand", c, hw, hw, mid, 1, 1, 0, 1));
        v.push_back(conv("dw", mid, hw, hw, mid, k, s, k / 2, mid));
        const int ohw = v.back().out_h;
        v.push_back(conv("project", mid, ohw, ohw, out, 1, 1, 0, 1));
      }
    c = out;
    hw = (hw + 2 - 3) / s + 1;
  }
  v.push_back(fc("fc", c, 10));
  return v;
}

void supernet(benchmark::State& state, const char* accel_file, bool full_replay = false) {
  const Accelerator a = load_accelerator(std::string(HDX_SOURCE_DIR) + "/examples/" + accel_file);
  const std::vector<Layer> layers = supernet_layers();
  long long cmds = 0, replayed = 0;
  for (const Layer& l : layers) {
    const LayerCost c = full_replay ? layer_cost_full_replay(l, a) : layer_cost(l, a);
    cmds += c.n_ld + c.n_cmp + c.n_st;
    replayed += c.n_replayed;
  }
  for (auto _ : state)
    for (const Layer& l : layers) {
      LayerCost c = full_replay ? layer_cost_full_replay(l, a) : layer_cost(l, a);
      benchmark::DoNotOptimize(c.cycles);
    }
  state.SetItemsProcessed(state.iterations() * static_cast<long long>(layers.size()));
  state.counters["layers"] = static_cast<double>(layers.size());
  state.counters["cmds_per_layer"] = static_cast<double>(cmds) / static_cast<double>(layers.size());
  state.counters["replayed_per_layer"] =
      static_cast<double>(replayed) / static_cast<double>(layers.size());
}
void BM_supernet_4x4(benchmark::State& s) { supernet(s, "accel_ws_4x4.json"); }
void BM_supernet_rs_12x14(benchmark::State& s) { supernet(s, "accel_rs_12x14.json"); }
void BM_supernet_rs_4x4(benchmark::State& s) { supernet(s, "accel_rs_4x4.json"); }
void BM_supernet_16x16(benchmark::State& s) { supernet(s, "accel_ws_16x16.json"); }
void BM_supernet_8x32(benchmark::State& s) { supernet(s, "accel_ws_8x32.json"); }
// The same tables replayed command by command, for the speed-up of skipping periodic runs.
void BM_supernet_4x4_full_replay(benchmark::State& s) { supernet(s, "accel_ws_4x4.json", true); }
void BM_supernet_16x16_full_replay(benchmark::State& s) {
  supernet(s, "accel_ws_16x16.json", true);
}
void BM_supernet_8x32_full_replay(benchmark::State& s) { supernet(s, "accel_ws_8x32.json", true); }

}  // namespace

BENCHMARK(BM_supernet_4x4);
BENCHMARK(BM_supernet_16x16);
BENCHMARK(BM_supernet_8x32);
BENCHMARK(BM_supernet_rs_12x14);
BENCHMARK(BM_supernet_rs_4x4);
BENCHMARK(BM_supernet_4x4_full_replay);
BENCHMARK(BM_supernet_16x16_full_replay);
BENCHMARK(BM_supernet_8x32_full_replay);
BENCHMARK(BM_conv3x3_32to32_16x16);
BENCHMARK(BM_conv1x1_64to128_8x8);
BENCHMARK(BM_dw3x3_32_16x16);
BENCHMARK(BM_fc_512to10);
BENCHMARK(BM_conv3x3_64to64_56x56);

BENCHMARK_MAIN();
