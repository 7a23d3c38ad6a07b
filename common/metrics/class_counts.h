// Per-class counts of a classifier's verdicts, mergeable across ranks: the test accuracy of a classifier, and
// how often samples asked for class k are classified as k.
//
// Contract: add(predicted [n], wanted [n]) counts, per wanted class, the rows and the rows where the two agree
// (labels outside [0, K) are refused with InternalError); to_bytes()/merge_bytes() add another rank's counts.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace lockstep {

struct ClassCounts {
  std::vector<int64_t> total, correct;  // per wanted class

  explicit ClassCounts(int64_t num_classes);
  void add(const torch::Tensor& predicted, const torch::Tensor& wanted);
  std::string to_bytes() const;
  void merge_bytes(const std::string& bytes);
  int64_t rows() const;
  double accuracy() const;           // over all rows
  double accuracy(int64_t k) const;  // over rows that wanted class k (NaN when none did)
};

}  // namespace lockstep
