// Energy distance between two samples (Szekely & Rizzo): D^2 = 2 E|X - Y| - E|X - X'| - E|Y - Y'|.
//
// Contract: unbiased U-statistic form (the within-sample means exclude i = j), computed in float64 in blocks
// so that memory stays O(block * n). Zero in expectation when both samples come from one distribution, so it
// can come out slightly negative. Also: a Gaussian sample with the same mean and covariance as a reference,
// the baseline that a generative model must beat.
#pragma once

#include <torch/torch.h>

namespace lockstep {

double energy_distance(const torch::Tensor& x, const torch::Tensor& y);
// n points of N(mean(ref), cov(ref)), drawn from (seed, i) (counter-based), in blocks of rows (memory O(block x m)).
torch::Tensor matched_gaussian(const torch::Tensor& ref, int64_t n, uint64_t seed);

}  // namespace lockstep
