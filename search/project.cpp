#include "project.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

namespace hdx {

namespace {

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Solves the k x k system a x = b by Gaussian elimination with partial pivoting; false when
// it is singular.
bool solve(std::vector<std::vector<double>> a, std::vector<double> b, std::vector<double>& x) {
  const std::size_t k = b.size();
  for (std::size_t c = 0; c < k; ++c) {
    std::size_t piv = c;
    for (std::size_t r = c + 1; r < k; ++r)
      if (std::fabs(a[r][c]) > std::fabs(a[piv][c])) piv = r;
    if (std::fabs(a[piv][c]) < 1e-12 * (1 + std::fabs(a[c][c]))) return false;
    std::swap(a[c], a[piv]);
    std::swap(b[c], b[piv]);
    for (std::size_t r = 0; r < k; ++r) {
      if (r == c) continue;
      const double f = a[r][c] / a[c][c];
      for (std::size_t j = c; j < k; ++j) a[r][j] -= f * a[c][j];
      b[r] -= f * b[c];
    }
  }
  x.resize(k);
  for (std::size_t i = 0; i < k; ++i) x[i] = b[i] / a[i][i];
  return true;
}

}  // namespace

std::vector<double> project_direction(const std::vector<double>& u,
                                      const std::vector<std::vector<double>>& g,
                                      const std::vector<double>& m) {
  // Rows scaled to unit length (the same constraints, a better conditioned Gram matrix).
  std::vector<std::size_t> rows;  // constraints that a direction can serve
  std::vector<std::vector<double>> gu(g.size());
  std::vector<double> mu(g.size());
  for (std::size_t i = 0; i < g.size(); ++i) {
    const double n = std::sqrt(dot(g[i], g[i]));
    if (!(n > 0) || !std::isfinite(n)) continue;
    rows.push_back(i);
    gu[i] = g[i];
    for (double& x : gu[i]) x /= n;
    mu[i] = m[i] / n;
  }
  const std::size_t k = rows.size();
  // Slack of each row for a direction; the KKT point has all slacks >= 0 and lambda >= 0 and
  // is unique (the problem is strictly convex). With several optima of the dual (dependent
  // rows) any of them gives the same d.
  auto slack_ok = [&](const std::vector<double>& d) {
    const double dn = std::sqrt(dot(d, d));
    if (!std::isfinite(dn)) return false;
    for (std::size_t i : rows)
      if (!(dot(gu[i], d) >= mu[i] - 1e-9 * (std::fabs(mu[i]) + dn))) return false;
    return true;
  };
  if (slack_ok(u)) return u;
  std::vector<double> best;
  double best_dist = std::numeric_limits<double>::infinity();
  for (unsigned mask = 1; mask < (1u << k); ++mask) {
    std::vector<std::size_t> act;
    for (std::size_t j = 0; j < k; ++j)
      if (mask & (1u << j)) act.push_back(rows[j]);
    // Active rows hold with equality: sum_b (g_a . g_b) lambda_b = m_a - g_a . u.
    std::vector<std::vector<double>> gram(act.size(), std::vector<double>(act.size()));
    std::vector<double> rhs(act.size()), lambda;
    for (std::size_t a = 0; a < act.size(); ++a) {
      for (std::size_t b = 0; b < act.size(); ++b) gram[a][b] = dot(gu[act[a]], gu[act[b]]);
      rhs[a] = mu[act[a]] - dot(gu[act[a]], u);
    }
    if (!solve(gram, rhs, lambda)) continue;
    bool nonneg = true;
    for (double l : lambda) nonneg &= l >= -1e-12;
    if (!nonneg) continue;
    std::vector<double> d = u;
    for (std::size_t a = 0; a < act.size(); ++a)
      for (std::size_t j = 0; j < d.size(); ++j) d[j] += lambda[a] * gu[act[a]][j];
    if (!slack_ok(d)) continue;
    double dist = 0;
    for (std::size_t j = 0; j < d.size(); ++j) dist += (d[j] - u[j]) * (d[j] - u[j]);
    if (dist < best_dist) {
      best_dist = dist;
      best = std::move(d);
    }
  }
  return best.empty() ? u : best;
}

std::vector<double> hdx_direction(const std::vector<double>& u, const std::vector<bool>& violated,
                                  const std::vector<std::vector<double>>& grads,
                                  std::vector<double>& margins, const HdxSchedule& schedule) {
  const double un = std::sqrt(dot(u, u));
  std::vector<std::vector<double>> rows;
  std::vector<double> need;
  for (std::size_t i = 0; i < violated.size(); ++i) {
    if (!violated[i]) {
      margins[i] = schedule.start;
      continue;
    }
    const double gn = std::sqrt(dot(grads[i], grads[i]));
    rows.push_back(grads[i]);
    need.push_back(margins[i] * (un > 0 ? un * gn : gn * gn));
    margins[i] = std::min(margins[i] * schedule.growth, schedule.max_margin);
  }
  return rows.empty() ? u : project_direction(u, rows, need);
}

}  // namespace hdx
