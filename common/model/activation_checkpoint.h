// Activation checkpointing (model.checkpoint_activations): a block whose activations autograd does not keep.
//
// Contract: checkpointed(fn, inputs, params) returns fn(inputs), computed without a graph; autograd keeps only the
// inputs. In backward the block is run again on the saved inputs, with a graph and under the autocast settings of
// the forward pass (autocast.h), and the incoming gradient is propagated through that graph to the inputs and to
// `params` (every parameter fn reads: their gradients reach them through this node, so AccumulateGrad and its hooks
// run as usual). fn must be deterministic (no dropout) and must outlive the backward pass (it may capture the
// block). The recomputed forward is the forward, so gradients equal those of fn without checkpointing.
// Differentiable once: the node's backward builds no graph of its own, and it has no forward-mode derivative.
// checkpointing_allowed() tells a network whether to checkpoint now: grad mode on and no NoCheckpointScope alive
// on this thread (the TVM loss opens one around its JVP, which needs forward mode or a second derivative).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <vector>

namespace lockstep {

using BlockFn = std::function<torch::Tensor(const std::vector<torch::Tensor>&)>;

torch::Tensor checkpointed(BlockFn fn, const std::vector<torch::Tensor>& inputs, const std::vector<torch::Tensor>& params);

bool checkpointing_allowed();

class NoCheckpointScope {
 public:
  NoCheckpointScope();
  ~NoCheckpointScope();
  NoCheckpointScope(const NoCheckpointScope&) = delete;
  NoCheckpointScope& operator=(const NoCheckpointScope&) = delete;

 private:
  bool previous_;
};

}  // namespace lockstep
