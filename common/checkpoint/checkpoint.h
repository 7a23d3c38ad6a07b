// Checkpoints as tensors: the run's state to and from the sealed file format of checkpoint_file.h.
//
// Contract: save_checkpoint() is called by the coordinator only and writes atomically (fs.h), so a crash
// leaves the previous checkpoint intact. load_checkpoint() refuses (BadInput, exit 2) a file that is not a
// checkpoint, is truncated, or has a damaged manifest or payload, naming what is damaged. Files live in
// <run>/checkpoints/tick-<8 digits>.ckpt; resolve_checkpoint() maps a run directory to its latest one. Retention
// removes only checkpoints of its own run (their run_id) and its own leftover temporary files, never through a
// symbolic link.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "common/model/flat_params.h"

namespace lockstep {

struct CheckpointData {
  std::string config_text;  // the effective config, text format
  uint64_t tick = 0;        // ticks completed
  uint32_t world_size = 1;
  uint64_t optimizer_step = 0;
  uint64_t seed = 0;           // the master seed (the key of all counter-based randomness)
  uint64_t data_epoch = 0, data_position = 0;  // where the data permutation stands (finite data)
  uint64_t skipped_ticks = 0;  // ticks skipped for non-finite values
  // train.precision fp16_mixed (loss_scaler.h): the scale for the next tick (0: none saved), the finite ticks in a
  // row since it last changed, the ticks skipped because float16 overflowed (a part of skipped_ticks)
  double loss_scale = 0.0;
  uint64_t loss_scale_good_ticks = 0, overflow_ticks = 0;
  std::string run_id;          // the run that wrote it ("" in checkpoints of Lockstep before 2026-12-03)
  std::string version;         // the Lockstep version that wrote it (filled in by load_checkpoint)
  bool sealed = true;          // false: format 1, whose manifest has no CRC (filled in by load_checkpoint)
  std::vector<ParamSpan> params;
  std::vector<std::pair<std::string, torch::Tensor>> tensors;  // flat float32 payloads by name
  const torch::Tensor& tensor(const std::string& name, const std::string& origin) const;
};

void save_checkpoint(const std::string& path, const CheckpointData& data);
// The bytes save_checkpoint() writes.
std::string checkpoint_bytes(const CheckpointData& data);
// Retention: among the checkpoints of <run_dir>/checkpoints that run `run_id` wrote (regular files whose manifest
// names it), removes all but the newest keep_last (0: all) and those whose tick is a multiple of keep_every (0: none);
// also leftover temporary files of its crashed writes. Anything else in the folder is left alone. Returns the ticks
// kept, ascending.
std::vector<uint64_t> prune_checkpoints(const std::string& run_dir, const std::string& run_id, uint32_t keep_last, uint64_t keep_every);
CheckpointData load_checkpoint(const std::string& path);

// Writes the network's parameters from a checkpoint's payload ("params", or "ema"), after checking that names
// and shapes match; throws BadInput listing every parameter that differs.
void load_params(FlatParams& params, const CheckpointData& ckpt, const std::string& origin,
                 const std::string& payload = "params");
bool has_payload(const CheckpointData& ckpt, const std::string& name);

std::string checkpoint_path(const std::string& run_dir, uint64_t tick);
// The run directory a file belongs to: the parent of its checkpoints/ folder, else its own folder ("." when none).
std::string run_dir_of(const std::string& file);
// A checkpoint file as is; a run directory (or its checkpoints/ folder): its latest checkpoint.
std::string resolve_checkpoint(const std::string& file_or_dir);
// The tick of a name "tick-<digits>.ckpt", or false.
bool checkpoint_tick_of(const std::string& file_name, uint64_t* tick);

}  // namespace lockstep
