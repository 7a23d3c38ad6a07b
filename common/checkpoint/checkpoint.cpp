#include "common/checkpoint/checkpoint.h"

#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <regex>

#include "common/proto/checkpoint.pb.h"
#include "common/util/error.h"
#include "common/util/strings.h"
#include "common/util/fs.h"

namespace lockstep {
namespace {

constexpr char kMagic[] = "LSCKPT01";
constexpr size_t kMagicLen = 8;

uint32_t crc_of(const char* data, size_t n) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (n > 0) {  // zlib takes uInt lengths
    const uInt chunk = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data), chunk);
    data += chunk;
    n -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

}  // namespace

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
  m.set_created_unix_s(std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  for (const ParamSpan& s : data.params) {
    ParamInfo* p = m.add_params();
    p->set_name(s.name);
    for (int64_t d : s.shape) p->add_shape(d);
  }
  std::string body;
  for (const auto& [name, tensor] : data.tensors) {
    const torch::Tensor t = tensor.to(torch::kFloat32).contiguous();
    const size_t bytes = static_cast<size_t>(t.numel()) * sizeof(float);
    Payload* p = m.add_payloads();
    p->set_name(name);
    for (int64_t d : t.sizes()) p->add_shape(d);
    p->set_offset(body.size());
    p->set_size(bytes);
    p->set_crc32(crc_of(static_cast<const char*>(t.data_ptr()), bytes));
    body.append(static_cast<const char*>(t.data_ptr()), bytes);
  }
  std::string manifest;
  LS_CHECK(m.SerializeToString(&manifest), "serializing the checkpoint manifest");
  std::string file(kMagic, kMagicLen);
  uint64_t len = manifest.size();
  for (int i = 0; i < 8; ++i) file += static_cast<char>((len >> (8 * i)) & 0xff);
  file += manifest;
  file += body;
  return file;
}

void save_checkpoint(const std::string& path, const CheckpointData& data) {
  const std::string file = checkpoint_bytes(data);
  make_dirs(std::filesystem::path(path).parent_path().string());
  write_file_atomic(path, file);
}

std::vector<uint64_t> prune_checkpoints(const std::string& run_dir, uint32_t keep_last, uint64_t keep_every) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(run_dir) / "checkpoints";
  if (!is_dir(dir.string())) return {};
  const std::regex pattern(R"(tick-(\d+)\.ckpt)"), leftover(R"(tick-\d+\.ckpt\.tmp-\d+)");
  std::vector<uint64_t> ticks;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::smatch m;
    const std::string name = entry.path().filename().string();
    if (std::regex_match(name, m, pattern)) ticks.push_back(std::stoull(m[1]));
    else if (std::regex_match(name, leftover)) fs::remove(entry.path());  // a write that crashed half-way
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
  LS_CHECK_INPUT(file.size() >= kMagicLen + 8 && file.compare(0, kMagicLen, kMagic) == 0,
                 path << ": not a Lockstep checkpoint (bad magic)");
  uint64_t len = 0;
  for (int i = 7; i >= 0; --i) len = (len << 8) | static_cast<unsigned char>(file[kMagicLen + i]);
  const size_t start = kMagicLen + 8;
  LS_CHECK_INPUT(len <= file.size() - start, path << ": truncated checkpoint: the manifest needs " << len
                                                  << " bytes, the file has " << file.size() - start);
  Manifest m;
  LS_CHECK_INPUT(m.ParseFromArray(file.data() + start, static_cast<int>(len)), path << ": damaged checkpoint manifest");
  const size_t body = start + len;
  CheckpointData out;
  out.config_text = m.config();
  out.tick = m.tick();
  out.world_size = m.world_size();
  out.optimizer_step = m.optimizer_step();
  out.seed = m.seed();
  out.data_epoch = m.data_epoch();
  out.data_position = m.data_position();
  out.skipped_ticks = m.skipped_ticks();
  out.version = m.lockstep_version();
  int64_t offset = 0;
  for (const ParamInfo& p : m.params()) {
    ParamSpan s{p.name(), {p.shape().begin(), p.shape().end()}, offset, 1};
    for (int64_t d : s.shape) s.numel *= d;
    offset += s.numel;
    out.params.push_back(s);
  }
  for (const Payload& p : m.payloads()) {
    const size_t end = body + p.offset() + p.size();
    LS_CHECK_INPUT(end <= file.size() && end >= body, path << ": truncated checkpoint: payload '" << p.name() << "' needs bytes up to "
                                                           << end << ", the file has " << file.size());
    int64_t numel = 1;
    for (int64_t d : p.shape()) numel *= d;
    LS_CHECK_INPUT(static_cast<uint64_t>(numel) * sizeof(float) == p.size(), path << ": payload '" << p.name() << "' has a size that does not match its shape");
    const char* src = file.data() + body + p.offset();
    LS_CHECK_INPUT(crc_of(src, p.size()) == p.crc32(), path << ": payload '" << p.name() << "' is damaged (CRC-32 mismatch)");
    torch::Tensor t = torch::empty(std::vector<int64_t>(p.shape().begin(), p.shape().end()), torch::kFloat32);
    std::memcpy(t.data_ptr(), src, p.size());
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
  const std::regex pattern(R"(tick-(\d+)\.ckpt)");
  std::string best;
  unsigned long long best_tick = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::smatch m;
    const std::string name = entry.path().filename().string();
    if (!std::regex_match(name, m, pattern)) continue;
    const unsigned long long tick = std::stoull(m[1]);
    if (best.empty() || tick > best_tick) best = entry.path().string(), best_tick = tick;
  }
  LS_CHECK_INPUT(!best.empty(), file_or_dir << ": no checkpoint (tick-*.ckpt) in " << dir.string());
  return best;
}

}  // namespace lockstep
