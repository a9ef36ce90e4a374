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

}  // namespace hdx
