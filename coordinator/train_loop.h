// `lockstep train`: the training script, run by every rank.
//
// Phases (train_loop.cpp reads top to bottom in this order):
//   1. set-up      threads, run directory, effective config (printed and stored by rank 0)
//   2. build       worker (data, path, model, flat parameters, Adam) and coordinator
//   3. tick loop   plan -> broadcast frame -> play -> gather reports -> collect -> systems (log, checkpoint)
//   4. finish      the final checkpoint, then samples.npy, data.npy, samples.png and the energy distance
//                  (a classifier, train.loss CLASSIFY: its accuracy on the held-out split instead)
// Stop signals (SIGTERM, SIGUSR1) reach rank 0 through the reports: the tick in flight finishes, rank 0 writes
// its checkpoint, and a stop frame ends every rank (exit code 75). Non-finite ticks: train.nonfinite.
// Collective: every rank runs run_training() with the same config.
#pragma once

#include <string>

#include "common/checkpoint/checkpoint.h"
#include "common/comm/comm.h"
#include "common/config/config.h"

namespace lockstep {

struct TrainResult {
  std::string run_dir;
  std::string checkpoint;
  double energy_distance = 0.0;
  double gaussian_energy_distance = 0.0;
  double train_seconds = 0.0;
  double test_accuracy = 0.0;  // classifiers: accuracy on the held-out split
  bool preempted = false;  // stopped by SIGTERM/SIGUSR1 after writing a checkpoint (exit code 75)
};

// Where a resumed run continues from (read by every rank).
struct ResumePoint {
  std::string path;  // the checkpoint file
  CheckpointData state;
};

// Trains; `out_dir` empty means runs/<name>-<time>/. With `resume`, continues that checkpoint's run in out_dir
// (its run directory): state restored, metrics.jsonl cut back to the checkpoint's tick and continued.
// Throws BadInput on bad input, TrainingStopped on non-finite values under train.nonfinite STOP.
TrainResult run_training(const LoadedConfig& cfg, const std::string& out_dir, Comm& comm, const ResumePoint* resume = nullptr);

}  // namespace lockstep
