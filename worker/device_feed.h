// A rank's slice on its GPU without stalling the GPU's stream (data.prefetch on CUDA).
//
// Contract:
// - pinned(): whether the host batch should be drawn into pinned memory (a CUDA device, with a LibTorch built with
//   CUDA); asynchronous copies need it.
// - send(host, dev), on the prefetch thread: copies the host batch to the device on a side stream of its own
//   (a high-priority stream of LibTorch's pool, so never one that a graph captures on: those are low-priority;
//   to_device: uint8 items cross as bytes and become floats on the GPU) and waits for that stream, so the host
//   buffers may be written again once it returns while the compute stream never waited for the copy.
// - bind_thread(), on the prefetch thread before it allocates: makes the rank's GPU that thread's current device, so
//   that pinned allocations and copies there never open a context on another GPU.
// - receive(dev), on the thread that trains, before the tick uses the batch: tells LibTorch's caching allocator that
//   the compute stream uses the batch's tensors, so that their memory, allocated on the side stream, is not handed out
//   again while the compute stream's kernels still read it.
// On the CPU, or with a LibTorch built without CUDA, send is to_device and receive does nothing.
#pragma once

#include <torch/torch.h>

#include <memory>

#include "common/data/batch.h"

namespace lockstep {

class DeviceFeed {
 public:
  explicit DeviceFeed(const torch::Device& device);
  ~DeviceFeed();
  DeviceFeed(const DeviceFeed&) = delete;
  DeviceFeed& operator=(const DeviceFeed&) = delete;

  bool pinned() const { return impl_ != nullptr; }
  void bind_thread() const;
  void send(const TrainBatch& host, TrainBatch* dev);
  void receive(const TrainBatch& dev) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  torch::Device device_;
};

}  // namespace lockstep
