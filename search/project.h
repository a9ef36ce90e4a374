// The HDX update rule for hard constraints (docs/search.md, "Hard constraints"): the
// direction closest to the objective's that gives every violated constraint a first-order
// decrease of at least its margin.
#pragma once
#include <vector>

namespace hdx {

// Solves   min_d |d - u|^2   subject to   g_i . d >= m_i  for every row g_i of `g`,
// exactly, by its dual: d = u + sum_i lambda_i g_i with lambda >= 0, trying every active set
// (there are few constraints). A step theta -= lr * d then changes metric i by
// -lr * g_i . d <= -lr * m_i to first order. Rows that are all zero cannot be helped and are
// left out. Returns u itself when it already satisfies every row, and also when no
// direction satisfies them all (rows that contradict each other, which the caller sees as the
// violation persisting).
std::vector<double> project_direction(const std::vector<double>& u,
                                      const std::vector<std::vector<double>>& g,
                                      const std::vector<double>& m);

// The HDX rule for one architecture step (docs/search.md, "Hard constraints"). Constraint i
// is violated when violated[i]; its margin then is margins[i] * |u| |g_i| (margins[i] * |g_i|^2
// when u = 0), after which margins[i] grows by `growth` up to `max_margin`; a constraint that
// is met gets its margin back to `start` and no row. With no violated constraint the result
// is u itself, the plain objective's step. grads[i] is read only where violated[i].
struct HdxSchedule {
  double start = 0.05, growth = 1.1, max_margin = 1.0;
};
std::vector<double> hdx_direction(const std::vector<double>& u, const std::vector<bool>& violated,
                                  const std::vector<std::vector<double>>& grads,
                                  std::vector<double>& margins, const HdxSchedule& schedule);

}  // namespace hdx
