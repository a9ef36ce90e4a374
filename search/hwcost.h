// Differentiable hardware cost (LibTorch): expected latency, energy, area and EDP of the
// design under the current categorical distributions, either as exact contractions of the
// cost tables or from a frozen MLP evaluator trained on cost-model samples (DANCE).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "space.h"

namespace hdx {

struct HwMetrics {
  torch::Tensor latency_ms, energy_uj, area_mm2, edp;  // scalars
  torch::Tensor value(Metric m) const;  // fps is 1000 / latency
};

// The distributions a cost is taken under: one probability vector per slot (over its
// candidates) and one per hardware dimension (over its values).
struct Distributions {
  std::vector<torch::Tensor> ops, hw;
};

// Exact expectation. Cells that do not map are given a penalty cost (docs/search.md).
class ExactCost {
 public:
  ExactCost(const CostTables& t, const HwSpace& hw);
  HwMetrics operator()(const Distributions& d) const;
  // p(point) = product of the per-dimension probabilities, first dimension most significant.
  static torch::Tensor joint(const std::vector<torch::Tensor>& hw);

 private:
  std::vector<torch::Tensor> lat_, en_;  // per slot [n_s, P], penalty-filled
  torch::Tensor fixed_lat_, fixed_en_, area_;  // [P]
};

// A discrete design: a candidate per slot and a hardware point.
struct Design {
  std::vector<int> choice;
  long long point = 0;
};

// Accuracy of an estimator against the cost model on held-out discrete designs.
struct EstimatorError {
  int samples = 0;
  double mape[3] = {0, 0, 0};      // latency, energy, area, in percent
  double spearman[3] = {0, 0, 0};  // rank correlation
};

// The DANCE evaluator: an MLP from the concatenated distributions to log latency, energy and
// area (standardized), trained on the kind of input the search queries it with: random
// distributions from one-hot (any design, mappable or not) to nearly uniform, whose expected
// cost the exact contraction gives (unmappable cells at their penalty cost); frozen
// afterwards.
class Evaluator {
 public:
  Evaluator(const Supernet& n, const HwSpace& hw, int hidden);
  // Trains on `samples` random distributions (a fifth held out) for `steps` Adam steps;
  // returns the error on the held-out fifth. Its draws come from `seed` alone (LibTorch's
  // global generator is neither used nor reseeded).
  EstimatorError train(const ExactCost& exact, int samples, int steps, uint64_t seed);
  HwMetrics operator()(const Distributions& d);

 private:
  torch::Tensor encode(const Distributions& d) const;
  const Supernet* net_;
  const HwSpace* hw_;
  torch::nn::Sequential mlp_{nullptr};
  torch::Tensor mean_, std_;  // of the log targets
};

// Random discrete designs that map, drawn uniformly (fewer when few map).
std::vector<Design> random_designs(const Supernet& n, const CostTables& t, int count,
                                   uint64_t seed);
// One-hot distributions of a discrete design.
Distributions one_hot(const Supernet& n, const HwSpace& hw, const Design& d);
// Random distributions for training and scoring the evaluator: every fourth one a one-hot
// design drawn uniformly (mappable or not), the others softmax(N(0, 1) * sharpness) per
// vector with the sharpness log-uniform in [0.3, 10].
std::vector<Distributions> random_distributions(const Supernet& n, const HwSpace& hw, int count,
                                                uint64_t seed);
// Error of estimates against truths ([k][i]: metric k = latency, energy, area of sample i).
EstimatorError compare_estimates(const std::vector<double> (&pred)[3],
                                 const std::vector<double> (&truth)[3]);
// Error of an estimator on one-hot encodings of `designs` against their exact cost.
EstimatorError estimator_error(const Supernet& n, const HwSpace& hw, const CostTables& t,
                               const std::vector<Design>& designs,
                               const std::function<HwMetrics(const Distributions&)>& estimate);

// Spearman rank correlation (ties get their mean rank).
double spearman(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace hdx
