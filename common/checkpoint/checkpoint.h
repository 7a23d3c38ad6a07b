// Checkpoint files: a protobuf manifest and raw float32 payloads, each with its size and CRC-32.
//
// Contract: save_checkpoint() is called by the coordinator only and writes atomically (fs.h), so a crash
// leaves the previous checkpoint intact. load_checkpoint() refuses (BadInput, exit 2) a file that is not a
// checkpoint, is truncated, or has a damaged payload, naming the payload. Files live in
// <run>/checkpoints/tick-<8 digits>.ckpt; resolve_checkpoint() maps a run directory to its latest one.
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
  std::vector<ParamSpan> params;
  std::vector<std::pair<std::string, torch::Tensor>> tensors;  // flat float32 payloads by name
  const torch::Tensor& tensor(const std::string& name, const std::string& origin) const;
};

void save_checkpoint(const std::string& path, const CheckpointData& data);
CheckpointData load_checkpoint(const std::string& path);

std::string checkpoint_path(const std::string& run_dir, uint64_t tick);
// A checkpoint file as is; a run directory (or its checkpoints/ folder): its latest checkpoint.
std::string resolve_checkpoint(const std::string& file_or_dir);

}  // namespace lockstep
