// The Fréchet distance between two Gaussians, and the sufficient statistics to fit them to feature vectors
// spread over ranks.
//
// Contract: frechet_distance(mu1, S1, mu2, S2) = |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2), the squared
// 2-Wasserstein distance between N(mu1, S1) and N(mu2, S2) (the FID formula), computed in float64 through
// symmetric eigendecompositions (negative eigenvalues of rounding are clipped to 0). FeatureStats holds the
// count, the sum and the sum of outer products of feature rows [n, F] in float64; add() a rank's rows,
// merge_bytes() another rank's to_bytes(); mean() and cov() (unbiased) of everything added.
#pragma once

#include <torch/torch.h>

#include <string>

namespace lockstep {

double frechet_distance(const torch::Tensor& mu1, const torch::Tensor& cov1, const torch::Tensor& mu2, const torch::Tensor& cov2);

struct FeatureStats {
  int64_t n = 0;
  torch::Tensor sum;    // [F] float64
  torch::Tensor outer;  // [F, F] float64

  explicit FeatureStats(int64_t features);
  void add(const torch::Tensor& f);  // rows [n, F]
  std::string to_bytes() const;
  void merge_bytes(const std::string& bytes);
  torch::Tensor mean() const;
  torch::Tensor cov() const;
};

// frechet_distance of the Gaussians fitted to a and b (each needs at least 2 rows).
double frechet_distance(const FeatureStats& a, const FeatureStats& b);

}  // namespace lockstep
