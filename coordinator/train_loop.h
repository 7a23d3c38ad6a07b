// `lockstep train`: the training script, run by every rank (train_loop.cpp reads top to bottom in this order).
//
// Phases:
//   1. set-up      threads, the fast-path switch, the run directory's name; the first frame, which carries rank 0's
//                  config hash: every rank checks that it loaded the same config (config_agreement.h) before
//                  anything is built or written; then rank 0 prepares the run directory (run_dir.h) and prints the
//                  banner (banner.h)
//   2. build       worker (data, path, model, flat parameters, Adam) and the systems of the tick loop
//   3. tick loop   plan -> send frame -> play -> gather reports -> collect -> systems in order (tick_system.h:
//                  sample evaluation, progress, trace, desync probe, non-finite, checkpoint, preemption)
//   4. finish      samples.npy, data.npy, samples.png and the energy distance, or a classifier's test accuracy
//                  (train_finish.h)
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
