#include "worker/tick_graph.h"

#include "common/util/error.h"

#ifdef LOCKSTEP_HAVE_C10_CUDA
#include <ATen/autocast_mode.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace lockstep {
namespace {

torch::Tensor eager(const TickGraph::LossSum& loss_sum, const TrainBatch& chunk, double factor) {
  const torch::Tensor sum = loss_sum(chunk);
  (sum * factor).backward();
  return sum.detach();
}

}  // namespace

#ifdef LOCKSTEP_HAVE_C10_CUDA
struct TickGraph::Impl {
  Impl(LossSum f, const torch::Device& d) : loss_sum(std::move(f)), device(d) {}
  LossSum loss_sum;
  torch::Device device;
  int runs = 0;
  TrainBatch in;         // the static inputs the graph reads
  torch::Tensor factor;  // 0-dim float32 on the device
  torch::Tensor out;     // the static loss sum the graph writes
  std::unique_ptr<at::cuda::CUDAGraph> graph;

  void copy_in(const TrainBatch& chunk) {
    const auto to = batch_tensors(in);
    const auto from = batch_tensors(chunk);
    for (size_t k = 0; k < to.size(); ++k) {
      LS_CHECK(to[k]->defined() == from[k]->defined(), "engine.cuda_graphs: a chunk's fields differ from the captured chunk's");
      if (!to[k]->defined()) continue;
      LS_CHECK(to[k]->sizes() == from[k]->sizes(), "engine.cuda_graphs: a chunk of shape " << from[k]->sizes() << " where the graph captured "
                                                                                          << to[k]->sizes());
      to[k]->copy_(*from[k], /*non_blocking=*/true);
    }
  }

  void capture(const TrainBatch& chunk, double f) {
    in = TrainBatch();
    const auto to = batch_tensors(in);
    const auto from = batch_tensors(chunk);
    for (size_t k = 0; k < to.size(); ++k)
      if (from[k]->defined()) *to[k] = from[k]->clone();
    factor = torch::full({}, f, torch::TensorOptions(torch::kFloat32).device(device));
    c10::cuda::device_synchronize();
    auto made = std::make_unique<at::cuda::CUDAGraph>();
    const c10::cuda::CUDAStream stream = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device.index());
    {
      const c10::cuda::CUDAStreamGuard on_stream(stream);
      const bool cache = at::autocast::is_autocast_cache_enabled();
      at::autocast::set_autocast_cache_enabled(false);  // a cached cast would be captured once and go stale
      bool begun = false;
      try {
        made->capture_begin();
        begun = true;
        out = loss_sum(in);
        (out * factor).backward();
        begun = false;
        made->capture_end();
      } catch (...) {
        at::autocast::set_autocast_cache_enabled(cache);
        if (begun) {  // end the stream's capture (and the allocator's pool for it) before the error goes on
          try {
            made->capture_end();
          } catch (...) {
          }
        }
        throw;
      }
      at::autocast::set_autocast_cache_enabled(cache);
    }
    c10::cuda::device_synchronize();
    graph = std::move(made);  // only a graph whose capture ended
  }
};

TickGraph::TickGraph(LossSum loss_sum, const torch::Device& device) : impl_(std::make_unique<Impl>(std::move(loss_sum), device)) {}

torch::Tensor TickGraph::run(const TrainBatch& chunk, double factor) {
  Impl& g = *impl_;
  if (!g.device.is_cuda()) return eager(g.loss_sum, chunk, factor);
  if (g.runs < kWarmup) {  // eager on a side stream, ordered after the compute stream's work and before what follows
    ++g.runs;
    const c10::cuda::CUDAStream compute = c10::cuda::getCurrentCUDAStream(g.device.index());
    const c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool(false, g.device.index());
    torch::Tensor sum;
    {
      c10::cuda::CUDAStreamGuard on_side(side);
      side.synchronize();
      compute.synchronize();
      sum = eager(g.loss_sum, chunk, factor);
      side.synchronize();
    }
    return sum;
  }
  if (!g.graph) g.capture(chunk, factor);
  g.copy_in(chunk);
  g.factor.fill_(factor);
  g.graph->replay();
  return g.out;
}

bool TickGraph::captured() const { return impl_->graph != nullptr; }
#else
struct TickGraph::Impl {
  Impl(LossSum f, const torch::Device& d) : loss_sum(std::move(f)), device(d) {}
  LossSum loss_sum;
  torch::Device device;
};

TickGraph::TickGraph(LossSum loss_sum, const torch::Device& device) : impl_(std::make_unique<Impl>(std::move(loss_sum), device)) {}

torch::Tensor TickGraph::run(const TrainBatch& chunk, double factor) { return eager(impl_->loss_sum, chunk, factor); }

bool TickGraph::captured() const { return false; }
#endif

TickGraph::~TickGraph() = default;

}  // namespace lockstep
