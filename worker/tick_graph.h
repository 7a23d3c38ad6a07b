// A tick's forward and backward as a CUDA graph, captured once and replayed (engine.cuda_graphs).
//
// Contract: run(chunk, factor) plays one chunk of the rank's slice: the chunk's loss sum (the LossSum given), times
// `factor` (the loss scale over the global batch), backpropagated into the parameters' gradients (adding to them), and
// returns the loss sum as a 0-dim tensor on the device (read it before the next run). The first kWarmup runs are
// eager, on a side stream (LibTorch's libraries set up their workspaces there); the next one copies its chunk into
// static input tensors, captures itself in a CUDA graph (autocast's weight cache off while capturing) and replays it;
// every later run copies its chunk into those tensors and replays. So every chunk must have the captured shapes (the
// config's checks make sure: engine.cuda_graphs; another shape is an InternalError), the loss must not read anything
// back to the host (the path's coefficients come precomputed: TrainBatch::path), and the gradients must stay where
// they are (FlatParams). No other thread may allocate or copy on the device during the run that captures (CUDA then
// invalidates the capture): the caller holds its prefetch back until captured(). Gradient hooks run while warming up and capturing, never in a replay: the caller all-reduces
// after the chunks. On the CPU, or with a LibTorch built without CUDA, every run is eager.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>

#include "common/data/batch.h"

namespace lockstep {

class TickGraph {
 public:
  using LossSum = std::function<torch::Tensor(const TrainBatch&)>;
  static constexpr int kWarmup = 3;
  TickGraph(LossSum loss_sum, const torch::Device& device);
  ~TickGraph();
  TickGraph(const TickGraph&) = delete;
  TickGraph& operator=(const TickGraph&) = delete;

  torch::Tensor run(const TrainBatch& chunk, double factor);
  // Whether a graph was captured (for the banner and the tests).
  bool captured() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lockstep
