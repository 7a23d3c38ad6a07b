#include "common/checkpoint/checkpoint.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "common/checkpoint/checkpoint_file.h"
#include "common/util/error.h"
#include "common/util/strings.h"
#include "common/util/fs.h"

namespace lockstep {

const torch::Tensor& CheckpointData::tensor(const std::string& name, const std::string& origin) const {
  for (const auto& t : tensors) if (t.first == name) return t.second;
  throw BadInput(origin + ": checkpoint has no payload '" + name + "'");
}

std::string checkpoint_bytes(const CheckpointData& data) {
  Manifest m;
  m.set_lockstep_version(LOCKSTEP_VERSION);
  m.set_config(data.config_text);
  m.set_tick(data.tick);
  m.set_world_size(data.world_size);
  m.set_optimizer_step(data.optimizer_step);
  m.set_seed(data.seed);
  m.set_data_epoch(data.data_epoch);
  m.set_data_position(data.data_position);
  m.set_skipped_ticks(data.skipped_ticks);
  if (data.loss_scale > 0) {
    m.set_loss_scale(data.loss_scale);
    m.set_loss_scale_good_ticks(data.loss_scale_good_ticks);
    m.set_overflow_ticks(data.overflow_ticks);
  }
  m.set_run_id(data.run_id);
  m.set_created_unix_s(std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  for (const ParamSpan& s : data.params) {
    ParamInfo* p = m.add_params();
    p->set_name(s.name);
    for (int64_t d : s.shape) p->add_shape(d);
  }
  std::vector<torch::Tensor> held;  // contiguous float32 copies, alive while encoding
  std::vector<PayloadBytes> payloads;
  for (const auto& [name, tensor] : data.tensors) {
    held.push_back(tensor.to(torch::kFloat32).contiguous());
    const torch::Tensor& t = held.back();
    payloads.push_back({name, t.sizes().vec(), t.data_ptr(), static_cast<uint64_t>(t.numel()) * sizeof(float)});
  }
  return encode_checkpoint(std::move(m), payloads);
}

void save_checkpoint(const std::string& path, const CheckpointData& data) {
  const std::string file = checkpoint_bytes(data);
  make_dirs(std::filesystem::path(path).parent_path().string());
  write_file_atomic(path, file);
}

bool checkpoint_tick_of(const std::string& name, uint64_t* tick) {
  const std::string head = "tick-", tail = ".ckpt";
  if (name.size() <= head.size() + tail.size() || name.compare(0, head.size(), head) != 0 ||
      name.compare(name.size() - tail.size(), tail.size(), tail) != 0)
    return false;
  return parse_decimal(name.substr(head.size(), name.size() - head.size() - tail.size()), tick);
}

std::vector<uint64_t> prune_checkpoints(const std::string& run_dir, const std::string& run_id, uint32_t keep_last, uint64_t keep_every) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(run_dir) / "checkpoints";
  if (is_symlink(dir.string()) || !is_dir(dir.string())) return {};
  std::vector<uint64_t> ticks;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    std::error_code ec;
    if (!entry.is_regular_file(ec) || entry.is_symlink(ec)) continue;  // only plain files, never through a link
    uint64_t tick = 0;
    if (checkpoint_tick_of(name, &tick)) {
      std::string owner;
      try {
        owner = peek_checkpoint(entry.path().string()).run_id();
      } catch (const BadInput&) {
        continue;  // not a checkpoint Lockstep can read: not ours to delete
      }
      if (owner == run_id && !run_id.empty()) ticks.push_back(tick);
    } else if (name.size() > 1 && name[0] == '.') {
      // a write of ours that crashed half-way: ".tick-NNNNNNNN.ckpt.tmp-<16 hex digits>"
      const size_t at = name.find(".tmp-");
      uint64_t t = 0;
      if (at != std::string::npos && checkpoint_tick_of(name.substr(1, at - 1), &t) && is_temp_of(name, name.substr(1, at - 1))) {
        fs::remove(entry.path(), ec);
      }
    }
  }
  std::sort(ticks.begin(), ticks.end());
  std::vector<uint64_t> kept;
  for (size_t i = 0; i < ticks.size(); ++i) {
    const bool recent = keep_last == 0 || i + keep_last >= ticks.size();
    const bool milestone = keep_every > 0 && ticks[i] % keep_every == 0;
    if (recent || milestone) {
      kept.push_back(ticks[i]);
    } else {
      std::error_code ec;
      fs::remove(checkpoint_path(run_dir, ticks[i]), ec);
      LS_CHECK(!ec, "removing old checkpoint " << checkpoint_path(run_dir, ticks[i]) << ": " << ec.message());
    }
  }
  return kept;
}

CheckpointData load_checkpoint(const std::string& path) {
  const std::string file = read_file(path);
  const ParsedCheckpoint parsed = parse_checkpoint(file, path);
  const Manifest& m = parsed.manifest;
  CheckpointData out;
  out.config_text = m.config();
  out.tick = m.tick();
  out.world_size = m.world_size();
  out.optimizer_step = m.optimizer_step();
  out.seed = m.seed();
  out.data_epoch = m.data_epoch();
  out.data_position = m.data_position();
  out.skipped_ticks = m.skipped_ticks();
  out.loss_scale = m.loss_scale();
  out.loss_scale_good_ticks = m.loss_scale_good_ticks();
  out.overflow_ticks = m.overflow_ticks();
  LS_CHECK_INPUT(std::isfinite(out.loss_scale) && out.loss_scale >= 0, path << ": loss_scale " << out.loss_scale << " is not a finite number >= 0");
  out.run_id = m.run_id();
  out.version = m.lockstep_version();
  out.sealed = parsed.format >= 2;
  int64_t offset = 0;
  for (const ParamInfo& p : m.params()) {
    ParamSpan s{p.name(), {p.shape().begin(), p.shape().end()}, offset, 1};
    for (int64_t d : s.shape) s.numel *= d;  // checked by parse_checkpoint: no overflow
    offset += s.numel;
    out.params.push_back(s);
  }
  for (const Payload& p : m.payloads()) {
    torch::Tensor t = torch::empty(std::vector<int64_t>(p.shape().begin(), p.shape().end()), torch::kFloat32);
    std::memcpy(t.data_ptr(), parsed.body + p.offset(), p.size());
    out.tensors.emplace_back(p.name(), t);
  }
  return out;
}

void load_params(FlatParams& params, const CheckpointData& ckpt, const std::string& origin, const std::string& payload) {
  const std::vector<ParamSpan>& want = params.spans();
  std::string diff;
  for (size_t i = 0; i < std::max(want.size(), ckpt.params.size()); ++i) {
    const std::string model = i < want.size() ? want[i].name + " " + shape_text(want[i].shape) : "(none)";
    const std::string stored = i < ckpt.params.size() ? ckpt.params[i].name + " " + shape_text(ckpt.params[i].shape) : "(none)";
    if (model != stored) diff += "\n  parameter " + std::to_string(i) + ": config builds " + model + ", checkpoint has " + stored;
  }
  LS_CHECK_INPUT(diff.empty(), origin << ": the checkpoint's parameters do not match the model of the config:" << diff);
  const torch::Tensor& values = ckpt.tensor(payload, origin);
  LS_CHECK_INPUT(values.numel() == params.numel(), origin << ": payload '" << payload << "' has " << values.numel() << " numbers, the model " << params.numel());
  torch::NoGradGuard no_grad;
  params.values().copy_(values.reshape({-1}));
}

bool has_payload(const CheckpointData& ckpt, const std::string& name) {
  for (const auto& t : ckpt.tensors) if (t.first == name) return true;
  return false;
}

std::string checkpoint_path(const std::string& run_dir, uint64_t tick) {
  char name[40];
  std::snprintf(name, sizeof name, "tick-%08llu.ckpt", static_cast<unsigned long long>(tick));
  return (std::filesystem::path(run_dir) / "checkpoints" / name).string();
}

std::string run_dir_of(const std::string& file) {
  std::filesystem::path dir = std::filesystem::path(file).parent_path();
  if (dir.filename() == "checkpoints") dir = dir.parent_path();
  return dir.empty() ? "." : dir.string();
}

std::string resolve_checkpoint(const std::string& file_or_dir) {
  namespace fs = std::filesystem;
  if (is_file(file_or_dir)) return file_or_dir;
  LS_CHECK_INPUT(is_dir(file_or_dir), file_or_dir << ": no such checkpoint file or run directory");
  fs::path dir = fs::path(file_or_dir);
  if (is_dir((dir / "checkpoints").string())) dir /= "checkpoints";
  std::string best;
  uint64_t best_tick = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    uint64_t tick = 0;
    if (!checkpoint_tick_of(entry.path().filename().string(), &tick)) continue;
    if (best.empty() || tick > best_tick) best = entry.path().string(), best_tick = tick;
  }
  LS_CHECK_INPUT(!best.empty(), file_or_dir << ": no checkpoint (tick-*.ckpt) in " << dir.string());
  return best;
}

}  // namespace lockstep
