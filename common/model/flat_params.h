// One flat buffer for all parameters and one for all gradients.
//
// Contract: the constructor copies every parameter of the module (in registration order) into one contiguous
// float32 buffer and makes the parameter a view of it; each parameter's .grad() becomes a view of a second
// flat buffer, into which autograd accumulates in place. The optimizer, the gradient all-reduce (in
// contiguous buckets), clipping, hashing and checkpoints then work on two tensors instead of hundreds.
// zero_grad() zeroes the gradient buffer in one operation and keeps the views. The buffers live on the device
// of the parameters (move the module before building FlatParams). On the CPU, `grad_storage` may supply the memory
// of the gradient buffer (a float pointer for the given count, or nullptr for a buffer of its own): the shm
// backend sums gradients there without copying them (comm.h, reduce_buffer); that memory must outlive the
// FlatParams.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

namespace lockstep {

struct ParamSpan {
  std::string name;
  std::vector<int64_t> shape;
  int64_t offset;  // in elements, into the flat buffers
  int64_t numel;
};

class FlatParams {
 public:
  using GradStorage = std::function<float*(int64_t numel)>;
  explicit FlatParams(torch::nn::Module& module, const GradStorage& grad_storage = nullptr);
  torch::Tensor& values() { return values_; }
  torch::Tensor& grads() { return grads_; }
  const std::vector<ParamSpan>& spans() const { return spans_; }
  // The parameters themselves, in span order.
  const std::vector<torch::Tensor>& tensors() const { return params_; }
  int64_t numel() const { return values_.numel(); }
  void zero_grad() { grads_.zero_(); }
  // True while every parameter and gradient is still a view of the flat buffers.
  bool views_intact() const;

 private:
  torch::Tensor values_, grads_;
  std::vector<torch::Tensor> params_;
  std::vector<ParamSpan> spans_;
};

}  // namespace lockstep
