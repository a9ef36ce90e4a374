#include "hwcost.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include <fmt/format.h>

#include "errors.h"

namespace hdx {

namespace {

// Cost of a cell that does not map: this many times the largest mappable cost of its table,
// so that the expectation is finite and its gradient leads away from the cell.
constexpr double kUnmappablePenalty = 10.0;

torch::Tensor to_tensor(const std::vector<double>& v, int64_t rows, int64_t cols,
                        std::size_t from) {
  auto t = torch::empty({rows, cols}, torch::kFloat64);
  auto a = t.accessor<double, 2>();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) a[r][c] = v[from + static_cast<std::size_t>(r * cols + c)];
  return t;
}

// Replaces unmappable cells (ok == 0) by the penalty.
torch::Tensor penalize(torch::Tensor t, const torch::Tensor& ok) {
  const auto okb = ok.to(torch::kBool);
  const double worst = okb.any().item<bool>() ? t.masked_select(okb).max().item<double>() : 1.0;
  return torch::where(okb, t, torch::full_like(t, kUnmappablePenalty * std::max(worst, 1e-9)));
}

torch::Tensor ok_tensor(const std::vector<char>& v, int64_t rows, int64_t cols, std::size_t from) {
  auto t = torch::empty({rows, cols}, torch::kFloat64);
  auto a = t.accessor<double, 2>();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) a[r][c] = v[from + static_cast<std::size_t>(r * cols + c)];
  return t;
}

}  // namespace

torch::Tensor HwMetrics::value(Metric m) const { return metric_value(*this, m); }

ExactCost::ExactCost(const CostTables& t, const HwSpace& hw) {
  const int64_t P = hw.points;
  for (std::size_t s = 0; s < t.offset.size(); ++s) {
    const std::size_t from = static_cast<std::size_t>(t.offset[s]) * static_cast<std::size_t>(P);
    const auto ok = ok_tensor(t.ok, t.count[s], P, from);
    lat_.push_back(penalize(to_tensor(t.lat_ms, t.count[s], P, from), ok));
    en_.push_back(penalize(to_tensor(t.energy_uj, t.count[s], P, from), ok));
  }
  const auto fok = ok_tensor(t.fixed_ok, 1, P, 0)[0];
  fixed_lat_ = penalize(to_tensor(t.fixed_lat_ms, 1, P, 0)[0], fok);
  fixed_en_ = penalize(to_tensor(t.fixed_energy_uj, 1, P, 0)[0], fok);
  area_ = to_tensor(t.area_mm2, 1, P, 0)[0];
}

torch::Tensor ExactCost::joint(const std::vector<torch::Tensor>& hw) {
  torch::Tensor p = torch::ones({1}, torch::kFloat64);
  for (const torch::Tensor& d : hw) p = torch::outer(p, d.to(torch::kFloat64)).flatten();
  return p;
}

HwMetrics ExactCost::operator()(const Distributions& d) const {
  const torch::Tensor p = joint(d.hw);
  // Per hardware point: expected latency and energy of the network given the point, and the
  // correction that turns E[E]E[L] into E[E L] (slots are independent given the point).
  torch::Tensor lat = fixed_lat_, en = fixed_en_, cross = torch::zeros_like(fixed_lat_);
  for (std::size_t s = 0; s < lat_.size(); ++s) {
    const torch::Tensor q = d.ops[s].to(torch::kFloat64);
    const torch::Tensor ls = torch::matmul(q, lat_[s]), es = torch::matmul(q, en_[s]);
    lat = lat + ls;
    en = en + es;
    cross = cross + torch::matmul(q, lat_[s] * en_[s]) - ls * es;
  }
  HwMetrics m;
  m.latency_ms = torch::dot(p, lat);
  m.energy_uj = torch::dot(p, en);
  m.area_mm2 = torch::dot(p, area_);
  m.edp = torch::dot(p, lat * en + cross);
  return m;
}

std::vector<Design> random_designs(const Supernet& n, const CostTables& t, int count,
                                   uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Design> out;
  // Rejection of unmappable designs, bounded so that a space with few mappable designs ends.
  for (long long tries = 0; static_cast<int>(out.size()) < count && tries < 50LL * count + 1000;
       ++tries) {
    Design d;
    for (const Slot& s : n.slots)
      d.choice.push_back(static_cast<int>(rng() % s.cands.size()));
    d.point = static_cast<long long>(rng() % static_cast<uint64_t>(t.points));
    if (design_cost(t, d.choice, d.point).mappable) out.push_back(std::move(d));
  }
  return out;
}

Distributions one_hot(const Supernet& n, const HwSpace& hw, const Design& d) {
  Distributions r;
  for (std::size_t s = 0; s < n.slots.size(); ++s) {
    auto v = torch::zeros({static_cast<int64_t>(n.slots[s].cands.size())}, torch::kFloat64);
    v[d.choice[s]] = 1.0;
    r.ops.push_back(v);
  }
  const std::vector<int> idx = hw.decode(d.point);
  for (std::size_t k = 0; k < hw.dims.size(); ++k) {
    auto v = torch::zeros({static_cast<int64_t>(hw.dims[k].labels.size())}, torch::kFloat64);
    v[idx[k]] = 1.0;
    r.hw.push_back(v);
  }
  return r;
}

EstimatorError compare_estimates(const std::vector<double> (&pred)[3],
                                 const std::vector<double> (&truth)[3]) {
  EstimatorError e;
  e.samples = static_cast<int>(truth[0].size());
  for (int k = 0; k < 3; ++k) {
    double sum = 0;
    for (std::size_t i = 0; i < truth[k].size(); ++i)
      sum += std::fabs(pred[k][i] - truth[k][i]) / truth[k][i];
    e.mape[k] = truth[k].empty() ? 0 : 100 * sum / static_cast<double>(truth[k].size());
    e.spearman[k] = spearman(pred[k], truth[k]);
  }
  return e;
}

EstimatorError estimator_error(const Supernet& n, const HwSpace& hw, const CostTables& t,
                               const std::vector<Design>& designs,
                               const std::function<HwMetrics(const Distributions&)>& estimate) {
  torch::NoGradGuard ng;
  std::vector<double> pred[3], truth[3];
  for (const Design& d : designs) {
    const HwMetrics m = estimate(one_hot(n, hw, d));
    const DesignCost c = design_cost(t, d.choice, d.point);
    pred[0].push_back(m.latency_ms.item<double>());
    pred[1].push_back(m.energy_uj.item<double>());
    pred[2].push_back(m.area_mm2.item<double>());
    truth[0].push_back(c.latency_ms);
    truth[1].push_back(c.energy_uj);
    truth[2].push_back(c.area_mm2);
  }
  return compare_estimates(pred, truth);
}

std::vector<Distributions> random_distributions(const Supernet& n, const HwSpace& hw, int count,
                                                uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0, 1);
  std::uniform_real_distribution<double> log_sharp(std::log(0.3), std::log(10.0));
  std::vector<int64_t> sizes;
  for (const Slot& s : n.slots) sizes.push_back(static_cast<int64_t>(s.cands.size()));
  const std::size_t n_ops = sizes.size();
  for (const HwDim& d : hw.dims) sizes.push_back(static_cast<int64_t>(d.labels.size()));
  std::vector<Distributions> out;
  for (int i = 0; i < count; ++i) {
    Distributions d;
    const bool hot = i % 4 == 0;
    const double sharp = std::exp(log_sharp(rng));
    for (std::size_t k = 0; k < sizes.size(); ++k) {
      auto v = torch::zeros({sizes[k]}, torch::kFloat64);
      if (hot) {
        v[static_cast<int64_t>(rng() % static_cast<uint64_t>(sizes[k]))] = 1.0;
      } else {
        for (int64_t j = 0; j < sizes[k]; ++j) v[j] = normal(rng) * sharp;
        v = torch::softmax(v, 0);
      }
      (k < n_ops ? d.ops : d.hw).push_back(v);
    }
    out.push_back(std::move(d));
  }
  return out;
}

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  auto ranks = [](const std::vector<double>& v) {
    std::vector<std::size_t> o(v.size());
    std::iota(o.begin(), o.end(), 0);
    std::sort(o.begin(), o.end(), [&](std::size_t i, std::size_t j) { return v[i] < v[j]; });
    std::vector<double> r(v.size());
    for (std::size_t i = 0; i < o.size();) {
      std::size_t j = i;
      while (j + 1 < o.size() && v[o[j + 1]] == v[o[i]]) ++j;
      for (std::size_t k = i; k <= j; ++k) r[o[k]] = 0.5 * static_cast<double>(i + j);
      i = j + 1;
    }
    return r;
  };
  const std::vector<double> ra = ranks(a), rb = ranks(b);
  const double n = static_cast<double>(a.size());
  const double ma = std::accumulate(ra.begin(), ra.end(), 0.0) / n;
  const double mb = std::accumulate(rb.begin(), rb.end(), 0.0) / n;
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < ra.size(); ++i) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) * (ra[i] - ma);
    sbb += (rb[i] - mb) * (rb[i] - mb);
  }
  return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : 0.0;
}

Evaluator::Evaluator(const Supernet& n, const HwSpace& hw, int hidden) : net_(&n), hw_(&hw) {
  int64_t in = 0;
  for (const Slot& s : n.slots) in += static_cast<int64_t>(s.cands.size());
  for (const HwDim& d : hw.dims) in += static_cast<int64_t>(d.labels.size());
  mlp_ = torch::nn::Sequential(torch::nn::Linear(in, hidden), torch::nn::ReLU(),
                               torch::nn::Linear(hidden, hidden), torch::nn::ReLU(),
                               torch::nn::Linear(hidden, 3));
  mlp_->to(torch::kFloat64);
}

torch::Tensor Evaluator::encode(const Distributions& d) const {
  std::vector<torch::Tensor> parts;
  for (const auto& t : d.ops) parts.push_back(t.to(torch::kFloat64));
  for (const auto& t : d.hw) parts.push_back(t.to(torch::kFloat64));
  return torch::cat(parts);
}

EstimatorError Evaluator::train(const ExactCost& exact, int samples, int steps, uint64_t seed) {
  torch::NoGradGuard ng_outer;
  const std::vector<Distributions> ds = random_distributions(*net_, *hw_, samples, seed);
  const int64_t n = static_cast<int64_t>(ds.size());
  const int64_t n_test = std::max<int64_t>(1, n / 5), n_train = n - n_test;
  if (n_train < 10)
    throw MappingError(21, fmt::format("the evaluator needs at least 13 samples, got {}; raise "
                                       "cost.evaluator.samples", n));
  std::vector<torch::Tensor> xs;
  auto y = torch::empty({n, 3}, torch::kFloat64);
  std::vector<double> truth[3];
  for (int64_t i = 0; i < n; ++i) {
    const Distributions& d = ds[static_cast<std::size_t>(i)];
    xs.push_back(encode(d));
    const HwMetrics m = exact(d);
    const double v[3] = {m.latency_ms.item<double>(), m.energy_uj.item<double>(),
                         m.area_mm2.item<double>()};
    for (int k = 0; k < 3; ++k) {
      y[i][k] = std::log(v[k]);
      if (i >= n_train) truth[k].push_back(v[k]);
    }
  }
  const torch::Tensor x = torch::stack(xs);
  const torch::Tensor xtr = x.slice(0, 0, n_train), ytr = y.slice(0, 0, n_train);
  mean_ = ytr.mean(0);
  std_ = ytr.std(0).clamp_min(1e-6);
  const torch::Tensor ztr = (ytr - mean_) / std_;
  torch::optim::Adam opt(mlp_->parameters(), torch::optim::AdamOptions(2e-3));
  const int64_t batch = std::min<int64_t>(256, n_train);
  std::mt19937_64 rng(seed ^ 0x9e3779b97f4a7c15ULL);
  std::vector<int64_t> pick(static_cast<std::size_t>(batch));
  for (int step = 0; step < steps; ++step) {
    for (auto& p : pick) p = static_cast<int64_t>(rng() % static_cast<uint64_t>(n_train));
    const torch::Tensor idx = torch::tensor(pick, torch::kLong);
    torch::AutoGradMode grad(true);
    opt.zero_grad();
    const torch::Tensor loss = torch::mse_loss(mlp_->forward(xtr.index_select(0, idx)),
                                               ztr.index_select(0, idx));
    loss.backward();
    opt.step();
  }
  mlp_->eval();
  for (auto& p : mlp_->parameters()) p.set_requires_grad(false);
  std::vector<double> pred[3];
  for (int64_t i = n_train; i < n; ++i) {
    const HwMetrics m = (*this)(ds[static_cast<std::size_t>(i)]);
    pred[0].push_back(m.latency_ms.item<double>());
    pred[1].push_back(m.energy_uj.item<double>());
    pred[2].push_back(m.area_mm2.item<double>());
  }
  return compare_estimates(pred, truth);
}

HwMetrics Evaluator::operator()(const Distributions& d) {
  const torch::Tensor out = torch::exp(mlp_->forward(encode(d).unsqueeze(0))[0] * std_ + mean_);
  HwMetrics m;
  m.latency_ms = out[0];
  m.energy_uj = out[1];
  m.area_mm2 = out[2];
  m.edp = out[0] * out[1];
  return m;
}

}  // namespace hdx
