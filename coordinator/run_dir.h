// The run directory of `lockstep train`: checked by rank 0 before anything is built, changed only after every
// check has passed.
//
// Contract (rank 0 does the work; both functions are collective, and every rank throws BadInput with rank 0's
// message when it fails):
// - check_run_dir() refuses, without touching anything:
//   * a run directory that is a symbolic link, is not a directory, is owned by another user, or can be written by
//     every user (another user could plant links in it);
//   * for a new run, a directory that already holds any file of a run (metrics.jsonl, config.textproto, run_id,
//     checkpoints, samples, trace; a dangling link counts);
//   * for a resume, a directory that is not the checkpoint's run: the checkpoint must lie in <run>/checkpoints/,
//     <run> must hold config.textproto, and its run_id must be the checkpoint's (a checkpoint of Lockstep before
//     run ids, format 1, resumes only a run directory without a run_id); <run>/checkpoints must not be a link.
// - prepare_run_dir() then creates the directory, writes run_id (a new run, or one written before run ids),
//   config.textproto, and on resume cuts metrics.jsonl back to the checkpoint's tick (lines of later ticks dropped,
//   and a torn last line), all atomically and never through a symbolic link.
// The run id is 32 hex digits, random, made by rank 0 for a new run and kept for the whole run (every checkpoint
// carries it): run_identity() returns it on every rank.
#pragma once

#include <cstdint>
#include <string>

#include "common/comm/comm.h"

namespace lockstep {

struct ResumeInfo {
  std::string checkpoint;  // the file resumed from
  std::string run_id;      // its run ("" for format 1)
  uint64_t tick = 0;
};

void check_run_dir(Comm& comm, const std::string& run_dir, const ResumeInfo* resume);
// Collective: the run's identity (rank 0's): the resumed checkpoint's, else a new one.
std::string run_identity(Comm& comm, const std::string& run_dir, const ResumeInfo* resume);
void prepare_run_dir(Comm& comm, const std::string& run_dir, const std::string& config_text, const std::string& run_id,
                     const ResumeInfo* resume);

// Keeps the lines of the metrics file up to `tick` (exposed for tests).
void cut_metrics(const std::string& path, uint64_t tick);

}  // namespace lockstep
