// The finish phase of `lockstep train` (after the last tick, when the run was not preempted), run by every rank.
//
// Contract: finish_training() first reports the run on rank 0 (ticks, seconds, the last checkpoint, and on several
// ranks how much longer the slowest rank computed than the mean one), then, collectively:
// - a classifier (train.loss CLASSIFY): its accuracy on the held-out split (EMA weights when sample.use_ema), a
//   line in metrics.jsonl and a `metrics:` line;
// - any other model: sample.num samples, made by all ranks together (evaluation/sample_run.h), then on rank 0
//   samples.npy, data.npy (as many fresh data points), samples.png, and the energy distance against the data next
//   to a Gaussian with the data's mean and covariance (metrics.jsonl and a `metrics:` line).
#pragma once

#include "coordinator/tick_system.h"
#include "coordinator/train_loop.h"

namespace lockstep {

void finish_training(Run& run, TrainResult* result);

}  // namespace lockstep
