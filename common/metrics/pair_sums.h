// Two-sample distances from pairwise sums: the energy distance and the MMD with RBF kernels, computed from
// sufficient statistics that ranks can form for their own rows and add up.
//
// Contract: PairSums holds, for rows of x (or y) given to add_rows(), the sums over those rows i and all
// columns j of |a_i - b_j| and of k_h(a_i, b_j) = exp(-|a_i - b_j|^2 / (2 h^2)) for every bandwidth h, for
// the three pairings xx, yy, xy (diagonal terms included). merge_bytes() adds another rank's sums; the result
// depends on the split only by float64 rounding. energy_distance_u()/mmd2_u() are the unbiased U-statistics
// (diagonals removed; zero in expectation for one distribution), energy_distance_v()/mmd2_v() the biased
// V-statistics (exactly zero for a set against itself). Float64, blocks of 1024 rows.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace lockstep {

struct PairSums {
  int64_t n = 0, m = 0;  // sizes of x and y
  std::vector<double> bandwidths;
  double dxx = 0, dyy = 0, dxy = 0;   // distance sums
  std::vector<double> kxx, kyy, kxy;  // kernel sums, one per bandwidth

  PairSums(int64_t n_x, int64_t n_y, std::vector<double> h);
  // Adds rows [begin, end) of x against all of x and y, and rows [begin_y, end_y) of y against all of y.
  void add_rows(const torch::Tensor& x, const torch::Tensor& y, int64_t begin, int64_t end, int64_t begin_y, int64_t end_y);
  // Another rank's sums (to_bytes() of a PairSums of the same problem) added to these.
  std::string to_bytes() const;
  void merge_bytes(const std::string& bytes);

  double energy_distance_u() const;
  double energy_distance_v() const;
  double mmd2_u(size_t k) const;
  double mmd2_v(size_t k) const;
};

// Bandwidths for data y: the median pairwise distance of (up to 2000 of) its points times 1/4, 1/2, 1, 2, 4.
std::vector<double> median_bandwidths(const torch::Tensor& y);

}  // namespace lockstep
