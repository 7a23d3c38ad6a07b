// What `lockstep sample` and `lockstep eval` work on: a checkpoint file, a run directory (its latest checkpoint),
// or a .textproto config whose model is the oracle. Contract: load_model_source() reads and checks it (BadInput
// on anything wrong) and builds the data set, the path and the network with the checkpoint's EMA weights
// (when it has them and sample.use_ema) or its raw weights.
#pragma once

#include <memory>
#include <string>

#include "common/data/dataset.h"
#include "common/model/flat_params.h"
#include "common/model/net.h"
#include "common/path/schedule.h"
#include "common/proto/config.pb.h"

namespace lockstep {

struct ModelSource {
  std::string path;         // the checkpoint or config file actually read
  std::string run_dir;      // where default outputs go
  bool oracle = false;      // from a config: the closed-form oracle
  uint64_t tick = 0;        // ticks trained (checkpoints)
  bool ema = false;         // the network holds the checkpoint's EMA weights (else the raw ones)
  Config config;
  std::unique_ptr<DataSource> data;
  std::unique_ptr<Schedule> schedule;
  std::shared_ptr<Net> net;
  std::unique_ptr<FlatParams> params;
  std::string describe() const;  // "<path> (tick N)" or "<path> (oracle)"
};

// raw: the raw weights even when the checkpoint has EMA weights (sample.use_ema false does the same).
ModelSource load_model_source(const std::string& checkpoint_or_config, bool raw = false);

}  // namespace lockstep
