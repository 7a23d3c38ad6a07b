#include "common/coupling/assignment.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/util/error.h"

namespace lockstep {

std::vector<int64_t> assignment_solve(const std::vector<double>& cost, int64_t n) {
  LS_CHECK(static_cast<int64_t>(cost.size()) == n * n, "assignment_solve: cost has " << cost.size() << " entries, not " << n << "^2");
  const double inf = std::numeric_limits<double>::infinity();
  // 1-based potentials u (rows), v (columns); match[j] = row matched to column j (0: none); way[j] = previous column
  std::vector<double> u(static_cast<size_t>(n + 1), 0.0), v(static_cast<size_t>(n + 1), 0.0), minv(static_cast<size_t>(n + 1));
  std::vector<int64_t> match(static_cast<size_t>(n + 1), 0), way(static_cast<size_t>(n + 1), 0);
  std::vector<char> used(static_cast<size_t>(n + 1));
  for (int64_t i = 1; i <= n; ++i) {
    match[0] = i;
    int64_t j0 = 0;
    std::fill(minv.begin(), minv.end(), inf);
    std::fill(used.begin(), used.end(), 0);
    do {
      used[j0] = 1;
      const int64_t i0 = match[j0];
      const double* row = cost.data() + (i0 - 1) * n;
      double delta = inf;
      int64_t j1 = 0;
      for (int64_t j = 1; j <= n; ++j) {
        if (used[j]) continue;
        const double cur = row[j - 1] - u[i0] - v[j];
        if (cur < minv[j]) minv[j] = cur, way[j] = j0;
        if (minv[j] < delta) delta = minv[j], j1 = j;
      }
      for (int64_t j = 0; j <= n; ++j) {
        if (used[j]) u[match[j]] += delta, v[j] -= delta;
        else minv[j] -= delta;
      }
      j0 = j1;
    } while (match[j0] != 0);
    do {
      const int64_t j1 = way[j0];
      match[j0] = match[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  std::vector<int64_t> p(static_cast<size_t>(n));
  for (int64_t j = 1; j <= n; ++j) p[match[j] - 1] = j - 1;
  return p;
}

SinkhornResult sinkhorn_plan(const std::vector<double>& cost, int64_t n, double epsilon, int max_iterations, double tolerance) {
  LS_CHECK(static_cast<int64_t>(cost.size()) == n * n, "sinkhorn_plan: cost has " << cost.size() << " entries, not " << n << "^2");
  LS_CHECK(epsilon > 0 && max_iterations > 0, "sinkhorn_plan: epsilon " << epsilon << ", iterations " << max_iterations);
  double mean = 0;
  for (double c : cost) mean += c;
  mean = std::max(mean / static_cast<double>(cost.size()), 1e-300);
  const double scale = 1.0 / (mean * epsilon);  // K = exp(-C / (mean eps))
  const double log_mass = -std::log(static_cast<double>(n));
  double max_cost = 0;
  for (double c : cost) max_cost = std::max(max_cost, c);
  SinkhornResult out;
  out.plan.resize(cost.size());
  if (max_cost * scale < 600) {
    // the kernel K = exp(-C scale) stays far from underflow: plain scalings a, b with row i of P = a_i K_ij b_j,
    // each iteration two matrix-vector products and no exp
    std::vector<double>& K = out.plan;
    for (size_t k = 0; k < cost.size(); ++k) K[k] = std::exp(-cost[k] * scale);
    const double mass = 1.0 / static_cast<double>(n);
    std::vector<double> a(static_cast<size_t>(n), 1.0), b(static_cast<size_t>(n), 1.0), kta(static_cast<size_t>(n));
    for (out.iterations = 1; out.iterations <= max_iterations; ++out.iterations) {
      for (int64_t i = 0; i < n; ++i) {
        const double* row = K.data() + i * n;
        double s = 0;
        for (int64_t j = 0; j < n; ++j) s += row[j] * b[j];
        a[i] = mass / s;
      }
      std::fill(kta.begin(), kta.end(), 0.0);
      for (int64_t i = 0; i < n; ++i) {
        const double* row = K.data() + i * n;
        for (int64_t j = 0; j < n; ++j) kta[j] += row[j] * a[i];
      }
      for (int64_t j = 0; j < n; ++j) b[j] = mass / kta[j];
      if (out.iterations % 10 != 0 && out.iterations != max_iterations) continue;
      out.marginal_error = 0;
      for (int64_t i = 0; i < n; ++i) {
        const double* row = K.data() + i * n;
        double s = 0;
        for (int64_t j = 0; j < n; ++j) s += row[j] * b[j];
        out.marginal_error = std::max(out.marginal_error, std::abs(a[i] * s - mass));
      }
      if (out.marginal_error < tolerance) break;
    }
    out.iterations = std::min(out.iterations, max_iterations);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) K[i * n + j] *= a[i] * b[j];
    return out;
  }
  // small epsilon: the log domain (stable for any epsilon, an exp per entry and iteration)
  std::vector<double> f(static_cast<size_t>(n), 0.0), g(static_cast<size_t>(n), 0.0);  // log scalings
  auto lse_row = [&](int64_t i) {  // log sum_j exp(g_j - C_ij scale)
    const double* row = cost.data() + i * n;
    double m = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < n; ++j) m = std::max(m, g[j] - row[j] * scale);
    double s = 0;
    for (int64_t j = 0; j < n; ++j) s += std::exp(g[j] - row[j] * scale - m);
    return m + std::log(s);
  };
  std::vector<double> col_m(static_cast<size_t>(n)), col_s(static_cast<size_t>(n));
  for (out.iterations = 1; out.iterations <= max_iterations; ++out.iterations) {
    for (int64_t i = 0; i < n; ++i) f[i] = log_mass - lse_row(i);
    // columns: log sum_i exp(f_i - C_ij scale), two passes over the rows (max, then sum)
    std::fill(col_m.begin(), col_m.end(), -std::numeric_limits<double>::infinity());
    std::fill(col_s.begin(), col_s.end(), 0.0);
    for (int64_t i = 0; i < n; ++i) {
      const double* row = cost.data() + i * n;
      for (int64_t j = 0; j < n; ++j) col_m[j] = std::max(col_m[j], f[i] - row[j] * scale);
    }
    for (int64_t i = 0; i < n; ++i) {
      const double* row = cost.data() + i * n;
      for (int64_t j = 0; j < n; ++j) col_s[j] += std::exp(f[i] - row[j] * scale - col_m[j]);
    }
    for (int64_t j = 0; j < n; ++j) g[j] = log_mass - (col_m[j] + std::log(col_s[j]));
    // the row marginals after the column update (every 10 iterations and at the last: a pass as costly as an update)
    if (out.iterations % 10 != 0 && out.iterations != max_iterations) continue;
    out.marginal_error = 0;
    for (int64_t i = 0; i < n; ++i) out.marginal_error = std::max(out.marginal_error, std::abs(std::exp(f[i] + lse_row(i)) - 1.0 / static_cast<double>(n)));
    if (out.marginal_error < tolerance) break;
  }
  out.iterations = std::min(out.iterations, max_iterations);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) out.plan[i * n + j] = std::exp(f[i] + g[j] - cost[i * n + j] * scale);
  return out;
}

std::vector<double> squared_distances(const float* a, const float* b, int64_t n, int64_t d) {
  std::vector<double> c(static_cast<size_t>(n * n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t k = 0; k < d; ++k) {
        const double diff = static_cast<double>(a[i * d + k]) - static_cast<double>(b[j * d + k]);
        s += diff * diff;
      }
      c[i * n + j] = s;
    }
  return c;
}

}  // namespace lockstep
