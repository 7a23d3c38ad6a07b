#include "worker/device_feed.h"

#ifdef LOCKSTEP_HAVE_C10_CUDA
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace lockstep {

#ifdef LOCKSTEP_HAVE_C10_CUDA
struct DeviceFeed::Impl {
  c10::cuda::CUDAStream side;
};

DeviceFeed::DeviceFeed(const torch::Device& device) : device_(device) {
  if (device.is_cuda()) impl_ = std::make_unique<Impl>(Impl{c10::cuda::getStreamFromPool(/*isHighPriority=*/true, device.index())});
}

void DeviceFeed::bind_thread() const {
  if (impl_) c10::cuda::set_device(device_.index());
}

void DeviceFeed::send(const TrainBatch& host, TrainBatch* dev) {
  if (!impl_) {
    *dev = to_device(host, device_);
    return;
  }
  const c10::cuda::CUDAStreamGuard on_side(impl_->side);  // (also makes the batch's device current on this thread)
  *dev = to_device(host, device_, /*non_blocking=*/true);
  impl_->side.synchronize();
}

void DeviceFeed::receive(const TrainBatch& dev) const {
  if (!impl_) return;
  const c10::cuda::CUDAStream compute = c10::cuda::getCurrentCUDAStream(device_.index());
  for (const torch::Tensor* t : batch_tensors(dev))
    if (t->defined()) t->record_stream(compute);
}
#else
struct DeviceFeed::Impl {};

DeviceFeed::DeviceFeed(const torch::Device& device) : device_(device) {}

void DeviceFeed::bind_thread() const {}

void DeviceFeed::send(const TrainBatch& host, TrainBatch* dev) { *dev = to_device(host, device_); }

void DeviceFeed::receive(const TrainBatch&) const {}
#endif

DeviceFeed::~DeviceFeed() = default;

}  // namespace lockstep
