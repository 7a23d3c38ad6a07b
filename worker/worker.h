// The worker: plays one frame on this rank's slice of the global batch.
//
// Protocol of play(frame), in this order (the phases that metrics.jsonl and the trace time):
//   1. data      draw this rank's slice [begin, end) of the global batch (counter-based, common/data/batch.h)
//   2. forward   per-sample CFM loss; the rank's loss is its slice's sum divided by the global batch B
//   3. backward  gradients accumulate into the flat gradient buffer; bucket all-reduces start as buckets fill
//                (grad_reducer.h), overlapping communication with the rest of backward
//   4. comm      wait for the remaining buckets: every rank now holds the gradient of the mean loss over the
//                whole global batch, whatever the split
//   5. optimizer global-norm clipping (optional) and Adam on the flat parameters, identical on every rank
//   Sharded instead (engine.shard_optimizer, CPU ranks of one machine; sharded_step.h): no buckets; 4. comm sums
//   this rank's shard of the gradient over every rank's buffer and exchanges the norm, 5. optimizer runs Adam on
//   that shard and writes it into every rank's parameters. The same bits either way.
//   then, when the frame asks: the held-out loss of this rank's slice of the held-out set (evaluate), and a
//   hash of every state tensor (check_hash).
// Collective: play() all-reduces, so every rank must play every frame.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/checkpoint/checkpoint.h"
#include "common/comm/comm.h"
#include "common/data/batch.h"
#include "common/loss/losses.h"
#include "common/model/autocast.h"
#include "common/model/flat_params.h"
#include "common/model/mlp_step.h"
#include "common/model/net.h"
#include "common/optim/adam.h"
#include "common/path/parametrization.h"
#include "common/path/schedule.h"
#include "common/proto/config.pb.h"
#include "common/proto/engine.pb.h"
#include "worker/grad_reducer.h"
#include "worker/sharded_step.h"

namespace lockstep {

class Worker {
 public:
  Worker(const Config& cfg, Comm& comm);
  Report play(const Frame& frame);

  Net& net() { return *net_; }
  const Schedule& schedule() const { return *schedule_; }
  const DataSource& data() const { return *data_; }
  // The source distribution (source.name "data"), or nullptr for N(0, I).
  const std::shared_ptr<const DataSource>& source() const { return source_; }
  FlatParams& params() { return *params_; }
  // The bucketed all-reduce; nullptr where the optimizer step is sharded (sharded()).
  const GradReducer* reducer() const { return reducer_.get(); }
  bool sharded() const { return shard_ != nullptr; }
  // Where the gradient buffer lives, or how the step is sharded, for the start-up banner ("" where the backend
  // offers no choice).
  const std::string& grad_buffer_note() const { return grad_buffer_note_; }
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
  std::vector<uint64_t> state_hashes() const;
  double held_out_loss_sum(uint64_t* count);
  torch::Tensor loss_of(const TrainBatch& b);  // per-sample losses of the configured objective
  double next_ema_weight() const;  // 1 - the EMA's decay at the coming optimizer step; 0: no EMA

  Config cfg_;
  Comm& comm_;
  bool shared_coupling_ = false;  // train.coupling.solve_on COORDINATOR: BatchMaker::make is collective
  std::unique_ptr<DataSource> data_;
  std::unique_ptr<DataSource> eval_data_;
  std::shared_ptr<const DataSource> source_;  // source.name "data": what the flow starts from (else N(0, I))
  bool bf16_ = false;  // train.precision == "bf16_mixed"
  Bf16Convs bf16_convs_ = Bf16Convs::kNative;  // train.bf16_convolutions, resolved
  bool classify_ = false;  // train.loss == CLASSIFY
  std::unique_ptr<MlpStep> mlp_step_;  // the fused MLP step where it applies (engine.fused_mlp)
  torch::Tensor ema_;  // flat EMA of the parameters (train.ema_decay > 0), on the parameters' device
  // train.loss TVM: the target network (same architecture) whose flat parameters are the target weights
  std::shared_ptr<Net> target_net_;
  std::unique_ptr<FlatParams> target_params_;
  bool tvm_ = false;
  void update_target();
  // This rank's shard of a flat buffer where the optimizer step is sharded (sharded_step.h), else the whole buffer.
  torch::Tensor own_shard(const torch::Tensor& flat) const;
  std::unique_ptr<Schedule> schedule_;
  std::shared_ptr<Net> net_;
  std::unique_ptr<FlatParams> params_;
  std::string grad_buffer_note_;
  std::unique_ptr<Adam> adam_;
  std::unique_ptr<GradReducer> reducer_;  // unless sharded
  std::unique_ptr<ShardedStep> shard_;    // engine.shard_optimizer, where the memory is shared
  std::unique_ptr<BatchMaker> batches_, held_out_;
  TrainBatch batch_, batch_dev_, eval_batch_;
  torch::Device device_ = torch::kCPU;
  Prediction prediction_ = Prediction::kVelocity;
  LossWeight weight_;
};

// The initialisation seed of the model: model.init_seed, or one derived from the run seed.
uint64_t init_seed_of(const Config& cfg);

}  // namespace lockstep
