// The worker: plays one frame on this rank's slice of the global batch.
//
// Protocol of play(frame), in this order (the phases that metrics.jsonl times):
//   1. data      draw this rank's slice [begin, end) of the global batch (counter-based, common/data/batch.h)
//   2. forward   per-sample CFM loss; the rank's loss is its slice's sum divided by the global batch B
//   3. backward  gradients accumulate into the flat gradient buffer
//   4. comm      all-reduce (sum) of the flat gradient over all ranks: every rank now holds the gradient of the
//                mean loss over the whole global batch, whatever the split
//   5. optimizer global-norm clipping (optional) and Adam on the flat parameters, identical on every rank
// Collective: play() calls the Comm all-reduce, so every rank must play every frame.
#pragma once

#include <memory>

#include "common/checkpoint/checkpoint.h"
#include "common/comm/comm.h"
#include "common/data/batch.h"
#include "common/model/flat_params.h"
#include "common/model/net.h"
#include "common/optim/adam.h"
#include "common/path/schedule.h"
#include "common/proto/config.pb.h"
#include "common/proto/engine.pb.h"

namespace lockstep {

class Worker {
 public:
  Worker(const Config& cfg, Comm& comm);
  Report play(const Frame& frame);

  Net& net() { return *net_; }
  const Schedule& schedule() const { return *schedule_; }
  const DataSource& data() const { return *data_; }
  FlatParams& params() { return *params_; }
  // Model and optimizer state for a checkpoint (config and tick filled in by the caller).
  CheckpointData state() const;

 private:
  Config cfg_;
  Comm& comm_;
  std::unique_ptr<DataSource> data_;
  std::unique_ptr<Schedule> schedule_;
  std::shared_ptr<Net> net_;
  std::unique_ptr<FlatParams> params_;
  std::unique_ptr<Adam> adam_;
  std::unique_ptr<BatchMaker> batches_;
  TrainBatch batch_;
};

// The initialisation seed of the model: model.init_seed, or one derived from the run seed.
uint64_t init_seed_of(const Config& cfg);

}  // namespace lockstep
