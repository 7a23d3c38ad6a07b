#include "common/metrics/class_counts.h"

#include <cstring>
#include <limits>

#include "common/util/error.h"

namespace lockstep {

ClassCounts::ClassCounts(int64_t num_classes) : total(static_cast<size_t>(num_classes)), correct(static_cast<size_t>(num_classes)) {}

void ClassCounts::add(const torch::Tensor& predicted, const torch::Tensor& wanted) {
  const torch::Tensor p = predicted.to(torch::kCPU, torch::kInt64).contiguous(), w = wanted.to(torch::kCPU, torch::kInt64).contiguous();
  LS_CHECK(p.numel() == w.numel(), "ClassCounts::add: " << p.numel() << " predictions for " << w.numel() << " labels");
  const int64_t* pp = p.data_ptr<int64_t>();
  const int64_t* wp = w.data_ptr<int64_t>();
  const int64_t k = static_cast<int64_t>(total.size());
  for (int64_t i = 0; i < p.numel(); ++i) {
    LS_CHECK(wp[i] >= 0 && wp[i] < k, "ClassCounts::add: label " << wp[i] << " outside [0, " << k << ")");
    ++total[static_cast<size_t>(wp[i])];
    if (pp[i] == wp[i]) ++correct[static_cast<size_t>(wp[i])];
  }
}

std::string ClassCounts::to_bytes() const {
  std::string b(reinterpret_cast<const char*>(total.data()), total.size() * sizeof(int64_t));
  b.append(reinterpret_cast<const char*>(correct.data()), correct.size() * sizeof(int64_t));
  return b;
}

void ClassCounts::merge_bytes(const std::string& b) {
  const size_t k = total.size();
  LS_CHECK(b.size() == 2 * k * sizeof(int64_t), "ClassCounts::merge_bytes: " << b.size() << " bytes for " << k << " classes");
  std::vector<int64_t> v(2 * k);
  std::memcpy(v.data(), b.data(), b.size());
  for (size_t i = 0; i < k; ++i) total[i] += v[i], correct[i] += v[k + i];
}

int64_t ClassCounts::rows() const {
  int64_t n = 0;
  for (int64_t t : total) n += t;
  return n;
}

double ClassCounts::accuracy() const {
  int64_t c = 0;
  for (int64_t v : correct) c += v;
  return rows() > 0 ? static_cast<double>(c) / static_cast<double>(rows()) : std::numeric_limits<double>::quiet_NaN();
}

double ClassCounts::accuracy(int64_t k) const {
  const size_t i = static_cast<size_t>(k);
  return total[i] > 0 ? static_cast<double>(correct[i]) / static_cast<double>(total[i]) : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace lockstep
