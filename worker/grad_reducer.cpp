#include "worker/grad_reducer.h"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <chrono>

#include "common/util/error.h"

namespace lockstep {
namespace {

// Runs after AccumulateGrad has written a parameter's gradient into the flat buffer.
class ReadyHook : public torch::autograd::FunctionPostHook {
 public:
  ReadyHook(GradReducer* reducer, size_t param) : reducer_(reducer), param_(param) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list&) override {
    reducer_->on_ready(param_);
    return outputs;
  }

 private:
  GradReducer* reducer_;
  size_t param_;
};

}  // namespace

GradReducer::GradReducer(FlatParams& flat, Comm& comm, size_t bucket_bytes) : flat_(flat), comm_(comm) {
  const std::vector<ParamSpan>& spans = flat.spans();
  const size_t n = spans.size();
  bucket_of_.assign(n, 0);
  // Buckets from the last parameter backwards, each at least bucket_bytes (the last one may be smaller).
  Bucket current;
  int64_t end = 0;
  for (size_t k = n; k-- > 0;) {
    if (current.params == 0) end = spans[k].offset + spans[k].numel;
    current.offset = spans[k].offset;
    current.numel = end - current.offset;
    ++current.params;
    bucket_of_[k] = buckets_.size();
    if (static_cast<size_t>(current.numel) * sizeof(float) >= bucket_bytes || k == 0) {
      buckets_.push_back(std::move(current));
      current = Bucket();
    }
  }
  if (comm_.size() == 1) return;  // nothing to reduce: no hooks
  for (size_t k = 0; k < n; ++k) {
    std::shared_ptr<torch::autograd::Node> acc = torch::autograd::impl::grad_accumulator(flat.tensors()[k]);
    LS_CHECK(acc != nullptr, "no gradient accumulator for parameter " << spans[k].name);
    acc->add_post_hook(std::make_unique<ReadyHook>(this, k));
    accumulators_.push_back(std::move(acc));
  }
}

GradReducer::~GradReducer() = default;

void GradReducer::begin() {
  std::lock_guard<std::mutex> lock(mu_);
  for (Bucket& b : buckets_) {
    b.pending = b.params;
    b.reduce.reset();
  }
  next_ = 0;
  started_in_backward_ = 0;
  active_ = true;
}

void GradReducer::on_ready(size_t param) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!active_) return;
  --buckets_[bucket_of_[param]].pending;
  const size_t before = next_;
  start_ready_locked();
  started_in_backward_ += next_ - before;
  for (size_t b = 0; b < next_; ++b) buckets_[b].reduce->test();  // drive progress
}

void GradReducer::start_ready_locked() {
  while (next_ < buckets_.size() && buckets_[next_].pending <= 0) {
    Bucket& b = buckets_[next_];
    b.reduce = comm_.allreduce_start(flat_.grads().data_ptr<float>() + b.offset, static_cast<size_t>(b.numel));
    ++next_;
  }
}

double GradReducer::finish() {
  const auto t0 = std::chrono::steady_clock::now();
  if (comm_.size() > 1) {
    std::lock_guard<std::mutex> lock(mu_);
    for (Bucket& b : buckets_) b.pending = 0;  // parameters that got no gradient still take part
    start_ready_locked();
    for (Bucket& b : buckets_) b.reduce->wait();
    active_ = false;
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace lockstep
