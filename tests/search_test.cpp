// The search stage: spec validation, exact cost tables, expected cost against brute-force
// enumeration, the HDX direction rule, the evaluator's measured error, the torch modules, and
// `hdx search` end to end on a slice of Fashion-MNIST.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

#include "data.h"
#include "dist.h"
#include "errors.h"
#include "hwcost.h"
#include "json_util.h"
#include "model.h"
#include "npy.h"
#include "project.h"
#include "space.h"
#include "spec.h"
#include "supernet.h"
#include "util.h"

namespace fs = std::filesystem;
using namespace hdx;
using nlohmann::json;

namespace {

const std::string kEx = std::string(HDX_SOURCE_DIR) + "/examples/";
const std::string kHdx = std::string(HDX_BINARY_DIR) + "/cli/hdx";

// A small spec: 3 slots (one with skip), both dataflows, 24 hardware points.
json small_spec() {
  return json::parse(R"({
    "name": "small", "seed": 3,
    "dataset": {"name": "fashion-mnist", "search_train": 256, "search_val": 128, "train": 256,
                "test": 256},
    "supernet": {"stem": {"channels": 4, "stride": 2},
                 "stages": [{"channels": 8, "repeats": 2, "stride": 2},
                            {"channels": 8, "repeats": 1}],
                 "candidates": {"kernels": [3, 5], "expansions": [1, 3],
                                "fused": {"kernels": [3], "expansions": [1, 2]}}},
    "hardware": {"dataflow": ["ws", "rs"], "pe_rows": [4, 8], "pe_cols": [4, 8, 16],
                 "buffers_kib": {"ifmap": [8], "weight": [8], "ofmap": [4, 16]},
                 "dram": {"bytes_per_cycle": [8]}},
    "objective": {"metric": "edp", "weight": 0.2},
    "constraints": [{"metric": "latency_ms", "max": 1.0}],
    "search": {"epochs": 2, "warmup_share": 0.5, "batch_size": 64},
    "train": {"epochs": 1, "batch_size": 64},
    "threads": 1
  })");
}

void expect_config_error(const std::function<void()>& f, const std::string& want) {
  try {
    f();
    ADD_FAILURE() << "no error; wanted " << want;
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
  }
}

std::vector<torch::Tensor> random_probs(const std::vector<std::size_t>& sizes, std::mt19937& rng) {
  std::vector<torch::Tensor> out;
  std::normal_distribution<double> n(0, 1.5);
  for (std::size_t k : sizes) {
    auto t = torch::empty({static_cast<int64_t>(k)}, torch::kFloat64);
    for (std::size_t i = 0; i < k; ++i) t[static_cast<int64_t>(i)] = n(rng);
    out.push_back(torch::softmax(t, 0));
  }
  return out;
}

}  // namespace

TEST(Spec, DefaultExampleParsesAndRoundTrips) {
  const Spec s = load_spec(kEx + "fmnist-latency.json");
  EXPECT_EQ(s.dataset.name, "fashion-mnist");
  EXPECT_EQ(s.dataset.path, "/usr/share/datasets/fashion-mnist");
  EXPECT_EQ(s.mode, ConstraintMode::Hdx);
  ASSERT_FALSE(s.constraints.empty());
  EXPECT_EQ(s.hardware.dataflow.size(), 2u);  // ws and rs
  const json j = spec_to_json(s);
  EXPECT_EQ(spec_to_json(spec_from_json(j)), j);
  // The default space offers fused-MBConv candidates; the final training has a real recipe.
  EXPECT_FALSE(s.supernet.fused_kernels.empty());
  EXPECT_EQ(s.train.optimizer, "sgd");
  EXPECT_GT(s.train.weight_decay, 0);
  EXPECT_GT(s.train.label_smoothing, 0);
  EXPECT_GT(s.train.crop_pad, 0);
  EXPECT_GE(s.warmup_epochs(), 1);
  EXPECT_LT(s.warmup_epochs(), s.search_epochs);
  EXPECT_EQ(s.search_minutes, 0);  // budgets in epochs, no wall-clock stop
  // The GPU example: the same constraints, on "cuda".
  const Spec g = load_spec(kEx + "fmnist-gpu.json");
  EXPECT_EQ(g.device, "cuda");
  EXPECT_EQ(spec_to_json(g)["constraints"], j["constraints"]);
  EXPECT_EQ(spec_to_json(g)["hardware"], j["hardware"]);
}

TEST(Spec, ErrorsNameThePath) {
  auto with = [](const std::function<void(json&)>& edit) {
    json j = small_spec();
    edit(j);
    return [j] { spec_from_json(j); };
  };
  expect_config_error(with([](json& j) { j["frob"] = 1; }), "/frob: unknown key");
  expect_config_error(with([](json& j) { j["hardware"]["pe_rows"] = json::array({4, 1}); }),
                      "/hardware/pe_rows/1: must be between 2 and 64, got 1");
  expect_config_error(with([](json& j) { j["hardware"]["pe_rows"] = json::array({4, 4}); }),
                      "/hardware/pe_rows/1: values must be distinct");
  expect_config_error(with([](json& j) { j["hardware"]["dram"]["bytes_per_cycle"] = {3}; }),
                      "/hardware/dram/bytes_per_cycle/0: must be a power of two");
  expect_config_error(with([](json& j) { j["hardware"]["dataflow"] = {"ws", "os"}; }),
                      "/hardware/dataflow/1: must be one of: ws, rs");
  expect_config_error(with([](json& j) { j["constraints"] = json::parse(R"([{"metric": "fps", "max": 3}])"); }),
                      "/constraints/0/max: unknown key");
  expect_config_error(with([](json& j) { j["constraints"] = json::parse(R"([{"metric": "fps"}])"); }),
                      "/constraints/0/min: missing required key");
  expect_config_error(with([](json& j) { j["constraints"] = json::parse(R"([{"metric": "latency_ms", "max": 0}])"); }),
                      "/constraints/0/max");
  expect_config_error(with([](json& j) {
                        j["constraints"] = json::parse(
                            R"([{"metric": "area_mm2", "max": 1}, {"metric": "area_mm2", "max": 2}])");
                      }),
                      "/constraints/1/metric: one constraint per metric");
  expect_config_error(with([](json& j) { j["objective"]["metric"] = "power"; }),
                      "/objective/metric: must be one of: latency, energy, edp, area");
  expect_config_error(with([](json& j) { j["objective"]["network_weight"] = -1; }),
                      "/objective/network_weight");
  expect_config_error(with([](json& j) { j["constraint_mode"] = "hard"; }),
                      "/constraint_mode: must be one of: hdx, soft, none");
  expect_config_error(with([](json& j) { j["supernet"]["candidates"]["kernels"] = {3, 4}; }),
                      "/supernet/candidates/kernels/1: must be odd");
  expect_config_error(with([](json& j) { j["supernet"]["candidates"]["fused"]["kernels"] = {2}; }),
                      "/supernet/candidates/fused/kernels/0: must be odd");
  expect_config_error(with([](json& j) { j["supernet"]["candidates"]["fused"].erase("expansions"); }),
                      "/supernet/candidates/fused/expansions: missing required key");
  expect_config_error(with([](json& j) { j["search"]["finish"] = "best"; }),
                      "/search/finish: must be one of: argmax, hardware, greedy");
  expect_config_error(with([](json& j) { j["search"]["warmup_epochs"] = 1; }),
                      "/search/warmup_epochs: unknown key");
  expect_config_error(with([](json& j) { j["search"]["hdx"] = {{"margin", 0.5}, {"max_margin", 0.1}}; }),
                      "/search/hdx/max_margin");
  expect_config_error(with([](json& j) { j["train"]["optimizer"] = "adam"; }),
                      "/train/optimizer: must be one of: sgd, adamw");
  expect_config_error(with([](json& j) { j["train"]["augment"] = {{"crop_pad", 9}}; }),
                      "/train/augment/crop_pad: must be an integer between 0 and 8");
  expect_config_error(with([](json& j) { j["device"] = "tpu"; }),
                      "/device: must be one of: auto, cpu, cuda");
  expect_config_error(with([](json& j) { j["dataset"]["search_train"] = 59000; j["dataset"]["search_val"] = 2000; }),
                      "/dataset/search_val: search_train + search_val must be at most the 60000");
  expect_config_error(with([](json& j) { j["dataset"] = {{"name", "cifar10"}}; }),
                      "/dataset/path: missing required key; cifar10 needs");
  expect_config_error(with([](json& j) {
                        j["hardware"]["pe_rows"] = {2, 4, 8, 16, 32, 64};
                        j["hardware"]["pe_cols"] = {2, 4, 8, 16, 32, 64};
                        j["hardware"]["buffers_kib"]["ifmap"] = {1, 2, 4, 8, 16, 32};
                        j["hardware"]["buffers_kib"]["weight"] = {1, 2, 4, 8, 16, 32};
                      }),
                      "/hardware: the hardware space has 5184 points");
}

// The tables are the cost model: a design's cost from them equals network_cost on the
// derived network and accelerator, for random designs on both dataflows.
TEST(Space, TablesEqualTheCostModel) {
  const Spec s = spec_from_json(small_spec());
  const Supernet n = build_supernet(s);
  ASSERT_EQ(n.slots.size(), 3u);
  EXPECT_EQ(n.slots[0].cands.size(), 6u);  // 4 MBConv, 2 fused; stride 2: no skip
  EXPECT_EQ(n.slots[1].cands.size(), 7u);  // shape kept: skip offered
  EXPECT_EQ(n.slots[1].cands[5].label(), "fu3e2");
  {
    // A fused candidate is a full k x k conv to in_c * e with ReLU, then the linear 1x1
    // projection, then the residual add.
    const Network fu = derive_network(n, {0, 5, 0}, "fused");
    const Layer& c = fu.layers[find_layer(fu, "s0.b1.conv")];
    EXPECT_EQ(c.groups, 1);
    EXPECT_EQ(c.kh, 3);
    EXPECT_EQ(c.out_c, 2 * n.slots[1].in_c);
    EXPECT_TRUE(c.relu);
    const Layer& pr = fu.layers[find_layer(fu, "s0.b1.project")];
    EXPECT_FALSE(pr.relu);
    EXPECT_EQ(pr.out_c, n.slots[1].out_c);
    EXPECT_EQ(fu.layers[find_layer(fu, "s0.b1.add")].op, Op::Add);
  }
  const HwSpace hw = build_hw_space(s.hardware);
  EXPECT_EQ(hw.points, 24);
  const CostTables t = fill_tables(n, hw, default_tech(), {}, 2);
  std::mt19937_64 rng(5);
  int checked = 0;
  for (int i = 0; i < 200; ++i) {
    std::vector<int> choice;
    for (const Slot& sl : n.slots) choice.push_back(static_cast<int>(rng() % sl.cands.size()));
    const long long p = static_cast<long long>(rng() % static_cast<uint64_t>(hw.points));
    EXPECT_EQ(hw.encode(hw.decode(p)), p);
    const Network net = derive_network(n, choice, "d");
    const Accelerator a = hw.accel(p);
    const DesignCost c = design_cost(t, choice, p);
    NetworkCost nc;
    bool maps = true;
    try {
      nc = network_cost(net, a);
    } catch (const MappingError&) {
      maps = false;
    }
    ASSERT_EQ(c.mappable, maps) << describe_choice(n, choice) << " on point " << p;
    if (!maps) continue;
    ++checked;
    EXPECT_NEAR(c.latency_ms, nc.latency_us * 1e-3, 1e-12 * nc.latency_us);
    EXPECT_NEAR(c.energy_uj, nc.energy_uj, 1e-9 * nc.energy_uj);
    EXPECT_DOUBLE_EQ(c.area_mm2, nc.area_mm2);
    // Host operations of the derived network: residual adds and the pooling.
    bool has_pool = false;
    for (const Layer& l : net.layers) has_pool |= l.op == Op::AvgPool;
    EXPECT_TRUE(has_pool);
  }
  EXPECT_GT(checked, 150);
}

// Expected latency, energy, area and EDP from the contractions equal the enumeration of every
// discrete design weighted by its probability.
TEST(HwCost, ExpectationEqualsBruteForce) {
  json j = small_spec();
  j["hardware"]["pe_cols"] = {4, 8};  // 16 points x 6*7*7 networks = 4704 designs
  const Spec s = spec_from_json(j);
  const Supernet n = build_supernet(s);
  const HwSpace hw = build_hw_space(s.hardware);
  const CostTables t = fill_tables(n, hw, default_tech());
  const ExactCost exact(t, hw);
  std::mt19937 rng(11);
  for (int trial = 0; trial < 5; ++trial) {
    std::vector<std::size_t> ops_sizes, hw_sizes;
    for (const Slot& sl : n.slots) ops_sizes.push_back(sl.cands.size());
    for (const HwDim& d : hw.dims) hw_sizes.push_back(d.labels.size());
    Distributions d{random_probs(ops_sizes, rng), random_probs(hw_sizes, rng)};
    const HwMetrics m = exact(d);
    double el = 0, ee = 0, ea = 0, eedp = 0, total_p = 0;
    std::vector<int> c(n.slots.size(), 0);
    for (;;) {
      for (long long p = 0; p < hw.points; ++p) {
        double prob = 1;
        for (std::size_t s2 = 0; s2 < c.size(); ++s2) prob *= d.ops[s2][c[s2]].item<double>();
        const std::vector<int> idx = hw.decode(p);
        for (std::size_t k = 0; k < idx.size(); ++k) prob *= d.hw[k][idx[k]].item<double>();
        const DesignCost dc = design_cost(t, c, p);
        ASSERT_TRUE(dc.mappable);  // this space maps everywhere
        el += prob * dc.latency_ms;
        ee += prob * dc.energy_uj;
        ea += prob * dc.area_mm2;
        eedp += prob * dc.latency_ms * dc.energy_uj;
        total_p += prob;
      }
      std::size_t k = 0;
      while (k < c.size() && ++c[k] == static_cast<int>(n.slots[k].cands.size())) c[k++] = 0;
      if (k == c.size()) break;
    }
    EXPECT_NEAR(total_p, 1.0, 1e-9);
    EXPECT_NEAR(m.latency_ms.item<double>(), el, 1e-9 * el);
    EXPECT_NEAR(m.energy_uj.item<double>(), ee, 1e-9 * ee);
    EXPECT_NEAR(m.area_mm2.item<double>(), ea, 1e-9 * ea);
    EXPECT_NEAR(m.edp.item<double>(), eedp, 1e-9 * eedp);
  }
}

// The projected direction meets every margin, stays closest to u (KKT), and is u itself when
// u already meets them.
TEST(Project, MeetsMarginsAndIsClosest) {
  std::mt19937 rng(7);
  std::normal_distribution<double> nd(0, 1);
  for (int trial = 0; trial < 300; ++trial) {
    const std::size_t dim = 3 + trial % 8, k = 1 + trial % 4;
    std::vector<double> u(dim);
    for (double& x : u) x = nd(rng);
    std::vector<std::vector<double>> g(k, std::vector<double>(dim));
    std::vector<double> m(k);
    for (std::size_t i = 0; i < k; ++i) {
      for (double& x : g[i]) x = nd(rng);
      m[i] = std::fabs(nd(rng));
    }
    const std::vector<double> d = project_direction(u, g, m);
    auto dot = [](const std::vector<double>& a, const std::vector<double>& b) {
      double s = 0;
      for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
      return s;
    };
    for (std::size_t i = 0; i < k; ++i) EXPECT_GE(dot(g[i], d), m[i] - 1e-9) << trial;
    // No feasible point near d is closer to u: try small moves that keep the margins.
    double dist = 0;
    for (std::size_t j = 0; j < dim; ++j) dist += (d[j] - u[j]) * (d[j] - u[j]);
    for (int probe = 0; probe < 50; ++probe) {
      std::vector<double> e = d;
      for (double& x : e) x += 0.05 * nd(rng);
      bool ok = true;
      for (std::size_t i = 0; i < k; ++i) ok &= dot(g[i], e) >= m[i];
      if (!ok) continue;
      double de = 0;
      for (std::size_t j = 0; j < dim; ++j) de += (e[j] - u[j]) * (e[j] - u[j]);
      EXPECT_GE(de, dist - 1e-9) << trial;
    }
  }
  EXPECT_EQ(project_direction({1, 0}, {{1, 0}}, {0.5}), std::vector<double>({1, 0}));
}

// The HDX step: while every constraint is met it is the objective's own step and the margins
// rest at their start; while one is violated the step lowers it by at least the margin, and
// the margin grows per step up to its bound, not beyond.
TEST(Project, HdxStepIsPlainWhileMetAndBounded) {
  const HdxSchedule sch{0.05, 1.5, 0.3};
  const std::vector<double> u = {1.0, -2.0, 0.5};
  const std::vector<std::vector<double>> g = {{-1.0, 0.0, 0.0}, {0.0, 0.0, 1.0}};
  std::vector<double> margins = {0.2, 0.2};
  EXPECT_EQ(hdx_direction(u, {false, false}, g, margins, sch), u);
  EXPECT_EQ(margins, (std::vector<double>{0.05, 0.05}));
  const double un = std::sqrt(1.0 + 4.0 + 0.25);
  for (int step = 0; step < 20; ++step) {
    const double m0 = margins[0];
    const std::vector<double> d = hdx_direction(u, {true, false}, g, margins, sch);
    EXPECT_GE(-d[0], m0 * un - 1e-12) << step;          // g_0 . d >= margin |u| |g_0|
    EXPECT_EQ(d[1], u[1]);                                 // untouched coordinates keep u
    EXPECT_LE(margins[0], sch.max_margin + 1e-15) << step;
    EXPECT_EQ(margins[1], sch.start);
  }
  EXPECT_DOUBLE_EQ(margins[0], sch.max_margin);
}

// Paths are drawn from softmax(alpha / tau), the distribution the expected cost uses.
TEST(Modules, GumbelSamplesAtTheCostTemperature) {
  torch::manual_seed(2);
  const torch::Tensor a = torch::tensor({0.0, 1.0, 2.0});
  for (double tau : {0.5, 2.0}) {
    const torch::Tensor want = torch::softmax(a / tau, 0);
    torch::Tensor count = torch::zeros({3});
    const int n = 20000;
    for (int i = 0; i < n; ++i) count += gumbel_sample(a, tau);
    for (int k = 0; k < 3; ++k)
      EXPECT_NEAR(count[k].item<double>() / n, want[k].item<double>(), 0.012) << tau << " " << k;
  }
}

// The HDX rule on the real expected cost: with latency and area both violated, a small step
// along the projected direction lowers both, even where the objective alone would raise one.
TEST(Project, StepReducesEveryViolatedMetric) {
  const Spec s = spec_from_json(small_spec());
  const Supernet n = build_supernet(s);
  const HwSpace hw = build_hw_space(s.hardware);
  const CostTables t = fill_tables(n, hw, default_tech());
  const ExactCost exact(t, hw);
  std::mt19937 rng(3);
  std::normal_distribution<double> nd(0, 1);
  int raised_by_objective = 0;
  for (int trial = 0; trial < 40; ++trial) {
    std::vector<torch::Tensor> logits;
    for (const Slot& sl : n.slots)
      logits.push_back(torch::randn({static_cast<int64_t>(sl.cands.size())}, torch::kFloat64).set_requires_grad(true));
    for (const HwDim& d : hw.dims)
      logits.push_back(torch::randn({static_cast<int64_t>(d.labels.size())}, torch::kFloat64).set_requires_grad(true));
    auto metrics = [&](const std::vector<torch::Tensor>& l) {
      Distributions d;
      for (std::size_t i = 0; i < l.size(); ++i)
        (i < n.slots.size() ? d.ops : d.hw).push_back(torch::softmax(l[i], 0));
      return exact(d);
    };
    auto flat = [&](const torch::Tensor& y) {
      const auto gs = torch::autograd::grad({y}, logits, {}, true, false, true);
      std::vector<double> v;
      for (std::size_t k = 0; k < gs.size(); ++k)  // unused logits (area: the slots) get 0
        for (int64_t i = 0; i < logits[k].numel(); ++i)
          v.push_back(gs[k].defined() ? gs[k][i].item<double>() : 0.0);
      return v;
    };
    const HwMetrics m = metrics(logits);
    // An objective that wants energy down and does not care about latency or area.
    const std::vector<double> u = flat(m.energy_uj / m.energy_uj.detach());
    const std::vector<double> gl = flat(m.latency_ms), ga = flat(m.area_mm2);
    auto norm = [](const std::vector<double>& v) {
      double s2 = 0;
      for (double x : v) s2 += x * x;
      return std::sqrt(s2);
    };
    const double nu = norm(u);
    const std::vector<double> d =
        project_direction(u, {gl, ga}, {0.1 * nu * norm(gl), 0.1 * nu * norm(ga)});
    // Directional derivatives by central differences (exact to second order): moving along
    // -d lowers latency and area; moving along -u raises one of them in some trials.
    auto slope = [&](const std::vector<double>& dir, int metric) {
      const double h = 1e-5 / std::max(1e-12, norm(dir));
      auto at = [&](double sgn) {
        std::vector<torch::Tensor> l2;
        std::size_t k = 0;
        for (const auto& l : logits) {
          auto c = l.detach().clone();
          for (int64_t i = 0; i < c.numel(); ++i) c[i] -= sgn * h * dir[k++];
          l2.push_back(c);
        }
        torch::NoGradGuard ng;
        const HwMetrics mm = metrics(l2);
        return (metric == 0 ? mm.latency_ms : mm.area_mm2).item<double>();
      };
      return (at(1) - at(-1)) / (2 * h);  // change per unit step along -dir
    };
    EXPECT_LT(slope(d, 0), 0) << trial;
    EXPECT_LT(slope(d, 1), 0) << trial;
    raised_by_objective += slope(u, 0) > 0 || slope(u, 1) > 0;
  }
  EXPECT_GT(raised_by_objective, 0);  // the rule mattered in some trials
}

// The evaluator's error is measured on held-out designs, and the MLP learns the tables.
TEST(HwCost, EvaluatorErrorIsMeasured) {
  const Spec s = spec_from_json(small_spec());
  const Supernet n = build_supernet(s);
  const HwSpace hw = build_hw_space(s.hardware);
  const CostTables t = fill_tables(n, hw, default_tech());
  Evaluator ev(n, hw, 64);
  torch::manual_seed(4);
  const double before = torch::rand({1}).item<double>();
  torch::manual_seed(4);
  const EstimatorError e = ev.train(ExactCost(t, hw), 1500, 1500, 1);
  // Training draws from its own seed: LibTorch's global generator is left where it was.
  EXPECT_EQ(torch::rand({1}).item<double>(), before);
  EXPECT_EQ(e.samples, 300);
  for (int k = 0; k < 3; ++k) {
    EXPECT_GT(e.mape[k], 0.0);  // an MLP is not exact
    EXPECT_LT(e.mape[k], 25.0) << k;
    EXPECT_GT(e.spearman[k], 0.8) << k;
  }
  // Its prediction on a one-hot design is near the table value.
  const std::vector<Design> ds = random_designs(n, t, 20, 9);
  double worst = 0;
  for (const Design& d : ds) {
    const double want = design_cost(t, d.choice, d.point).latency_ms;
    worst = std::max(worst, std::fabs(ev(one_hot(n, hw, d)).latency_ms.item<double>() / want - 1));
  }
  EXPECT_LT(worst, 0.6);
  // And on soft mixtures like those the search queries, near the exact expectation.
  const ExactCost exact(t, hw);
  double worst_mix = 0;
  for (const Distributions& d : random_distributions(n, hw, 40, 77)) {
    const double want = exact(d).latency_ms.item<double>();
    worst_mix = std::max(worst_mix, std::fabs(ev(d).latency_ms.item<double>() / want - 1));
  }
  EXPECT_LT(worst_mix, 0.6);
  EXPECT_NEAR(spearman({1, 2, 3, 4}, {10, 20, 30, 40}), 1.0, 1e-12);
  EXPECT_NEAR(spearman({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0, 1e-12);
}

// On a synthetic task (class = stripe orientation x brightness), the network built from a derived
// network.json learns, and its exported weights are in hdx layout.
TEST(Modules, SyntheticTaskAndWeightLayout) {
  torch::manual_seed(1);
  const Spec s = spec_from_json(small_spec());
  const Supernet n = build_supernet(s);
  const Network net = derive_network(n, {1, 6, 0}, "synthetic");  // slot 1 skips
  NetModule m(net);
  const int64_t N = 256;
  auto y = torch::randint(0, 4, {N}, torch::kLong);
  auto x = 0.1 * torch::rand({N, 1, 28, 28});
  for (int64_t i = 0; i < N; ++i) {
    const int64_t q = y[i].item<int64_t>();
    const double level = q / 2 ? 0.9 : 0.45;
    if (q % 2) x[i].slice(2, 0, 28, 4) += level;  // vertical stripes
    else x[i].slice(1, 0, 28, 4) += level;        // horizontal stripes
  }
  torch::optim::Adam opt(m->parameters(), 3e-3);
  double first = 0, last = 0;
  for (int step = 0; step < 200; ++step) {
    opt.zero_grad();
    auto loss = torch::cross_entropy_loss(m->forward(x), y);
    loss.backward();
    opt.step();
    (step == 0 ? first : last) = loss.item<double>();
  }
  EXPECT_LT(last, 0.5 * first);
  EXPECT_GT(m->forward(x).argmax(1).eq(y).to(torch::kFloat).mean().item<double>(), 0.9);

  // The supernet runs every relaxation and gives the architecture logits a gradient.
  SuperNetModule sn(n);
  for (auto kind : {PathChoice::Gumbel, PathChoice::Softmax}) {
    PathChoice how;
    how.kind = kind;
    sn->zero_grad();
    auto loss = torch::cross_entropy_loss(sn->forward(x.slice(0, 0, 8), how), y.slice(0, 0, 8));
    loss.backward();
    for (const auto& a : sn->alphas) EXPECT_GT(a.grad().abs().sum().item<double>(), 0);
  }

  // The first layer's exported weight is [out][kh][kw][cin_g].
  const auto w = m->export_weights();
  ASSERT_EQ(w[0].first, "stem.weight");
  const Layer& stem = net.layers[0];
  EXPECT_EQ(w[0].second.sizes(), (std::vector<int64_t>{stem.out_c, stem.kh, stem.kw, stem.cin_g()}));
  EXPECT_EQ(w[1].first, "stem.bias");
  std::size_t convs = 0;
  for (const Layer& l : net.layers) convs += !l.host();
  EXPECT_EQ(w.size(), 2 * convs);
}

// With weight sharing every candidate of a kind uses a slice of one convolution per part: the
// leading channels and the central taps of the largest; batch normalization stays its own.
TEST(Modules, WeightSharingSlicesTheLargest) {
  torch::manual_seed(1);
  json j = small_spec();
  const Supernet plain_net = build_supernet(spec_from_json(j));
  j["supernet"]["weight_sharing"] = true;
  const Spec s = spec_from_json(j);
  EXPECT_TRUE(spec_to_json(s)["supernet"]["weight_sharing"].get<bool>());
  const Supernet n = build_supernet(s);
  SuperNetModule shared(n), plain(plain_net);
  std::map<std::string, torch::Tensor> p;
  for (const auto& kv : shared->named_parameters()) p[kv.key()] = kv.value();
  // Slot s0.b0: 4 -> 8 channels; MBConv k 3, 5 x e 1, 3; fused k 3 x e 1, 2.
  ASSERT_TRUE(p.count("s0_b0_mb_dw.weight"));
  EXPECT_EQ(p["s0_b0_mb_dw.weight"].sizes(), (std::vector<int64_t>{12, 1, 5, 5}));
  EXPECT_EQ(p["s0_b0_mb_expand.weight"].sizes(), (std::vector<int64_t>{12, 4, 1, 1}));
  EXPECT_EQ(p["s0_b0_mb_project.weight"].sizes(), (std::vector<int64_t>{8, 12, 1, 1}));
  EXPECT_EQ(p["s0_b0_fu_conv.weight"].sizes(), (std::vector<int64_t>{8, 4, 3, 3}));
  EXPECT_FALSE(p.count("s0_b0_mb3e1_dw.weight"));
  EXPECT_TRUE(p.count("s0_b0_mb3e1_dw_bn.weight"));
  int64_t n_shared = 0, n_plain = 0;
  for (const auto& t : shared->weights()) n_shared += t.numel();
  for (const auto& t : plain->weights()) n_plain += t.numel();
  EXPECT_LT(n_shared, n_plain);

  // Every candidate runs; mb3e1 trains only the first 4 channels and central 3x3 taps of the
  // shared depthwise weight, and no expansion.
  const auto x = torch::rand({4, 1, 28, 28});
  PathChoice how;
  for (std::size_t c = 0; c < n.slots[0].cands.size(); ++c) {
    how.fixed = {static_cast<int>(c), 0, 0};
    EXPECT_EQ(shared->forward(x, how).sizes(), (std::vector<int64_t>{4, 10}));
  }
  std::size_t mb3e1 = 0;
  while (n.slots[0].cands[mb3e1].label() != "mb3e1") ++mb3e1;
  how.fixed = {static_cast<int>(mb3e1), 0, 0};
  shared->zero_grad();
  shared->forward(x, how).sum().backward();
  const torch::Tensor g = p["s0_b0_mb_dw.weight"].grad();
  const torch::Tensor used = g.slice(0, 0, 4).slice(2, 1, 4).slice(3, 1, 4);
  EXPECT_GT(used.abs().sum().item<double>(), 0);
  torch::Tensor rest = g.clone();
  rest.slice(0, 0, 4).slice(2, 1, 4).slice(3, 1, 4).zero_();
  EXPECT_EQ(rest.abs().sum().item<double>(), 0);
  EXPECT_FALSE(p["s0_b0_mb_expand.weight"].grad().defined() &&
               p["s0_b0_mb_expand.weight"].grad().abs().sum().item<double>() > 0);
}

TEST(Data, FashionMnistSliceAndMissingFolder) {
  const Images im = load_images("fashion-mnist", "/usr/share/datasets/fashion-mnist", false, 100);
  EXPECT_EQ(im.n, 100);
  EXPECT_EQ(im.c, 1);
  EXPECT_EQ(im.h, 28);
  EXPECT_EQ(im.pixels.size(), 100u * 28 * 28);
  EXPECT_EQ(im.labels[0], 9);  // the first test image is an ankle boot
  try {
    load_images("fashion-mnist", "/nonexistent", true, 10);
    ADD_FAILURE();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/train-images-idx3-ubyte.gz: data set file "
                                         "not found; install Debian's dataset-fashion-mnist"),
              std::string::npos) << e.what();
  }
}

// CIFAR-10's binary batches, written here (no CIFAR data ships with Debian): records are read
// in order across the five training batches, and malformed files get a clear error.
TEST(Data, Cifar10SyntheticBatches) {
  const fs::path dir = fs::path(HDX_BINARY_DIR) / "test-tmp" / "cifar";
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto write_batch = [&](const std::string& name, int records, int first_label) {
    std::ofstream f(dir / name, std::ios::binary);
    for (int r = 0; r < records; ++r) {
      f.put(static_cast<char>((first_label + r) % 10));
      for (int i = 0; i < 3072; ++i) f.put(static_cast<char>((r * 7 + i) & 0xff));
    }
  };
  for (int b = 1; b <= 5; ++b) write_batch(fmt::format("data_batch_{}.bin", b), 2, 2 * b);
  write_batch("test_batch.bin", 3, 5);
  const Images tr = load_images("cifar10", dir.string(), true, 0);
  EXPECT_EQ(tr.n, 10);
  EXPECT_EQ(tr.c, 3);
  EXPECT_EQ(tr.h, 32);
  EXPECT_EQ(tr.w, 32);
  EXPECT_EQ(tr.pixels.size(), 10u * 3072);
  EXPECT_EQ(tr.labels, (std::vector<uint8_t>{2, 3, 4, 5, 6, 7, 8, 9, 0, 1}));
  EXPECT_EQ(tr.pixels[3072 + 5], 7 + 5);  // second record, red plane, pixel 5
  const Images lim = load_images("cifar10", dir.string(), true, 3);  // stops inside batch 2
  EXPECT_EQ(lim.n, 3);
  EXPECT_EQ(lim.labels, (std::vector<uint8_t>{2, 3, 4}));
  const Images te = load_images("cifar10", dir.string(), false, 0);
  EXPECT_EQ(te.n, 3);
  EXPECT_EQ(te.labels[0], 5);

  auto expect_io = [&](const std::string& want) {
    try {
      load_images("cifar10", dir.string(), false, 0);
      ADD_FAILURE() << "no error; wanted " << want;
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
    }
  };
  std::ofstream(dir / "test_batch.bin", std::ios::binary) << std::string(3000, '\0');
  expect_io("test_batch.bin: 3000 bytes is not a whole number of 3073-byte CIFAR-10 records");
  std::string rec(3073, '\0');
  rec[0] = 12;
  std::ofstream(dir / "test_batch.bin", std::ios::binary) << rec;
  expect_io("test_batch.bin: record 0 has label 12, not 0..9");
  fs::remove(dir / "test_batch.bin");
  expect_io("test_batch.bin: CIFAR-10 batch not found");
  fs::remove_all(dir);
}

// hdx search end to end on a slice of Fashion-MNIST: the outputs load in hdx cost, the
// constraint is met by the exact model, the same seed gives the same result, and an
// impossible budget exits non-zero and writes no network.json.
TEST(SearchCli, SliceOfFashionMnist) {
  const fs::path dir = fs::path(HDX_BINARY_DIR) / "test-tmp" / "search";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string spec = (dir / "spec.json").string();
  json good = small_spec();
  good["dataset"]["train"] = 3000;
  good["train"]["epochs"] = 2;
  std::ofstream(spec) << good.dump();
  std::string out;
  const std::string o1 = (dir / "a").string(), o2 = (dir / "b").string();
  ASSERT_EQ(run_command({kHdx, "search", "--spec", spec, "--out", o1}, &out), 0) << out;
  EXPECT_NE(out.find("all constraints met by the exact cost model"), std::string::npos) << out;
  for (const char* f : {"network.json", "accelerator.json", "weights.npz", "search_report.json",
                        "history.csv", "trajectory.svg", "manifest.json"})
    EXPECT_TRUE(fs::exists(fs::path(o1) / f)) << f;
  const json rep = json::parse(read_file(o1 + "/search_report.json"));
  EXPECT_EQ(rep["status"], "feasible");
  EXPECT_TRUE(rep["constraints"][0]["met"].get<bool>());
  EXPECT_LE(rep["constraints"][0]["value"].get<double>(), 1.0);
  EXPECT_GT(rep["accuracy"]["test_accuracy"].get<double>(), 0.15);  // chance is 0.1
  EXPECT_EQ(rep["estimator_error"]["latency"]["mape_percent"].get<double>(), 0.0);
  // The outputs are what hdx cost reads, and it agrees with the report.
  ASSERT_EQ(run_command({kHdx, "cost", "--network", o1 + "/network.json", "--accel",
                         o1 + "/accelerator.json", "--json", o1 + "/cost.json"}, &out), 0) << out;
  const json cost = json::parse(read_file(o1 + "/cost.json"));
  EXPECT_NEAR(cost["total"]["latency_us"].get<double>() * 1e-3,
              rep["design"]["latency_ms"].get<double>(), 1e-9);
  // The weights fit the network.
  const Network net = load_network(o1 + "/network.json");
  const auto w = read_npz(o1 + "/weights.npz");
  std::size_t convs = 0;
  for (const Layer& l : net.layers) convs += !l.host();
  EXPECT_EQ(w.size(), 2 * convs);
  // The same seed, the same result.
  ASSERT_EQ(run_command({kHdx, "search", "--spec", spec, "--out", o2}, &out), 0) << out;
  EXPECT_EQ(read_file(o1 + "/network.json"), read_file(o2 + "/network.json"));
  EXPECT_EQ(read_file(o1 + "/accelerator.json"), read_file(o2 + "/accelerator.json"));
  EXPECT_EQ(read_file(o1 + "/weights.npz"), read_file(o2 + "/weights.npz"));

  // A latency no design reaches: exit 1, a plain message, the closest design marked as such.
  json bad = small_spec();
  bad["train"]["epochs"] = 0;
  bad["constraints"][0]["max"] = 1e-6;
  bad["search"]["max_extra_epochs"] = 1;
  std::ofstream(spec) << bad.dump();
  const std::string o3 = (dir / "c").string();
  EXPECT_EQ(run_command({kHdx, "search", "--spec", spec, "--out", o3}, &out), 1) << out;
  EXPECT_NE(out.find("[search E030] no design met every constraint within the budget"),
            std::string::npos) << out;
  EXPECT_FALSE(fs::exists(fs::path(o3) / "network.json"));
  EXPECT_FALSE(fs::exists(fs::path(o3) / "weights.npz"));
  EXPECT_TRUE(fs::exists(fs::path(o3) / "network.infeasible.json"));
  const json rep3 = json::parse(read_file(o3 + "/search_report.json"));
  EXPECT_EQ(rep3["status"], "infeasible");
  EXPECT_FALSE(rep3["constraints"][0]["met"].get<bool>());
  EXPECT_EQ(rep3["search"]["epochs_run"], 3);  // 2 planned + 1 extra
  // The closest design comes from an epoch with architecture steps, never the warm-up's
  // unsearched one (epoch 1 here).
  EXPECT_GE(rep3["design"]["from_epoch"].get<int>(), 2);

  // `none` is judged on its final argmax: no extra epochs, no fallback. With
  // train.infeasible the missing design is trained and tested all the same (for studies),
  // and the run stays a failure without weights.
  bad["constraint_mode"] = "none";
  bad["train"]["epochs"] = 1;
  bad["train"]["infeasible"] = true;
  std::ofstream(spec) << bad.dump();
  const std::string o4 = (dir / "d").string();
  EXPECT_EQ(run_command({kHdx, "search", "--spec", spec, "--out", o4}, &out), 1) << out;
  const json rep4 = json::parse(read_file(o4 + "/search_report.json"));
  EXPECT_EQ(rep4["status"], "infeasible");
  EXPECT_EQ(rep4["search"]["epochs_run"], 2);
  EXPECT_EQ(rep4["design"]["from_epoch"], 2);
  ASSERT_FALSE(rep4["accuracy"].is_null());
  EXPECT_EQ(rep4["accuracy"]["split"], "test");
  EXPECT_FALSE(rep4["accuracy"]["design_feasible"].get<bool>());
  EXPECT_GT(rep4["accuracy"]["test_accuracy"].get<double>(), 0.0);
  EXPECT_FALSE(fs::exists(fs::path(o4) / "weights.npz"));
  EXPECT_FALSE(fs::exists(fs::path(o4) / "network.json"));
  fs::remove_all(dir);
}

// The extra epochs end at the first step that leaves the discrete design inside every
// constraint (the design can cross a limit back and forth from step to step: bench/RESULTS.md
// section 5, the area case). On the study spec with seed 2 and an area limit of 0.62 mm2 the
// planned epochs end on ws 16x4 (0.633 mm2); the extra epoch reaches ws 8x4 (0.540 mm2) and
// stops there, before its last batch.
TEST(SearchCli, ExtraEpochsEndInside) {
  const fs::path dir = fs::path(HDX_BINARY_DIR) / "test-tmp" / "search-extra";
  fs::remove_all(dir);
  fs::create_directories(dir);
  json j = json::parse(read_file(std::string(HDX_SOURCE_DIR) + "/bench/search/study_spec.json"));
  j["seed"] = 2;
  j["constraints"] = json::array({{{"metric", "area_mm2"}, {"max", 0.62}}});
  j["train"]["epochs"] = 0;
  const std::string spec = (dir / "spec.json").string(), o = (dir / "o").string();
  std::ofstream(spec) << j.dump();
  std::string out;
  ASSERT_EQ(run_command({kHdx, "search", "--spec", spec, "--out", o}, &out), 0) << out;
  const json rep = json::parse(read_file(o + "/search_report.json"));
  EXPECT_EQ(rep["status"], "feasible");
  EXPECT_EQ(rep["search"]["epochs_run"], 5);  // 4 planned + 1 extra
  // 3 planned epochs with architecture steps of 32 batches each, then part of the extra one.
  const int steps = rep["search"]["architecture_steps"].get<int>();
  EXPECT_GT(steps, 3 * 32);
  EXPECT_LT(steps, 4 * 32);
  EXPECT_LE(rep["design"]["area_mm2"].get<double>(), 0.62);
  fs::remove_all(dir);
}

// With a finish that picks the hardware, a network that some point runs inside the limits
// needs no extra epochs: here the design of the last planned epoch misses the latency limit
// on its argmax point, and with finish "argmax" the search goes on into the extra epochs,
// while with "hardware" it stops and the finish takes a point that meets the limit for the
// same network.
TEST(SearchCli, HardwareFinishNeedsNoExtraEpochs) {
  const fs::path dir = fs::path(HDX_BINARY_DIR) / "test-tmp" / "search-no-extra";
  fs::remove_all(dir);
  fs::create_directories(dir);
  json j = json::parse(
      read_file(std::string(HDX_SOURCE_DIR) + "/bench/search/study_spec_area_grid.json"));
  j["seed"] = 4;
  j["constraint_mode"] = "hdx";
  j["constraints"] = json::array({{{"metric", "latency_ms"}, {"max", 0.42}}});
  j["train"]["epochs"] = 0;
  std::string out;
  auto search = [&](const std::string& finish) {
    j["search"]["finish"] = finish;
    const std::string spec = (dir / (finish + ".json")).string(), o = (dir / finish).string();
    std::ofstream(spec) << j.dump();
    EXPECT_EQ(run_command({kHdx, "search", "--spec", spec, "--out", o}, &out), 0) << out;
    return json::parse(read_file(o + "/search_report.json"));
  };
  const json arg = search("argmax"), hw = search("hardware");
  // The log says why the search stops at the planned epochs.
  EXPECT_NE(out.find("misses a constraint on this point, meets them on another"),
            std::string::npos) << out;
  EXPECT_GT(arg["search"]["epochs_run"].get<int>(), 4);
  EXPECT_EQ(hw["search"]["epochs_run"], 4);
  EXPECT_EQ(hw["status"], "feasible");
  EXPECT_EQ(hw["design"]["from_epoch"], 4);
  EXPECT_LE(hw["design"]["latency_ms"].get<double>(), 0.42);
  EXPECT_NE(hw["search"]["finish"]["searched_point"], hw["search"]["finish"]["point"]);
  fs::remove_all(dir);
}

// The finish (docs/search.md section 6). "hardware" keeps the searched network and takes the
// point that meets the constraint with the smallest objective, checked here against the cost
// model on every point; "greedy" also changes slots while the supernet's search_val
// cross-entropy falls, and its hardware is the best for its own network; a design that misses
// its limit is first walked slot by slot to one that meets it.
TEST(SearchCli, FinishPicksTheHardwareExactly) {
  const fs::path dir = fs::path(HDX_BINARY_DIR) / "test-tmp" / "search-finish";
  fs::remove_all(dir);
  fs::create_directories(dir);
  json base = small_spec();
  base["constraints"][0]["max"] = 0.05;
  base["train"]["epochs"] = 0;
  auto search = [&](const std::string& name, const std::string& finish, int want = 0,
                    const std::string& objective = "edp") {
    json j = base;
    j["search"]["finish"] = finish;
    j["objective"]["metric"] = objective;
    const std::string spec = (dir / (name + ".json")).string(), o = (dir / name).string();
    std::ofstream(spec) << j.dump();
    std::string out;
    EXPECT_EQ(run_command({kHdx, "search", "--spec", spec, "--out", o}, &out), want) << out;
    return json::parse(read_file(o + "/search_report.json"));
  };
  const Spec s = spec_from_json(base);
  const Supernet n = build_supernet(s);
  const HwSpace hw = build_hw_space(s.hardware);
  // The smallest EDP (or area) over every point that meets the limit, for the network of a
  // report.
  auto best = [&](const json& rep, bool area = false) {
    std::vector<int> choice;
    std::istringstream in(rep["design"]["choice"].get<std::string>());
    for (std::string tok; in >> tok;) {
      const Slot& sl = n.slots[choice.size()];
      const std::string lab = tok.substr(tok.find('=') + 1);
      int c = 0;
      while (sl.cands[static_cast<std::size_t>(c)].label() != lab) ++c;
      choice.push_back(c);
    }
    const Network net = derive_network(n, choice, "d");
    double b = INFINITY;
    for (long long p = 0; p < hw.points; ++p) try {
        const NetworkCost c = network_cost(net, hw.accel(p));
        if (c.latency_us * 1e-3 <= 0.05)
          b = std::min(b, area ? c.area_mm2 : c.latency_us * 1e-3 * c.energy_uj);
      } catch (const MappingError&) {
      }
    return b;
  };
  const json plain = search("a", "argmax"), exact = search("h", "hardware"),
             greedy = search("g", "greedy"), small = search("s", "hardware", 0, "area");
  EXPECT_TRUE(plain["search"]["finish"].is_null());
  EXPECT_EQ(exact["design"]["choice"], plain["design"]["choice"]);
  for (const json* r : {&exact, &greedy}) {
    EXPECT_EQ((*r)["status"], "feasible");
    EXPECT_NEAR((*r)["objective"]["value"].get<double>(), best(*r), 1e-9 * best(*r));
  }
  // With area as the objective, the smallest accelerator that runs the network in time.
  EXPECT_EQ(small["objective"]["metric"], "area");
  EXPECT_EQ(small["status"], "feasible");
  EXPECT_DOUBLE_EQ(small["objective"]["value"].get<double>(), small["design"]["area_mm2"].get<double>());
  EXPECT_NEAR(small["objective"]["value"].get<double>(), best(small, true), 1e-9 * best(small, true));
  EXPECT_LE(exact["objective"]["value"].get<double>(), plain["objective"]["value"].get<double>());
  const json& f = greedy["search"]["finish"];
  EXPECT_EQ(f["kind"], "greedy");
  const double ce0 = f["search_val_cross_entropy"]["searched"].get<double>(),
               ce1 = f["search_val_cross_entropy"]["chosen"].get<double>();
  EXPECT_EQ(f["network_changes"].get<int>() > 0, ce1 < ce0);
  EXPECT_LE(ce1, ce0);

  // A limit just above the fastest design of the space, no extra epochs: the searched design
  // misses it, and the greedy finish walks slot by slot to a design that meets it.
  const CostTables tab = fill_tables(n, hw, default_tech(), {}, 2);
  double fastest = INFINITY;
  std::vector<int> choice(n.slots.size(), 0);
  for (;;) {
    for (long long p = 0; p < hw.points; ++p) {
      const DesignCost c = design_cost(tab, choice, p);
      if (c.mappable) fastest = std::min(fastest, c.latency_ms);
    }
    std::size_t k = 0;
    while (k < choice.size() && ++choice[k] == static_cast<int>(n.slots[k].cands.size()))
      choice[k++] = 0;
    if (k == choice.size()) break;
  }
  base["constraints"][0]["max"] = 1.02 * fastest;
  base["search"]["max_extra_epochs"] = 0;
  EXPECT_EQ(search("a2", "argmax", 1)["status"], "infeasible");
  const json repaired = search("g2", "greedy");
  EXPECT_EQ(repaired["status"], "feasible");
  EXPECT_LE(repaired["design"]["latency_ms"].get<double>(), 1.02 * fastest);
  EXPECT_GT(repaired["search"]["finish"]["network_changes"].get<int>(), 0);
  fs::remove_all(dir);
}

// The network logits see the hardware objective only through objective.network_weight
// (default 0): while no constraint binds, hdx is then the accuracy-led search of `none`
// (same seed, same design), and a large network weight gives a cheaper design.
TEST(SearchCli, NetworkWeightLeavesALooseBudgetToAccuracy) {
  const fs::path dir = fs::path(HDX_BINARY_DIR) / "test-tmp" / "search-netweight";
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto search = [&](const std::string& name, const std::string& mode, double network_weight) {
    json j = small_spec();
    j["constraints"][0]["max"] = 1000.0;
    j["constraint_mode"] = mode;
    j["objective"]["network_weight"] = network_weight;
    j["train"]["epochs"] = 0;
    const std::string spec = (dir / (name + ".json")).string(), o = (dir / name).string();
    std::ofstream(spec) << j.dump();
    std::string out;
    EXPECT_EQ(run_command({kHdx, "search", "--spec", spec, "--out", o}, &out), 0) << out;
    return json::parse(read_file(o + "/search_report.json"));
  };
  const json hdx0 = search("hdx0", "hdx", 0), none0 = search("none0", "none", 0),
             hdx_w = search("hdxw", "hdx", 100);
  EXPECT_EQ(hdx0["objective"]["network_weight"], 0.0);
  EXPECT_EQ(hdx0["design"]["choice"], none0["design"]["choice"]);
  EXPECT_EQ(hdx0["design"]["accelerator"], none0["design"]["accelerator"]);
  EXPECT_NE(hdx_w["design"]["choice"], hdx0["design"]["choice"]);
  EXPECT_LT(hdx_w["objective"]["value"].get<double>(), hdx0["objective"]["value"].get<double>());
  fs::remove_all(dir);
}

// Every accuracy names its split: the search's epochs on search_val (which the supernet's
// weights never train on), the final training's epochs on its own batches, the result on
// the test split. A wall-clock limit is an explicit, reported stop. A GPU asked for where
// there is none is a one-line configuration error before any work.
TEST(SearchCli, SplitsTimeLimitAndDevice) {
  const fs::path dir = fs::path(HDX_BINARY_DIR) / "test-tmp" / "search-splits";
  fs::remove_all(dir);
  fs::create_directories(dir);
  json spec = small_spec();
  std::ofstream(dir / "spec.json") << spec.dump();
  std::string out;
  const std::string o = (dir / "a").string();
  ASSERT_EQ(run_command({kHdx, "search", "--spec", (dir / "spec.json").string(), "--out", o},
                        &out), 0) << out;
  const json rep = json::parse(read_file(o + "/search_report.json"));
  EXPECT_EQ(rep["accuracy"]["split"], "test");
  EXPECT_TRUE(rep["search"]["stopped_by"].is_null());
  EXPECT_EQ(rep["search"]["warmup_epochs"], 1);
  const std::string csv = read_file(o + "/history.csv");
  EXPECT_NE(csv.find(",accuracy,accuracy_split,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",warmup,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",search_val,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",train,,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",train_batches,"), std::string::npos) << csv;

  spec["search"]["epochs"] = 50;
  spec["search"]["time_minutes"] = 0.0001;  // 6 ms: stops long before the 50 epochs
  spec["train"]["epochs"] = 0;
  std::ofstream(dir / "spec.json") << spec.dump();
  const std::string o2 = (dir / "b").string();
  run_command({kHdx, "search", "--spec", (dir / "spec.json").string(), "--out", o2}, &out);
  EXPECT_NE(out.find("search stopped by its wall-clock limit (search.time_minutes"),
            std::string::npos) << out;
  const json rep2 = json::parse(read_file(o2 + "/search_report.json"));
  EXPECT_EQ(rep2["search"]["stopped_by"], "time_minutes");
  EXPECT_LT(rep2["search"]["epochs_run"].get<int>(), 50);

  if (!torch::cuda::is_available()) {
    const std::string o3 = (dir / "c").string();
    EXPECT_EQ(run_command({kHdx, "search", "--spec", (dir / "spec.json").string(), "--out", o3,
                           "--device", "cuda"}, &out), 2) << out;
    EXPECT_NE(out.find("[config E026] device \"cuda\": LibTorch sees no CUDA GPU"),
              std::string::npos) << out;
    EXPECT_FALSE(fs::exists(fs::path(o3) / "search_report.json"));
    EXPECT_EQ(run_command({kHdx, "search", "--spec", (dir / "spec.json").string(), "--out", o3,
                           "--device", "tpu"}, &out), 2) << out;
    EXPECT_NE(out.find("--device tpu: must be auto, cpu or cuda"), std::string::npos) << out;
    // The flow checks before any stage runs; quantize's float passes take the same option.
    const std::string of = (dir / "f").string();
    EXPECT_EQ(run_command({kHdx, "flow", "--spec", (dir / "spec.json").string(), "--out", of,
                           "--device", "cuda"}, &out), 2) << out;
    EXPECT_NE(out.find("[config E026]"), std::string::npos) << out;
    EXPECT_FALSE(fs::exists(fs::path(of) / "search"));
    EXPECT_EQ(run_command({kHdx, "quantize", "--network", o + "/network.json", "--weights",
                           o + "/weights.npz", "--out", (dir / "q").string(), "--device", "cuda"},
                          &out), 2) << out;
    EXPECT_NE(out.find("[config E026]"), std::string::npos) << out;
  }
  fs::remove_all(dir);
}

// The DANCE evaluator in a whole run: its error against the cost model is measured on held-out
// designs, printed and reported (never zero: it is a learned approximation), and the chosen
// design is still judged by the exact model.
TEST(SearchCli, EvaluatorEstimator) {
  const fs::path dir = fs::path(HDX_BINARY_DIR) / "test-tmp" / "search-evaluator";
  fs::remove_all(dir);
  fs::create_directories(dir);
  json spec = small_spec();
  spec["cost"] = {{"estimator", "evaluator"},
                  {"evaluator", {{"samples", 600}, {"hidden", 32}, {"steps", 400}}}};
  spec["train"]["epochs"] = 0;
  std::ofstream(dir / "spec.json") << spec.dump();
  std::string out;
  const std::string o = (dir / "out").string();
  ASSERT_EQ(run_command({kHdx, "search", "--spec", (dir / "spec.json").string(), "--out", o},
                        &out), 0) << out;
  EXPECT_NE(out.find("evaluator cost estimator on 120 held-out designs: MAPE latency"),
            std::string::npos) << out;
  const json rep = json::parse(read_file(o + "/search_report.json"));
  const json& err = rep["estimator_error"];
  EXPECT_EQ(err["estimator"], "evaluator");
  EXPECT_EQ(err["held_out_designs"], 120);
  for (const char* m : {"latency", "energy", "area"}) {
    const double mape = err[m]["mape_percent"].get<double>(), rho = err[m]["spearman"].get<double>();
    EXPECT_GT(mape, 0.0) << m;
    EXPECT_LT(mape, 30.0) << m;
    EXPECT_GT(rho, 0.8) << m;
    EXPECT_LE(rho, 1.0) << m;
  }
  // The reported design values come from the exact model, whatever the estimator.
  ASSERT_EQ(run_command({kHdx, "cost", "--network", o + "/network.json", "--accel",
                         o + "/accelerator.json", "--json", o + "/cost.json"}, &out), 0) << out;
  const json cost = json::parse(read_file(o + "/cost.json"));
  EXPECT_NEAR(cost["total"]["latency_us"].get<double>() * 1e-3,
              rep["design"]["latency_ms"].get<double>(), 1e-9);
  fs::remove_all(dir);
}

// Ctrl-C during the search: the run stops at the next step, writes the design it had as
// *.partial.json with a report saying "stopped", no weights, and exits 130.
TEST(SearchCli, CtrlCStopsCleanly) {
  const fs::path dir = fs::path(HDX_BINARY_DIR) / "test-tmp" / "search-sigint";
  fs::remove_all(dir);
  fs::create_directories(dir);
  json spec = small_spec();
  spec["search"]["epochs"] = 200;  // far longer than the test waits
  std::ofstream(dir / "spec.json") << spec.dump();
  const std::string o = (dir / "out").string();
  const std::vector<std::string> argv = {kHdx, "search", "--spec", (dir / "spec.json").string(),
                                         "--out", o};
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  // Read until the first search epoch has ended, then press Ctrl-C.
  std::string out;
  char buf[4096];
  ssize_t n;
  bool sent = false;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) {
    out.append(buf, static_cast<size_t>(n));
    if (!sent && out.find("epoch 1 (") != std::string::npos) {
      kill(pid, SIGINT);
      sent = true;
    }
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(sent) << out;
  ASSERT_TRUE(WIFEXITED(status)) << out;
  EXPECT_EQ(WEXITSTATUS(status), 130) << out;
  EXPECT_NE(out.find("[search E031] stopped by Ctrl-C"), std::string::npos) << out;
  for (const char* f : {"network.partial.json", "accelerator.partial.json", "search_report.json",
                        "history.csv", "manifest.json"})
    EXPECT_TRUE(fs::exists(fs::path(o) / f)) << f;
  for (const char* f : {"network.json", "accelerator.json", "weights.npz"})
    EXPECT_FALSE(fs::exists(fs::path(o) / f)) << f;
  const json rep = json::parse(read_file(o + "/search_report.json"));
  EXPECT_EQ(rep["status"], "stopped");
  EXPECT_LT(rep["search"]["epochs_run"].get<int>(), 200);
  // What was written is whole: the partial network loads.
  EXPECT_NO_THROW(load_network(o + "/network.partial.json"));
  fs::remove_all(dir);
}

// Data parallelism: two ranks under mpirun, each with the spec's batch, take the steps of one
// process with twice the batch. Every rank draws the same paths and augmentations and the
// gradients are summed, so the designs are the same epoch by epoch; the losses differ only by
// batch normalization, whose statistics each rank takes over its own half of the batch.
// Rank 0 alone writes. quantize and flow refuse to run on several ranks.
TEST(SearchCli, DataParallelRanksFollowOneProcess) {
  const fs::path dir = fs::path(HDX_BINARY_DIR) / "test-tmp" / "search-ranks";
  fs::remove_all(dir);
  fs::create_directories(dir);
  json spec = small_spec();
  std::ofstream(dir / "half.json") << spec.dump();
  spec["search"]["batch_size"] = 128;
  spec["train"]["batch_size"] = 128;
  std::ofstream(dir / "full.json") << spec.dump();
  std::string out;
  const std::string one = (dir / "one").string(), two = (dir / "two").string();
  ASSERT_EQ(run_command({kHdx, "search", "--spec", (dir / "full.json").string(), "--out", one},
                        &out), 0) << out;
  std::vector<std::string> mpi = {"mpirun", "--oversubscribe", "-n", "2", "-x", "MASTER_PORT=29631"};
  if (geteuid() == 0) mpi.insert(mpi.begin() + 1, "--allow-run-as-root");
  mpi.insert(mpi.end(), {kHdx, "search", "--spec", (dir / "half.json").string(), "--out", two});
  ASSERT_EQ(run_command(mpi, &out), 0) << out;
  EXPECT_NE(out.find("2 data-parallel ranks"), std::string::npos) << out;
  const json r1 = json::parse(read_file(one + "/search_report.json"));
  const json r2 = json::parse(read_file(two + "/search_report.json"));
  EXPECT_EQ(r1["ranks"], 1);
  EXPECT_EQ(r2["ranks"], 2);
  EXPECT_EQ(r1["design"], r2["design"]);
  EXPECT_EQ(r1["search"]["architecture_steps"], r2["search"]["architecture_steps"]);
  // history.csv: epoch, phase, temperature, loss, accuracy, ..., latency_ms (col 9), area (11)
  auto rows = [](const std::string& csv) {
    std::vector<std::vector<std::string>> r;
    std::istringstream in(csv);
    for (std::string line; std::getline(in, line);) {
      std::vector<std::string> f;
      std::istringstream l(line);
      for (std::string c; std::getline(l, c, ',');) f.push_back(c);
      r.push_back(f);
    }
    return r;
  };
  const auto h1 = rows(read_file(one + "/history.csv")), h2 = rows(read_file(two + "/history.csv"));
  ASSERT_EQ(h1.size(), h2.size());
  for (std::size_t i = 1; i < h1.size(); ++i) {
    EXPECT_EQ(h1[i][1], h2[i][1]);    // phase
    EXPECT_EQ(h1[i][9], h2[i][9]);    // the design's latency
    EXPECT_EQ(h1[i][11], h2[i][11]);  // and area
    EXPECT_NEAR(std::stod(h1[i][3]), std::stod(h2[i][3]), 0.02 * std::stod(h1[i][3])) << i;
  }
  for (const char* f : {"network.json", "accelerator.json", "weights.npz", "history.csv"})
    EXPECT_TRUE(fs::exists(fs::path(two) / f)) << f;

  setenv("OMPI_COMM_WORLD_RANK", "0", 1);
  setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
  EXPECT_EQ(run_command({kHdx, "flow", "--spec", (dir / "half.json").string(), "--out",
                         (dir / "f").string()}, &out), 2) << out;
  EXPECT_NE(out.find("[config E027] hdx flow runs in one process"), std::string::npos) << out;
  EXPECT_EQ(run_command({kHdx, "quantize", "--network", one + "/network.json", "--weights",
                         one + "/weights.npz", "--out", (dir / "q").string()}, &out), 2) << out;
  EXPECT_NE(out.find("[config E027] hdx quantize runs in one process"), std::string::npos) << out;
  unsetenv("OMPI_COMM_WORLD_RANK");
  unsetenv("OMPI_COMM_WORLD_SIZE");
  fs::remove_all(dir);
}

// The launcher's variables give the rank: srun's tasks have SLURM_STEP_NUM_TASKS; an sbatch
// script's own process (SLURM_PROCID 0 of SLURM_NTASKS, no step) is one process, not rank 0 of
// several waiting for the others.
TEST(DataParallel, RanksFromTheLauncher) {
  if (std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE")) GTEST_SKIP();
  setenv("SLURM_PROCID", "0", 1);
  setenv("SLURM_NTASKS", "4", 1);
  Ranks r = launch_ranks();
  EXPECT_EQ(r.size, 1);
  setenv("SLURM_PROCID", "2", 1);
  setenv("SLURM_STEP_NUM_TASKS", "4", 1);
  r = launch_ranks();
  EXPECT_EQ(r.rank, 2);
  EXPECT_EQ(r.size, 4);
  for (const char* v : {"SLURM_PROCID", "SLURM_NTASKS", "SLURM_STEP_NUM_TASKS"}) unsetenv(v);
}

// The collective under every data-parallel step. Alone it is the identity; ctest also runs it
// under mpirun on 2 ranks (DataParallel.SumsOverTwoRanks), where every rank adds its number.
TEST(DataParallel, SumsOverRanks) {
  const Ranks r = launch_ranks();
  if (const char* want = std::getenv("HDX_TEST_RANKS")) {
    ASSERT_EQ(r.size, std::atoi(want));
  }
  const DataParallel dp(r);
  const double n = r.size, want = n * (n + 1) / 2;  // 1 + 2 + ... + size
  torch::Tensor a = torch::full({3}, r.rank + 1.0, torch::kFloat32);
  torch::Tensor b = torch::arange(4, torch::kFloat64) * (r.rank + 1.0);
  dp.sum({a, b});
  EXPECT_TRUE(a.equal(torch::full({3}, want, torch::kFloat32))) << a;
  EXPECT_TRUE(b.equal(torch::arange(4, torch::kFloat64) * want)) << b;
  EXPECT_EQ(dp.sum(r.rank == 0 ? 1.5 : 0.0), 1.5);
  // The shares of 7 items cut [0, 7) in rank order.
  const auto [lo, hi] = dp.share(7);
  EXPECT_EQ(lo, 7 * r.rank / r.size);
  EXPECT_EQ(hi, 7 * (r.rank + 1) / r.size);
  EXPECT_EQ(dp.sum(static_cast<double>(hi - lo)), 7.0);
}
