#include "search.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <thread>

#include "data.h"
#include "dist.h"
#include "errors.h"
#include "hwcost.h"
#include "model.h"
#include "npy.h"
#include "plot.h"
#include "project.h"
#include "space.h"
#include "supernet.h"
#include "util.h"

namespace hdx {

using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Data {
  torch::Tensor x, y;  // N x C x H x W in [0, 1]; N labels
  int64_t n() const { return x.size(0); }
};

Data to_tensors(const Images& im, int from, int count) {
  const int64_t per = static_cast<int64_t>(im.c) * im.h * im.w;
  count = std::min(count, im.n - from);
  Data d;
  d.x = torch::from_blob(const_cast<uint8_t*>(im.pixels.data()) + from * per, {count, im.c, im.h, im.w},
                         torch::kUInt8)
            .to(torch::kFloat32)
            .div(255.0);
  d.y = torch::from_blob(const_cast<uint8_t*>(im.labels.data()) + from, {count}, torch::kUInt8)
            .to(torch::kLong);
  return d;
}

bool meets(const Constraint& k, double v) { return k.is_max ? v <= k.limit : v >= k.limit; }
// How far a value is past the limit, relative (0 when met).
double violation(const Constraint& k, double v) {
  return std::max(0.0, k.is_max ? v / k.limit - 1 : k.limit / v - 1);
}
// The constraint as "ratio <= 1" of an expected metric; fps >= f is latency <= 1000 / f.
torch::Tensor ratio(const HwMetrics& m, const Constraint& k) {
  if (k.metric == Metric::Fps) return m.latency_ms / (1000.0 / k.limit);
  return m.value(k.metric) / k.limit;
}
torch::Tensor objective_of(const HwMetrics& m, Objective o) {
  return o == Objective::Latency  ? m.latency_ms
         : o == Objective::Energy ? m.energy_uj
         : o == Objective::Area   ? m.area_mm2
                                  : m.edp;
}
double objective_of(const DesignCost& c, Objective o) {
  return o == Objective::Latency  ? c.latency_ms
         : o == Objective::Energy ? c.energy_uj
         : o == Objective::Area   ? c.area_mm2
                                  : c.latency_ms * c.energy_uj;
}

struct Evaluated {
  Design d;
  DesignCost cost;
  bool feasible = false;
  double worst = 0;  // largest relative violation
  int epoch = 0;
};

Evaluated evaluate(const Spec& s, const CostTables& t, const Design& d, int epoch) {
  Evaluated e;
  e.d = d;
  e.epoch = epoch;
  e.cost = design_cost(t, d.choice, d.point);
  e.feasible = e.cost.mappable;
  for (const Constraint& k : s.constraints) {
    const double v = e.cost.value(k.metric);
    e.feasible &= meets(k, v);
    e.worst = std::max(e.worst, violation(k, v));
  }
  if (!e.cost.mappable) e.worst = INFINITY;
  return e;
}

// Adam on a flat vector with one second-moment estimate per group of coordinates (the
// network logits, the hardware logits) instead of one per coordinate, so that the HDX rule can
// change the direction it proposes and the step taken is exactly -lr * (changed direction).
// Per-coordinate normalization would let any term with a consistent gradient (the exact
// hardware cost) set the direction whatever its weight, against the noisy cross-entropy of
// one sampled path; per group, the weights of the loss terms keep their meaning while the
// step size stays independent of the gradient's scale (docs/search.md).
struct FlatAdam {
  std::vector<std::pair<int64_t, int64_t>> groups;  // [from, to) of each group
  torch::Tensor m;
  std::vector<double> v;  // one second moment per group
  int t = 0;
  torch::Tensor direction(const torch::Tensor& g) {
    if (!m.defined()) {
      m = torch::zeros_like(g);
      v.assign(groups.size(), 0.0);
    }
    ++t;
    m = 0.9 * m + 0.1 * g;
    const double c1 = 1 - std::pow(0.9, t), c2 = 1 - std::pow(0.999, t);
    torch::Tensor d = torch::zeros_like(g);
    for (std::size_t k = 0; k < groups.size(); ++k) {
      const auto [a, b] = groups[k];
      if (b <= a) continue;
      v[k] = 0.999 * v[k] + 0.001 * g.slice(0, a, b).pow(2).mean().item<double>();
      d.slice(0, a, b).copy_(m.slice(0, a, b) / c1 / (std::sqrt(v[k] / c2) + 1e-12));
    }
    return d;
  }
};

std::vector<double> to_vec(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kCPU, torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

torch::Tensor flat_grad(const torch::Tensor& y, const std::vector<torch::Tensor>& params) {
  const auto gs = torch::autograd::grad({y}, params, {}, /*retain_graph=*/true,
                                        /*create_graph=*/false, /*allow_unused=*/true);
  std::vector<torch::Tensor> parts;
  for (std::size_t i = 0; i < params.size(); ++i)
    parts.push_back(gs[i].defined() ? gs[i].to(torch::kCPU, torch::kFloat64).flatten()
                                    : torch::zeros({params[i].numel()}, torch::kFloat64));
  return torch::cat(parts);
}

// Share of `d` classified right and mean cross-entropy. With batch_stats, batch normalization
// normalizes by the statistics of each batch (for the supernet, whose running statistics mix
// every path).
struct SplitScore {
  double accuracy = 0, cross_entropy = 0;
};
SplitScore score_split(torch::nn::Module& m, const std::function<torch::Tensor(torch::Tensor)>& fwd,
                       const Data& d, int64_t batch, const torch::Device& dev,
                       bool batch_stats = false) {
  torch::NoGradGuard ng;
  if (!batch_stats) m.eval();
  int64_t right = 0;
  double ce = 0;
  for (int64_t i = 0; i < d.n(); i += batch) {
    const int64_t e = std::min(d.n(), i + batch);
    const torch::Tensor logits = fwd(d.x.slice(0, i, e).to(dev)),
                        y = d.y.slice(0, i, e).to(dev);
    right += logits.argmax(1).eq(y).sum().item<int64_t>();
    ce += torch::cross_entropy_loss(logits, y, {}, at::Reduction::Sum).item<double>();
  }
  m.train();
  const double n = static_cast<double>(std::max<int64_t>(1, d.n()));
  return {static_cast<double>(right) / n, ce / n};
}

// Random crop after zero padding by tr.crop_pad pixels, then random horizontal flip, per
// image; draws come from `rng` (not from LibTorch's generator).
torch::Tensor augment(const torch::Tensor& x, const TrainSpec& tr, std::mt19937_64& rng) {
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3), p = tr.crop_pad;
  if (p == 0 && !tr.flip) return x;
  torch::Tensor y = x;
  if (p > 0) {
    const torch::Tensor padded = torch::constant_pad_nd(x, {p, p, p, p}, 0.0);
    y = torch::empty_like(x);
    const int64_t side = 2 * p + 1;
    std::vector<std::vector<int64_t>> by_shift(static_cast<std::size_t>(side * side));
    for (int64_t i = 0; i < n; ++i) by_shift[rng() % static_cast<uint64_t>(side * side)].push_back(i);
    for (int64_t k = 0; k < side * side; ++k) {
      const auto& ids = by_shift[static_cast<std::size_t>(k)];
      if (ids.empty()) continue;
      const torch::Tensor idx = torch::tensor(ids, torch::kLong);
      const int64_t dy = k / side, dx = k % side;
      y.index_copy_(0, idx, padded.index_select(0, idx).slice(2, dy, dy + h).slice(3, dx, dx + w));
    }
  }
  if (tr.flip) {
    std::vector<uint8_t> f(static_cast<std::size_t>(n));
    for (auto& v : f) v = static_cast<uint8_t>(rng() & 1);
    const torch::Tensor mask = torch::tensor(f, torch::kUInt8).to(torch::kBool).view({n, 1, 1, 1});
    y = torch::where(mask, y.flip({3}), y);
  }
  return y;
}

struct HistoryRow {
  int epoch = 0;
  std::string phase;
  double tau = 0, loss = 0, acc = 0;
  std::string split;  // what `acc` was measured on
  double exp_lat = NAN, exp_en = NAN, exp_area = NAN;
  double lat = NAN, en = NAN, area = NAN;
  bool feasible = false;
  double seconds = 0;
};

std::string fmt_num(double v) { return std::isfinite(v) ? fmt::format("{:.6g}", v) : ""; }

}  // namespace

std::string resolve_device(const std::string& want) {
  const bool gpu = torch::cuda::is_available();
  if (want == "cuda" && !gpu)
    throw ConfigError(26, "device \"cuda\": LibTorch sees no CUDA GPU on this machine (or was "
                          "built without CUDA); use \"auto\" or \"cpu\", or build against a "
                          "CUDA LibTorch (CMAKE_PREFIX_PATH)");
  if (want == "cpu") return "cpu";
  return gpu ? "cuda" : "cpu";
}

SearchResult run_search(const Spec& s, const SearchOptions& o) {
  const auto t_all = Clock::now();
  const std::string device = resolve_device(s.device);
  const torch::Device dev(device == "cuda" ? torch::kCUDA : torch::kCPU);
  const int threads = s.threads > 0 ? s.threads
                                    : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  torch::set_num_threads(threads);
  torch::manual_seed(s.seed);
  if (dev.is_cuda()) torch::cuda::manual_seed_all(s.seed);
  const DataParallel dp(o.ranks);
  const bool root = dp.rank() == 0;
  auto log = [&](const std::string& line) {
    if (o.log && root) o.log(line);
  };
  // With several ranks, a rank stops when any does (Ctrl-C reaches them at different steps);
  // every rank asks at the same points, so the answer is the same everywhere.
  auto stopped = [&] {
    const bool here = o.stop && o.stop->load();
    return dp.size() > 1 ? dp.sum(here ? 1.0 : 0.0) > 0 : here;
  };
  auto progress = [&](const std::string& phase, long long done, long long total,
                      Clock::time_point t0, const std::string& text) {
    if (!o.progress || !root) return;
    const double el = since(t0);
    o.progress({phase, done, total, el,
                done > 0 ? el / static_cast<double>(done) * static_cast<double>(total - done) : 0,
                text});
  };
  json times = json::object();

  // Data: the search's train and held-out splits come from the training images; the test
  // images are only used for the final accuracy.
  auto t0 = Clock::now();
  const int n_train_needed = std::max(s.dataset.search_train + s.dataset.search_val, s.dataset.train);
  const Images train_im = load_images(s.dataset.name, s.dataset.path, true, n_train_needed);
  const Images test_im = load_images(s.dataset.name, s.dataset.path, false, s.dataset.test);
  if (train_im.n < n_train_needed)
    throw IoError(32, fmt::format("{} has {} training images, the spec asks for {}",
                                  s.dataset.path, train_im.n, n_train_needed), 2);
  const Data search_train = to_tensors(train_im, 0, s.dataset.search_train);
  const Data search_val = to_tensors(train_im, s.dataset.search_train, s.dataset.search_val);
  const Data final_train = to_tensors(train_im, 0, s.dataset.train);
  const Data test = to_tensors(test_im, 0, s.dataset.test);
  times["data_s"] = since(t0);
  log(fmt::format("data: {} {} search-train, {} search-val, {} final-train, {} test images; "
                  "device {}, {} threads{}",
                  s.dataset.name, search_train.n(), search_val.n(), final_train.n(), test.n(),
                  device, threads,
                  dp.size() > 1 ? fmt::format(", {} data-parallel ranks", dp.size()) : ""));

  // Cost tables from the cost model.
  t0 = Clock::now();
  const Supernet net = build_supernet(s);
  const HwSpace hw = build_hw_space(s.hardware);
  long long cands = 0;
  for (const Slot& sl : net.slots) cands += static_cast<long long>(sl.cands.size());
  const CostTables tables = fill_tables(
      net, hw, default_tech(),
      [&](long long d, long long n) {
        progress("tables", d, n, t0, fmt::format("cost tables: {}/{} accelerators", d, n));
      },
      threads);
  times["tables_s"] = since(t0);
  log(fmt::format("cost tables: {} slots, {} candidates, {} hardware points, {} layer "
                  "evaluations in {:.1f} s",
                  net.slots.size(), cands, hw.points, tables.layer_evals, since(t0)));

  // Share of the design space that meets the constraints, by sampling (uniform designs).
  double feasible_share = 1;
  {
    std::mt19937_64 rng(s.seed ^ 0x5eedULL);
    const int n = 20000;
    int ok = 0;
    for (int i = 0; i < n; ++i) {
      Design d;
      for (const Slot& sl : net.slots) d.choice.push_back(static_cast<int>(rng() % sl.cands.size()));
      d.point = static_cast<long long>(rng() % static_cast<uint64_t>(hw.points));
      ok += evaluate(s, tables, d, 0).feasible;
    }
    feasible_share = static_cast<double>(ok) / n;
  }
  log(fmt::format("design space: {:.3g} networks x {} accelerators; {:.2f}% of sampled designs "
                  "meet the constraints",
                  [&] {
                    double c = 1;
                    for (const Slot& sl : net.slots) c *= static_cast<double>(sl.cands.size());
                    return c;
                  }(),
                  hw.points, 100 * feasible_share));

  // The differentiable estimator and its measured error.
  t0 = Clock::now();
  const ExactCost exact(tables, hw);
  std::unique_ptr<Evaluator> evaluator;
  EstimatorError err;
  if (s.estimator == "evaluator") {
    evaluator = std::make_unique<Evaluator>(net, hw, s.eval_hidden);
    progress("evaluator", 0, 1, t0, "training the cost evaluator");
    err = evaluator->train(exact, s.eval_samples, s.eval_steps, s.seed);
  } else {
    // The exact estimator on one-hot distributions is the cost model itself; measure it
    // the same way all the same.
    err = estimator_error(net, hw, tables, random_designs(net, tables, 500, s.seed),
                          [&](const Distributions& d) { return exact(d); });
  }
  times["evaluator_s"] = since(t0);
  const char* mnames[3] = {"latency", "energy", "area"};
  json err_json = {{"estimator", s.estimator}, {"held_out_designs", err.samples}};
  for (int k = 0; k < 3; ++k)
    err_json[mnames[k]] = {{"mape_percent", err.mape[k]}, {"spearman", err.spearman[k]}};
  log(fmt::format("{} cost estimator on {} held-out designs: MAPE latency {:.2f}%, energy "
                  "{:.2f}%, area {:.2f}%; Spearman {:.3f} / {:.3f} / {:.3f}",
                  s.estimator, err.samples, err.mape[0], err.mape[1], err.mape[2],
                  err.spearman[0], err.spearman[1], err.spearman[2]));
  auto estimate = [&](const Distributions& d) {
    return evaluator ? (*evaluator)(d) : exact(d);
  };

  // Search: the supernet, its architecture logits and the hardware logits.
  t0 = Clock::now();
  const auto t_search = t0;
  SuperNetModule model(net);
  model->to(dev);
  std::vector<torch::Tensor> betas;
  for (const HwDim& d : hw.dims)
    betas.push_back(torch::zeros({static_cast<int64_t>(d.labels.size())}, torch::kFloat64)
                        .set_requires_grad(true));
  std::vector<torch::Tensor> theta = model->alphas;  // architecture, then hardware
  theta.insert(theta.end(), betas.begin(), betas.end());
  torch::optim::Adam wopt(model->weights(), torch::optim::AdamOptions(s.weight_lr));
  FlatAdam aopt;
  {
    int64_t n_alpha = 0, n_beta = 0;
    for (const auto& a : model->alphas) n_alpha += a.numel();
    for (const auto& b : betas) n_beta += b.numel();
    aopt.groups = {{0, n_alpha}, {n_alpha, n_alpha + n_beta}};
  }
  // The distributions the cost is taken under; the sampled paths use the same temperature.
  auto dists = [&](double tau, bool ops_grad, bool hw_grad = true) {
    Distributions d;
    for (const auto& a : model->alphas)
      d.ops.push_back(
          torch::softmax((ops_grad ? a : a.detach()).to(torch::kCPU, torch::kFloat64) / tau, 0));
    for (const auto& b : betas) d.hw.push_back(torch::softmax((hw_grad ? b : b.detach()) / tau, 0));
    return d;
  };
  auto argmax_design = [&] {
    Design d;
    for (const auto& a : model->alphas) d.choice.push_back(static_cast<int>(a.argmax().item<int64_t>()));
    std::vector<int> idx;
    for (const auto& b : betas) idx.push_back(static_cast<int>(b.argmax().item<int64_t>()));
    d.point = hw.encode(idx);
    return d;
  };
  // `none` reads no constraint: its hardware is the one with the smallest objective.
  auto admissible = [&](const Evaluated& e) {
    return s.mode == ConstraintMode::None ? e.cost.mappable : e.feasible;
  };
  // The point for a network: the admissible one with the smallest objective, else the one
  // with the smallest worst violation; on ties the one given.
  auto best_point = [&](const Design& net_of, int epoch) {
    auto better = [&](const Evaluated& a, const Evaluated& b) {
      if (admissible(a) != admissible(b)) return admissible(a);
      return admissible(a) ? objective_of(a.cost, s.objective) < objective_of(b.cost, s.objective)
                           : a.worst < b.worst;
    };
    Evaluated best = evaluate(s, tables, net_of, epoch);
    for (long long p = 0; p < hw.points; ++p) {
      Design d = net_of;
      d.point = p;
      const Evaluated e = evaluate(s, tables, d, epoch);
      if (better(e, best)) best = e;
    }
    return best;
  };
  // A design is inside when it meets every constraint; with a finish that picks the hardware
  // (section 6 of docs/search.md), also when its network does so on some point, since the
  // finish will take that point: no extra epoch or earlier design is needed for it.
  auto inside = [&](const Evaluated& e) {
    return e.feasible || (s.finish != "argmax" && best_point(e.d, e.epoch).feasible);
  };
  const double obj_ref = [&] {
    torch::NoGradGuard ng;
    return objective_of(estimate(dists(s.tau_start, true)), s.objective).item<double>();
  }();
  std::vector<double> margin(s.constraints.size(), s.hdx_margin);
  // With several ranks a batch is the spec's batch on every rank (each takes its share of the
  // global batch); a last batch too small to give every rank an image is left out.
  auto epoch_steps = [&](int64_t n, int64_t global_batch) {
    return n / global_batch + (n % global_batch >= dp.size() ? 1 : 0);
  };
  // Rank-local part of a global batch, and the weight of its mean in the batch's mean.
  auto local = [&](const torch::Tensor& global) {
    const auto [lo, hi] = dp.share(global.size(0));
    return std::make_pair(global.slice(0, lo, hi),
                          static_cast<double>(hi - lo) / static_cast<double>(global.size(0)));
  };
  // Gradients summed over the ranks (each already weighted by its share).
  auto sum_grads = [&](const std::vector<torch::Tensor>& params) {
    if (dp.size() == 1) return;
    std::vector<torch::Tensor> g;
    for (const auto& p : params)
      if (p.grad().defined()) g.push_back(p.grad());
    dp.sum(g);
  };
  const int64_t batch = s.search_batch * dp.size();
  const int64_t steps_per_epoch = epoch_steps(search_train.n(), batch);
  // `none` is judged on its final argmax: no extra epochs, no fallback.
  const int max_extra = s.mode == ConstraintMode::None ? 0 : s.max_extra_epochs;
  const int total_epochs = s.search_epochs + max_extra;
  const int warmup_epochs = s.warmup_epochs();
  std::vector<HistoryRow> history;
  // Per architecture step: expected and discrete value of each constraint's metric (or of
  // latency when there is none), for the trajectory plot.
  std::vector<Constraint> plotted = s.constraints;
  if (plotted.empty()) plotted.push_back(Constraint{Metric::LatencyMs, true, 0});
  std::vector<std::vector<double>> traj_exp(plotted.size()), traj_disc(plotted.size());
  long long arch_steps = 0, projected_steps = 0;
  std::vector<Evaluated> epoch_designs;  // end of every epoch with architecture steps
  std::string status, stop_reason;
  int64_t val_pos = 0;
  const double budget_s = s.search_minutes * 60;
  auto out_of_time = [&] {  // rank 0's clock decides for every rank
    return budget_s > 0 && dp.sum(root && since(t_search) > budget_s ? 1.0 : 0.0) > 0;
  };
  int epoch = 0;
  for (; epoch < total_epochs; ++epoch) {
    const bool extra = epoch >= s.search_epochs;
    if (extra) {
      // Past the planned epochs only while the design misses a constraint.
      if (!epoch_designs.empty() && inside(epoch_designs.back())) break;
      log(fmt::format("epoch {}: the design misses a constraint; searching on ({} of {} extra "
                      "epochs)", epoch, epoch - s.search_epochs + 1, max_extra));
    }
    if (stopped()) break;
    if (out_of_time()) {
      stop_reason = "time_minutes";
      log(fmt::format("search stopped by its wall-clock limit (search.time_minutes = {:g}) after "
                      "{} of {} planned epochs; the result depends on the machine's speed",
                      s.search_minutes, epoch, s.search_epochs));
      break;
    }
    const double tau =
        s.search_epochs > 1 && !extra
            ? s.tau_start * std::pow(s.tau_end / s.tau_start,
                                     static_cast<double>(epoch) / (s.search_epochs - 1))
            : s.tau_end;
    const bool arch = epoch >= warmup_epochs;
    const torch::Tensor perm = torch::randperm(search_train.n(), torch::kLong);
    double loss_sum = 0;
    int64_t seen = 0, right = 0;
    const auto te = Clock::now();
    for (int64_t b = 0; b < steps_per_epoch && !stopped(); ++b) {
      // Weight step on the train split, along a sampled path.
      const auto [idx, share] =
          local(perm.slice(0, b * batch, std::min(search_train.n(), (b + 1) * batch)));
      const torch::Tensor xb = search_train.x.index_select(0, idx).to(dev),
                          yb = search_train.y.index_select(0, idx).to(dev);
      PathChoice how;
      how.kind = s.relaxation == "gumbel" ? PathChoice::Gumbel : PathChoice::Softmax;
      how.tau = tau;
      how.arch_grad = false;
      wopt.zero_grad();
      const torch::Tensor logits = model->forward(xb, how);
      const torch::Tensor loss = torch::cross_entropy_loss(logits, yb);
      (dp.size() == 1 ? loss : loss * share).backward();
      sum_grads(model->weights());
      wopt.step();
      loss_sum += loss.item<double>() * static_cast<double>(idx.size(0));
      right += logits.argmax(1).eq(yb).sum().item<int64_t>();
      seen += idx.size(0);

      if (arch) {
        // Architecture and hardware step on a held-out batch.
        if (search_val.n() - val_pos < dp.size()) val_pos = 0;  // an image for every rank
        const int64_t e = std::min(search_val.n(), val_pos + batch);
        const auto [vidx, vshare] = local(torch::arange(val_pos, e, torch::kLong));
        const torch::Tensor xv = search_val.x.index_select(0, vidx).to(dev),
                            yv = search_val.y.index_select(0, vidx).to(dev);
        val_pos = e >= search_val.n() ? 0 : e;
        how.arch_grad = true;
        const torch::Tensor ce = torch::cross_entropy_loss(model->forward(xv, how), yv);
        const HwMetrics m = estimate(dists(tau, true));
        // The hardware logits fit the objective (weight); the network logits see it only
        // through network_weight (default 0: the network is chosen for accuracy, and moved
        // toward cheaper designs only by the constraints). These terms are the same on every
        // rank; the cross-entropy's gradient is summed over the ranks' shares.
        torch::Tensor hw_terms =
            s.objective_weight * objective_of(estimate(dists(tau, false)), s.objective) / obj_ref;
        if (s.objective_network_weight > 0)
          hw_terms = hw_terms + s.objective_network_weight *
                                    objective_of(estimate(dists(tau, true, false)), s.objective) / obj_ref;
        if (s.mode == ConstraintMode::Soft)
          for (const Constraint& k : s.constraints)
            hw_terms = hw_terms + s.soft_weight * torch::relu(ratio(m, k) - 1.0);
        const torch::Tensor g_ce =
            flat_grad(ce.to(torch::kCPU, torch::kFloat64) * (dp.size() == 1 ? 1.0 : vshare), theta);
        dp.sum({g_ce});
        const torch::Tensor g = g_ce + flat_grad(hw_terms, theta);
        torch::Tensor dir = aopt.direction(g);
        const Evaluated now = evaluate(s, tables, argmax_design(), epoch);
        if (s.mode == ConstraintMode::Hdx) {
          // A constraint is violated while its expected metric misses the limit; in the extra
          // epochs (which run only because the discrete design misses) also while the
          // discrete design misses it or does not map.
          std::vector<bool> violated;
          std::vector<std::vector<double>> grads(s.constraints.size());
          for (std::size_t k = 0; k < s.constraints.size(); ++k) {
            const Constraint& c = s.constraints[k];
            const torch::Tensor r = ratio(m, c);
            violated.push_back(r.item<double>() > 1.0 ||
                               (extra && (!now.cost.mappable || !meets(c, now.cost.value(c.metric)))));
            if (violated.back()) grads[k] = to_vec(flat_grad(r, theta));
          }
          if (std::find(violated.begin(), violated.end(), true) != violated.end()) ++projected_steps;
          dir = torch::tensor(hdx_direction(to_vec(dir), violated, grads, margin,
                                            {s.hdx_margin, s.hdx_growth, s.hdx_max_margin}),
                              torch::kFloat64);
        }
        {
          torch::NoGradGuard ng;
          int64_t at = 0;
          for (auto& p : theta) {
            const int64_t n = p.numel();
            p.sub_(s.arch_lr * dir.slice(0, at, at + n).view_as(p).to(p.device(), p.scalar_type()));
            at += n;
          }
        }
        ++arch_steps;
        for (std::size_t k = 0; k < plotted.size(); ++k) {
          traj_exp[k].push_back(m.value(plotted[k].metric).item<double>());
          traj_disc[k].push_back(now.cost.mappable ? now.cost.value(plotted[k].metric) : NAN);
        }
        // The extra epochs exist to bring the discrete design inside; it can cross a limit
        // back and forth from step to step, so they end at the first step that leaves it
        // inside every constraint (the end-of-epoch design below is then that one).
        if (extra && inside(evaluate(s, tables, argmax_design(), epoch))) break;
      }
      if (b % 10 == 0 || b + 1 == steps_per_epoch)
        progress("search", epoch * steps_per_epoch + b + 1,
                 static_cast<long long>(s.search_epochs) * steps_per_epoch, t_search,
                 fmt::format("search epoch {}/{}{}, loss {:.3f}, tau {:.2f}", epoch + 1,
                             s.search_epochs, extra ? " (extra)" : "", loss_sum / std::max<int64_t>(1, seen), tau));
    }
    if (stopped()) break;
    // End of epoch: the discrete design, exactly; accuracy of its path on the search's
    // held-out split (which the supernet's weights never train on).
    HistoryRow h;
    h.epoch = epoch;
    h.phase = extra ? "search-extra" : arch ? "search" : "warmup";
    h.tau = tau;
    h.loss = dp.sum(loss_sum) / std::max(1.0, dp.sum(static_cast<double>(seen)));  // all ranks
    h.split = "search_val";
    const Evaluated ev = evaluate(s, tables, argmax_design(), epoch);
    PathChoice fixed;
    fixed.fixed = ev.d.choice;
    h.acc = score_split(*model, [&](torch::Tensor x) { return model->forward(x, fixed); },
                        search_val, 256, dev, /*batch_stats=*/true)
                .accuracy;
    {
      torch::NoGradGuard ng;
      const HwMetrics m = estimate(dists(tau, true));
      h.exp_lat = m.latency_ms.item<double>();
      h.exp_en = m.energy_uj.item<double>();
      h.exp_area = m.area_mm2.item<double>();
    }
    h.lat = ev.cost.mappable ? ev.cost.latency_ms : NAN;
    h.en = ev.cost.mappable ? ev.cost.energy_uj : NAN;
    h.area = ev.cost.area_mm2;
    h.feasible = ev.feasible;
    h.seconds = since(te);
    history.push_back(h);
    if (arch) epoch_designs.push_back(ev);  // a warm-up epoch's design was never searched
    log(fmt::format("epoch {} ({}): loss {:.3f}, search_val accuracy {:.2f}% (argmax path), "
                    "design {:.4g} ms, {:.4g} uJ, {:.4g} mm2{}, {}, {:.1f} s",
                    epoch + 1, h.phase, h.loss, 100 * h.acc, ev.cost.latency_ms,
                    ev.cost.energy_uj, ev.cost.area_mm2,
                    ev.cost.mappable ? "" : " (does not map)",
                    ev.feasible  ? "meets the constraints"
                    : inside(ev) ? "misses a constraint on this point, meets them on another "
                                   "(the finish takes it)"
                                 : "misses a constraint",
                    h.seconds));
  }
  times["search_s"] = since(t_search);

  // The result: the final argmax design if it is feasible, else the latest feasible design
  // an epoch with architecture steps ended with, else the one of those closest to feasible.
  // A warm-up design (never searched) is never chosen; `none` is judged on its final argmax.
  Evaluated chosen = evaluate(s, tables, argmax_design(), epoch);
  chosen.epoch = epoch_designs.empty() ? 0 : epoch_designs.back().epoch;
  if (s.mode != ConstraintMode::None && !inside(chosen)) {
    for (auto it = epoch_designs.rbegin(); it != epoch_designs.rend(); ++it)
      if (inside(*it)) {
        chosen = *it;
        break;
      }
    if (!inside(chosen))
      for (const Evaluated& e : epoch_designs)
        if (e.worst < chosen.worst) chosen = e;
  }
  // The finish (docs/search.md section 6): the hardware for a network, exactly (the point
  // that meets every constraint with the smallest objective); with "greedy" also the network,
  // one slot at a time, by the supernet's cross-entropy on search_val.
  json finish = nullptr;
  if (s.finish != "argmax" && !epoch_designs.empty() && !stopped()) {
    auto score = [&](const std::vector<int>& choice) {  // mean cross-entropy of the path
      PathChoice fixed;
      fixed.fixed = choice;
      return score_split(*model, [&](torch::Tensor x) { return model->forward(x, fixed); },
                         search_val, 256, dev, /*batch_stats=*/true)
          .cross_entropy;
    };
    const Evaluated searched_design = chosen;
    chosen = best_point(chosen.d, chosen.epoch);
    json ce = nullptr;
    int changes = 0;
    // Every design one slot away, each with the best point for its network.
    auto neighbours = [&] {
      std::vector<Evaluated> out;
      for (std::size_t k = 0; k < net.slots.size(); ++k)
        for (int c = 0; c < static_cast<int>(net.slots[k].cands.size()); ++c) {
          if (c == chosen.d.choice[k]) continue;
          Design d = chosen.d;
          d.choice[k] = c;
          out.push_back(best_point(d, chosen.epoch));
        }
      return out;
    };
    // A design that misses a constraint first moves, one slot at a time, to the neighbour
    // with the smallest worst violation while that shrinks it.
    while (s.finish == "greedy" && !admissible(chosen) && !stopped()) {
      Evaluated next = chosen;
      for (const Evaluated& e : neighbours())
        if (e.worst < next.worst) next = e;
      if (!(next.worst < chosen.worst)) break;
      log(fmt::format("greedy finish: {} (worst violation {:.4g} -> {:.4g})",
                      describe_choice(net, next.d.choice), chosen.worst, next.worst));
      chosen = next;
      ++changes;
    }
    if (s.finish == "greedy" && admissible(chosen)) {
      double sc = score(chosen.d.choice);
      ce = {{"searched", sc}};
      while (!stopped()) {
        Evaluated next = chosen;
        double next_sc = sc;
        for (const Evaluated& e : neighbours()) {
          if (!admissible(e)) continue;
          const double v = score(e.d.choice);
          if (v < next_sc) {
            next_sc = v;
            next = e;
          }
        }
        if (next_sc >= sc) break;
        log(fmt::format("greedy finish: {} (search_val cross-entropy {:.4f} -> {:.4f})",
                        describe_choice(net, next.d.choice), sc, next_sc));
        chosen = next;
        sc = next_sc;
        ++changes;
      }
      ce["chosen"] = sc;
    }
    auto label = [&](long long p) {
      std::string t;
      const std::vector<int> idx = hw.decode(p);
      for (std::size_t d = 0; d < hw.dims.size(); ++d)
        t += fmt::format("{}{}={}", d ? " " : "", hw.dims[d].name, hw.dims[d].labels[idx[d]]);
      return t;
    };
    finish = {{"kind", s.finish},
              {"searched_point", label(searched_design.d.point)},
              {"point", label(chosen.d.point)},
              {"network_changes", changes},
              {"search_val_cross_entropy", ce}};
    log(fmt::format("{} finish: {} {:.4g} -> {:.4g}, point ({}) -> ({}), {} network change(s)",
                    s.finish, objective_name(s.objective),
                    objective_of(searched_design.cost, s.objective),
                    objective_of(chosen.cost, s.objective), label(searched_design.d.point),
                    label(chosen.d.point), changes));
  }
  const bool searched = !epoch_designs.empty();
  status = stopped() ? "stopped" : chosen.feasible && searched ? "feasible" : "infeasible";
  const Network derived = derive_network(net, chosen.d.choice, s.name);
  const Accelerator acc = hw.accel(chosen.d.point, s.name);

  // Final training from scratch, for a feasible design (and, with train.infeasible, for an
  // infeasible one too, so that a study can show what it would have been worth; its weights
  // are not written).
  json train_json = nullptr;
  SearchResult r;
  r.status = status;
  std::string weights_file;
  if ((status == "feasible" || (status == "infeasible" && s.train.infeasible)) &&
      s.train.epochs > 0) {
    t0 = Clock::now();
    torch::manual_seed(s.seed + 1);
    NetModule fin(derived, /*batch_norm=*/true);
    fin->to(dev);
    const TrainSpec& tr = s.train;
    // Weight decay on the convolution and fc weights only (not on biases or batch norm).
    std::vector<torch::Tensor> decayed, plain;
    for (const auto& p : fin->named_parameters())
      (p.value().dim() > 1 ? decayed : plain).push_back(p.value());
    std::unique_ptr<torch::optim::Optimizer> opt;
    if (tr.optimizer == "sgd") {
      std::vector<torch::optim::OptimizerParamGroup> groups;
      groups.emplace_back(decayed, std::make_unique<torch::optim::SGDOptions>(
                                       torch::optim::SGDOptions(tr.lr).momentum(tr.momentum)
                                           .nesterov(tr.momentum > 0).weight_decay(tr.weight_decay)));
      groups.emplace_back(plain, std::make_unique<torch::optim::SGDOptions>(
                                     torch::optim::SGDOptions(tr.lr).momentum(tr.momentum)
                                         .nesterov(tr.momentum > 0)));
      opt = std::make_unique<torch::optim::SGD>(groups, torch::optim::SGDOptions(tr.lr));
    } else {
      std::vector<torch::optim::OptimizerParamGroup> groups;
      groups.emplace_back(decayed, std::make_unique<torch::optim::AdamWOptions>(
                                       torch::optim::AdamWOptions(tr.lr).weight_decay(tr.weight_decay)));
      groups.emplace_back(plain, std::make_unique<torch::optim::AdamWOptions>(
                                     torch::optim::AdamWOptions(tr.lr).weight_decay(0)));
      opt = std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(tr.lr));
    }
    auto set_lr = [&](double lr) {
      for (auto& g : opt->param_groups()) {
        if (tr.optimizer == "sgd") static_cast<torch::optim::SGDOptions&>(g.options()).lr(lr);
        else static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
      }
    };
    const int64_t tb = tr.batch_size * dp.size();
    const int64_t steps = epoch_steps(final_train.n(), tb);
    const int64_t total_steps = steps * tr.epochs;
    const int64_t warm_steps = static_cast<int64_t>(std::llround(tr.warmup_share * total_steps));
    auto lr_at = [&](int64_t step) {  // linear warm-up, then cosine to 0
      if (step < warm_steps) return tr.lr * static_cast<double>(step + 1) / static_cast<double>(warm_steps);
      const double f = static_cast<double>(step - warm_steps) /
                       static_cast<double>(std::max<int64_t>(1, total_steps - warm_steps));
      return 0.5 * tr.lr * (1 + std::cos(M_PI * f));
    };
    std::mt19937_64 aug_rng(s.seed * 7919 + 17);
    const auto ce_opts = torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(tr.label_smoothing);
    for (int ep = 0; ep < tr.epochs && !stopped(); ++ep) {
      const torch::Tensor perm = torch::randperm(final_train.n(), torch::kLong);
      double loss_sum = 0, seen = 0, right = 0;
      const auto te = Clock::now();
      for (int64_t b = 0; b < steps && !stopped(); ++b) {
        // Every rank draws the augmentation of the whole global batch (the draws of one
        // process with that batch) and trains on its share.
        const torch::Tensor all = perm.slice(0, b * tb, std::min(final_train.n(), (b + 1) * tb));
        const auto [lo, hi] = dp.share(all.size(0));
        const double share = static_cast<double>(hi - lo) / static_cast<double>(all.size(0));
        const torch::Tensor xb =
            augment(final_train.x.index_select(0, all), tr, aug_rng).slice(0, lo, hi).to(dev);
        const torch::Tensor yb = final_train.y.index_select(0, all).slice(0, lo, hi).to(dev);
        set_lr(lr_at(ep * steps + b));
        opt->zero_grad();
        const torch::Tensor out = fin->forward(xb);
        const torch::Tensor loss = torch::nn::functional::cross_entropy(out, yb, ce_opts);
        (dp.size() == 1 ? loss : loss * share).backward();
        sum_grads(fin->parameters());
        opt->step();
        loss_sum += loss.item<double>() * static_cast<double>(hi - lo);
        seen += static_cast<double>(hi - lo);
        right += static_cast<double>(out.argmax(1).eq(yb).sum().item<int64_t>());
        if (b % 20 == 0 || b + 1 == steps)
          progress("train", ep * steps + b + 1, tr.epochs * steps, t0,
                   fmt::format("training the derived network, epoch {}/{}", ep + 1, tr.epochs));
      }
      HistoryRow h;
      h.epoch = ep;
      h.phase = "train";
      seen = dp.sum(seen);
      h.loss = dp.sum(loss_sum) / seen;
      // The running accuracy on the (augmented) training batches: no split held out of the
      // final training is scored during it; the test split is scored once, at the end.
      h.acc = dp.sum(right) / seen;
      h.split = "train_batches";
      h.lat = chosen.cost.latency_ms;
      h.en = chosen.cost.energy_uj;
      h.area = chosen.cost.area_mm2;
      h.feasible = chosen.feasible;
      h.seconds = since(te);
      history.push_back(h);
      log(fmt::format("train epoch {}/{}: loss {:.4f}, accuracy on the training batches {:.2f}%, "
                      "{:.1f} s", ep + 1, tr.epochs, h.loss, 100 * h.acc, h.seconds));
    }
    if (dp.size() > 1) {
      // Batch normalization's running statistics saw only each rank's shares: average them.
      std::vector<torch::Tensor> stats;
      for (const auto& b : fin->buffers())
        if (b.is_floating_point()) stats.push_back(b);
      dp.sum(stats);
      torch::NoGradGuard ng;
      for (auto& b : stats) b.div_(dp.size());
    }
    times["train_s"] = since(t0);
    t0 = Clock::now();
    const double acc_test =
        score_split(*fin, [&](torch::Tensor x) { return fin->forward(x); }, test, 512, dev).accuracy;
    times["test_s"] = since(t0);
    train_json = {{"epochs", tr.epochs},       {"train_images", final_train.n()},
                  {"test_images", test.n()},   {"split", "test"},
                  {"test_accuracy", acc_test}, {"float", true},
                  {"design_feasible", status == "feasible"}};
    log(fmt::format("float test accuracy of the derived network: {:.2f}% on the {} test images",
                    100 * acc_test, test.n()));
    fin->to(torch::kCPU);
    std::vector<std::pair<std::string, NpyArray>> arrays;
    for (const auto& [name, t] : fin->export_weights()) {
      const torch::Tensor c = t.to(torch::kFloat32).contiguous();
      std::vector<size_t> shape;
      for (int64_t d : c.sizes()) shape.push_back(static_cast<size_t>(d));
      arrays.emplace_back(name, NpyArray::from(std::vector<float>(c.data_ptr<float>(),
                                                                  c.data_ptr<float>() + c.numel()),
                                               shape));
    }
    if (stopped()) {
      status = r.status = "stopped";  // the weights are not trained to the end: not written
    } else if (status == "feasible") {
      weights_file = "weights.npz";
      if (root) write_npz(o.out_dir + "/" + weights_file, arrays);
      r.files.push_back(weights_file);
    }
  }

  // Outputs: rank 0 writes them; the other ranks only say how the search ended.
  if (!root) {
    r.status = status;
    return r;
  }
  const std::string suffix = status == "feasible" ? "" : status == "stopped" ? ".partial"
                                                                           : ".infeasible";
  write_file_atomic(o.out_dir + "/network" + suffix + ".json", network_to_json(derived).dump(2) + "\n");
  write_file_atomic(o.out_dir + "/accelerator" + suffix + ".json",
                    accelerator_to_json(acc).dump(2) + "\n");
  r.files.push_back("network" + suffix + ".json");
  r.files.push_back("accelerator" + suffix + ".json");

  std::string csv =
      "epoch,phase,temperature,loss,accuracy,accuracy_split,expected_latency_ms,expected_energy_uj,"
      "expected_area_mm2,latency_ms,energy_uj,area_mm2,meets_constraints,seconds\n";
  for (const HistoryRow& h : history)
    csv += fmt::format("{},{},{},{:.6f},{:.6f},{},{},{},{},{},{},{},{},{:.2f}\n", h.epoch + 1, h.phase,
                       h.phase == "train" ? "" : fmt_num(h.tau), h.loss, h.acc, h.split, fmt_num(h.exp_lat),
                       fmt_num(h.exp_en), fmt_num(h.exp_area), fmt_num(h.lat), fmt_num(h.en),
                       fmt_num(h.area), h.feasible ? 1 : 0, h.seconds);
  write_file_atomic(o.out_dir + "/history.csv", csv);
  r.files.push_back("history.csv");

  {
    const int w = 720, ph = 260;
    std::vector<std::string> panels;
    for (std::size_t k = 0; k < plotted.size(); ++k) {
      const Constraint& c = plotted[k];
      const bool lim = !s.constraints.empty();
      panels.push_back(svg_panel(
          fmt::format("{} during the search ({} mode{})", metric_name(c.metric),
                      constraint_mode_name(s.mode),
                      lim ? fmt::format(", {} {:g}", c.is_max ? "max" : "min", c.limit) : ""),
          "architecture step", metric_name(c.metric),
          {{"expected (relaxed)", "#1f77b4", traj_exp[k], false},
           {"discrete design (exact)", "#ff7f0e", traj_disc[k], false}},
          lim, c.limit, w, ph, static_cast<int>(k) * ph));
    }
    write_file_atomic(o.out_dir + "/trajectory.svg",
                      svg_document(panels, w, ph * static_cast<int>(panels.size())));
    r.files.push_back("trajectory.svg");
  }

  json cons = json::array();
  for (const Constraint& k : s.constraints) {
    const double v = chosen.cost.value(k.metric);
    cons.push_back({{"metric", metric_name(k.metric)},
                    {"bound", k.is_max ? "max" : "min"},
                    {"limit", k.limit},
                    {"value", chosen.cost.mappable ? json(v) : json(nullptr)},
                    {"met", chosen.cost.mappable && meets(k, v)}});
  }
  times["total_s"] = since(t_all);
  r.report = {
      {"spec", s.name},
      {"seed", s.seed},
      {"status", status},
      {"feasible", status == "feasible"},
      {"constraint_mode", constraint_mode_name(s.mode)},
      {"constraints", cons},
      {"objective",
       {{"metric", objective_name(s.objective)},
        {"weight", s.objective_weight},
        {"network_weight", s.objective_network_weight},
        {"value", objective_of(chosen.cost, s.objective)}}},
      {"design",
       {{"choice", describe_choice(net, chosen.d.choice)},
        {"from_epoch", chosen.epoch + 1},
        {"mappable", chosen.cost.mappable},
        {"why_not_mappable", chosen.cost.why},
        {"latency_ms", chosen.cost.latency_ms},
        {"energy_uj", chosen.cost.energy_uj},
        {"area_mm2", chosen.cost.area_mm2},
        {"fps", 1000.0 / chosen.cost.latency_ms},
        {"network", "network" + suffix + ".json"},
        {"accelerator", accelerator_to_json(acc)},
        {"weights", weights_file.empty() ? json(nullptr) : json(weights_file)}}},
      {"accuracy", train_json},
      {"estimator_error", err_json},
      {"space",
       {{"slots", net.slots.size()},
        {"candidates", cands},
        {"hardware_points", hw.points},
        {"layer_evaluations", tables.layer_evals},
        {"feasible_share", feasible_share}}},
      {"device", device},
      {"ranks", dp.size()},
      {"search",
       {{"epochs_run", epoch},
        {"planned_epochs", s.search_epochs},
        {"warmup_epochs", warmup_epochs},
        {"stopped_by", stop_reason.empty() ? json(nullptr) : json(stop_reason)},
        {"architecture_steps", arch_steps},
        {"projected_steps", projected_steps},
        {"relaxation", s.relaxation},
        {"finish", finish}}},
      {"times_s", times},
      {"spec_resolved", spec_to_json(s)}};
  write_file_atomic(o.out_dir + "/search_report.json", r.report.dump(2) + "\n");
  r.files.push_back("search_report.json");
  return r;
}

}  // namespace hdx
