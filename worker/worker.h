// The worker: plays one frame on this rank's slice of the global batch.
//
// Protocol of play(frame), in this order (the phases that metrics.jsonl and the trace time):
//   1. data      draw this rank's slice [begin, end) of the global batch (counter-based, common/data/batch.h). With
//                data.prefetch the slice was drawn during the tick before, on a background thread that guessed this
//                tick's slice to be the last one's (slice_prefetch.h; a wrong guess is drawn now), and this phase is
//                the wait for it; the next tick's slice starts there at once. On a GPU the slice is drawn into pinned
//                memory and copied on a side stream, packed uint8 images as bytes (device_feed.h)
//   2. forward   per-sample losses of the configured objective; the rank's loss is its slice's sum divided by the
//                global batch B (the network's own fused step where it has one, Net::fused_step, else autograd; with
//                engine.cuda_graphs a replayed CUDA graph of forward and backward, timed as forward: tick_graph.h,
//                whose buckets then start after it)
//   3. backward  gradients land in the flat gradient buffer; bucket all-reduces start as buckets fill
//                (grad_reducer.h), overlapping communication with the rest of backward. With train.micro_batch the
//                slice is played in chunks of at most that many samples (forward and backward each), gradients
//                adding up, and the buckets start in the last chunk's backward
//   4. comm      wait for the remaining buckets: every rank now holds the gradient of the mean loss over the
//                whole global batch, whatever the split
//   5. optimizer global-norm clipping (optional), Adam and the EMA on the flat parameters, identical on every rank;
//                a non-finite reduced gradient skips the step on every rank alike. With train.precision fp16_mixed
//                the loss is multiplied by the loss scale before backward (loss_scaler.h), the reduced gradient
//                divided by it here, and the scale updated from the same decision on every rank
//   then, when the frame asks: the held-out loss of this rank's slice of the held-out set (evaluate), and a
//   hash of every state tensor (check_hash).
// Faults (LOCKSTEP_FAULT, common/util/fault.h) are injected by one call per phase.
// Collective: play() all-reduces, so every rank must play every frame.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/checkpoint/checkpoint.h"
#include "common/comm/comm.h"
#include "common/data/batch.h"
#include "common/loss/losses.h"
#include "common/checkpoint/init_weights.h"
#include "common/model/autocast.h"
#include "common/model/flat_params.h"
#include "common/model/fused_step.h"
#include "common/model/model_size.h"
#include "common/model/net.h"
#include "common/optim/adam.h"
#include "common/optim/loss_scaler.h"
#include "common/path/parametrization.h"
#include "common/path/schedule.h"
#include "common/proto/config.pb.h"
#include "common/proto/engine.pb.h"
#include "common/util/fault.h"
#include "worker/device_feed.h"
#include "worker/grad_reducer.h"
#include "worker/slice_prefetch.h"
#include "worker/tick_graph.h"

namespace lockstep {

enum class FastPath;

class Worker {
 public:
  // init_weights: a new run reads model.init_from (where set) on rank 0 before the parameters are broadcast; a resumed
  // run does not (its checkpoint holds the weights).
  Worker(const Config& cfg, Comm& comm, bool init_weights = true);
  ~Worker();
  Report play(const Frame& frame);

  Net& net() { return *net_; }
  // Where this rank trains (engine.device), and how its slices get there (for the start-up banner).
  const torch::Device& device() const { return device_; }
  std::string input_note() const;
  const Schedule& schedule() const { return *schedule_; }
  const DataSource& data() const { return *data_; }
  // The source distribution (source.name "data"), or nullptr for N(0, I).
  const std::shared_ptr<const DataSource>& source() const { return source_; }
  FlatParams& params() { return *params_; }
  const GradReducer& reducer() const { return *reducer_; }
  // This rank's fault injector (LOCKSTEP_FAULT), also asked by the checkpoint system.
  const FaultInjector& faults() const { return faults_; }
  // Where the gradient buffer lives, for the start-up banner ("" where the backend offers no choice).
  const std::string& grad_buffer_note() const { return grad_buffer_note_; }
  // The most samples this rank plays in one forward and backward with an equal split (its slice, or train.micro_batch).
  uint64_t samples_at_once() const { return samples_at_once_; }
  // What model.init_from loaded (rank 0 of a new run that sets it; else zeros), for the start-up banner.
  const InitLoad& init_load() const { return init_load_; }
  // The memory estimate checked before the model was built (model_size.h), for the start-up banner.
  const TrainingMemory& memory_estimate() const { return memory_estimate_; }
  // The CPU fast paths this run takes (common/kernels/fast_paths.h), for the start-up banner.
  std::vector<FastPath> fast_paths() const;
  // Model, optimizer and EMA state for a checkpoint (config and tick filled in by the caller).
  CheckpointData state() const;
  // Continues from a checkpoint's state (resume); throws BadInput naming `origin` when it does not fit.
  void restore(const CheckpointData& ckpt, const std::string& origin);
  // While it lives, the network's parameters are the EMA weights (when `active` and there are any); then the raw
  // ones again.
  class EmaSwap {
   public:
    explicit EmaSwap(Worker& w, bool active = true);
    ~EmaSwap();
    EmaSwap(const EmaSwap&) = delete;
    EmaSwap& operator=(const EmaSwap&) = delete;

   private:
    Worker& w_;
    torch::Tensor raw_;
  };
  // Names of the state tensors, in the order of Report.state_hash: params/<p>, adam.exp_avg/<p>,
  // adam.exp_avg_sq/<p>, (with EMA) ema/<p> and (train.loss TVM) target/<p> for every parameter p.
  std::vector<std::string> state_tensor_names() const;
  // The state tensor of that name, as float32 on the host.
  torch::Tensor state_tensor(const std::string& name) const;

 private:
  // The phases of play().
  void draw_slice(const Frame& frame, uint64_t n, Timings* tm);
  // Draws the slice `key` into `host` and, on a GPU, sends it to `dev` (on the prefetch thread, or this one).
  void prepare(const SliceKey& key, TrainBatch* host, TrainBatch* dev);
  double forward_backward(const Frame& frame, uint64_t n, Timings* tm);
  void optimizer_step(const Frame& frame, Report* report, Timings* tm);

  std::vector<uint64_t> state_hashes() const;
  double held_out_loss_sum(uint64_t* count);
  torch::Tensor loss_of(const TrainBatch& b);  // per-sample losses of the configured objective
  double next_ema_weight() const;  // 1 - the EMA's decay at the coming optimizer step; 0: no EMA
  // Autocast for bf16_mixed, and for fp16_mixed on CUDA (LibTorch's CPU autocast has no float16).
  bool autocast_on() const { return bf16_ || (fp16_ && device_.is_cuda()); }
  void update_target();

  Config cfg_;
  Comm& comm_;
  uint64_t samples_at_once_ = 0;
  TrainingMemory memory_estimate_;
  InitLoad init_load_;
  FaultInjector faults_;
  bool shared_coupling_ = false;  // train.coupling.solve_on COORDINATOR: BatchMaker::make is collective
  std::unique_ptr<DataSource> data_;
  std::unique_ptr<DataSource> eval_data_;
  std::shared_ptr<const DataSource> source_;  // source.name "data": what the flow starts from (else N(0, I))
  bool bf16_ = false;  // train.precision == "bf16_mixed"
  bool fp16_ = false;  // train.precision == "fp16_mixed"
  std::unique_ptr<LossScaler> scaler_;  // fp16_mixed: the dynamic loss scale
  Bf16Convs bf16_convs_ = Bf16Convs::kNative;  // train.bf16_convolutions, resolved
  bool classify_ = false;  // train.loss == CLASSIFY
  bool tvm_ = false;       // train.loss == TVM
  std::unique_ptr<FusedStep> fused_step_;  // the network's own training step, where it has one
  torch::Tensor ema_;  // flat EMA of the parameters (train.ema_decay > 0), on the parameters' device
  // train.loss TVM: the target network (same architecture) whose flat parameters are the target weights
  std::shared_ptr<Net> target_net_;
  std::unique_ptr<FlatParams> target_params_;
  std::unique_ptr<Schedule> schedule_;
  std::shared_ptr<Net> net_;
  std::unique_ptr<FlatParams> params_;
  std::string grad_buffer_note_;
  std::unique_ptr<Adam> adam_;
  std::unique_ptr<GradReducer> reducer_;
  std::unique_ptr<BatchMaker> batches_, held_out_;
  TrainBatch batch_, batch_dev_, eval_batch_;
  std::unique_ptr<DeviceFeed> feed_;         // to the GPU: pinned memory, a side stream
  std::unique_ptr<SlicePrefetch> prefetch_;  // data.prefetch: the next slice drawn while this tick computes
  TrainBatch batch_ahead_, batch_dev_ahead_;  // what the prefetch thread writes
  std::unique_ptr<TickGraph> graph_;         // engine.cuda_graphs
  torch::Device device_ = torch::kCPU;
  Prediction prediction_ = Prediction::kVelocity;
  LossWeight weight_;
};

}  // namespace lockstep
