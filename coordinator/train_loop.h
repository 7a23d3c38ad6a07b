// `lockstep train`: the training script, run by every rank.
//
// Phases (train_loop.cpp reads top to bottom in this order):
//   1. set-up      threads, run directory, effective config (printed and stored by rank 0)
//   2. build       worker (data, path, model, flat parameters, Adam) and coordinator
//   3. tick loop   plan -> broadcast frame -> play -> gather reports -> collect -> systems (log, checkpoint)
//   4. finish      the final checkpoint, then samples.npy, data.npy, samples.png and the energy distance
// Collective: every rank runs run_training() with the same config.
#pragma once

#include <string>

#include "common/comm/comm.h"
#include "common/config/config.h"

namespace lockstep {

struct TrainResult {
  std::string run_dir;
  std::string checkpoint;
  double energy_distance = 0.0;
  double gaussian_energy_distance = 0.0;
  double train_seconds = 0.0;
};

// Trains; `out_dir` empty means runs/<name>-<time>/. Throws BadInput on bad input.
TrainResult run_training(const LoadedConfig& cfg, const std::string& out_dir, Comm& comm);

}  // namespace lockstep
