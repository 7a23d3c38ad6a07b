// Bucketed, overlapped all-reduce of the flat gradient buffer (docs/design.md, "Communication").
//
// Contract: the flat gradient is cut into contiguous buckets of about engine.bucket_kb, ordered from the end of
// the buffer (the last layers, whose gradients backward produces first). A post-hook on each parameter's
// gradient accumulator counts the bucket's parameters as autograd finishes them; when a bucket is complete and
// every bucket before it has started, its all-reduce starts at once, while backward goes on with earlier
// layers. Later hooks drive progress (MPI progresses only inside MPI calls). finish() starts what is left (a
// rank with an empty slice starts everything), in the same bucket order on every rank, and waits. Between
// begin() and finish() the hooks are live; collective: every rank must call both every tick.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <mutex>
#include <vector>

#include "common/comm/comm.h"
#include "common/model/flat_params.h"

namespace torch::autograd {
struct Node;
}

namespace lockstep {

class GradReducer {
 public:
  GradReducer(FlatParams& flat, Comm& comm, size_t bucket_bytes);
  ~GradReducer();
  void begin();
  // Starts the remaining buckets and waits for all; returns the seconds spent waiting here.
  double finish();
  size_t bucket_count() const { return buckets_.size(); }
  // Buckets whose all-reduce started inside backward in the last tick (overlapped).
  size_t started_in_backward() const { return started_in_backward_; }
  void on_ready(size_t param);  // called by the hooks

 private:
  struct Bucket {
    int64_t offset = 0, numel = 0;
    int params = 0, pending = 0;
    std::unique_ptr<PendingReduce> reduce;
  };
  void start_ready_locked();

  FlatParams& flat_;
  Comm& comm_;
  std::vector<Bucket> buckets_;
  std::vector<size_t> bucket_of_;
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;
  std::mutex mu_;
  size_t next_ = 0;
  size_t started_in_backward_ = 0;
  bool active_ = false;
};

}  // namespace lockstep
