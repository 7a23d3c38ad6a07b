#include "common/checkpoint/weights_file.h"

#include <torch/csrc/jit/serialization/pickle.h>

#include <cstring>
#include <filesystem>

#include "common/io/safetensors.h"
#include "common/util/error.h"
#include "common/util/fs.h"
#include "common/util/memory.h"
#include "common/util/strings.h"

namespace lockstep {
namespace {

constexpr const char* kPlainDict =
    "LibTorch reads a .pt that holds a plain dict of tensors, not the OrderedDict that state_dict() returns or a pickled "
    "module: save torch.save(dict(model.state_dict()), path), or a safetensors file (python/lockstep_torch.py: save)";

torch::Tensor float_tensor(const SafetensorsEntry& e, const char* data, const std::string& origin) {
  const std::string& d = e.dtype;
  const torch::ScalarType type = d == "F32" ? torch::kFloat32 : d == "F64" ? torch::kFloat64 : d == "F16" ? torch::kHalf
                                 : d == "BF16" ? torch::kBFloat16 : torch::kByte;
  LS_CHECK_INPUT(type != torch::kByte, origin << ": tensor '" << clip(e.name, 200) << "' is " << d << "; weights must be floating point (F32, F64, F16, BF16)");
  // copied out of the file's bytes (which may be unaligned for the type), then widened
  torch::Tensor t = torch::empty(e.shape, torch::TensorOptions(type));
  if (e.end > e.begin) std::memcpy(t.data_ptr(), data + e.begin, e.end - e.begin);
  return t.to(torch::kFloat32);
}

WeightsFile read_safetensors(const std::string& path) {
  const std::string bytes = read_file(path);
  const SafetensorsView v = parse_safetensors(bytes, path);
  WeightsFile w;
  for (const SafetensorsEntry& e : v.entries) w.tensors.push_back({e.name, float_tensor(e, v.data, path)});
  const auto info = v.metadata.find("lockstep");
  if (info != v.metadata.end()) w.info_json = info->second;
  return w;
}

WeightsFile read_pt(const std::string& path) {
  const std::string bytes = read_file(path);
  LS_CHECK_INPUT(bytes.size() >= 4 && bytes.compare(0, 2, "PK") == 0,
                 path << ": not a PyTorch zip archive (torch.save's format since PyTorch 1.6; older pickles are not read)");
  c10::IValue value;
  try {
    value = torch::jit::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const std::exception& e) {
    // LibTorch's unpickler turns a collections.OrderedDict (what state_dict() returns) into None and then fails
    if (std::string(e.what()).find("but got None") != std::string::npos) throw BadInput(path + ": " + kPlainDict);
    throw BadInput(path + ": cannot read it as a PyTorch file (" + clip(first_line(e.what()), 300) + ")");
  }
  LS_CHECK_INPUT(value.isGenericDict(), path << ": holds a " << value.tagKind() << "; " << kPlainDict);
  WeightsFile w;
  for (const auto& item : value.toGenericDict()) {
    LS_CHECK_INPUT(item.key().isString(), path << ": a key of its dict is a " << item.key().tagKind() << ", not a tensor name");
    const std::string name = item.key().toStringRef();
    LS_CHECK_INPUT(item.value().isTensor(), path << ": '" << clip(name, 200) << "' is a " << item.value().tagKind()
                                                 << ", not a tensor (save a flat state_dict: torch.save(dict(model.state_dict()), path))");
    const torch::Tensor t = item.value().toTensor();
    LS_CHECK_INPUT(t.is_floating_point(), path << ": tensor '" << clip(name, 200) << "' is " << t.scalar_type() << "; weights must be floating point");
    w.tensors.push_back({name, t.to(torch::kCPU, torch::kFloat32).contiguous().clone()});
  }
  const std::string info = info_path_beside(path);
  if (is_file(info)) w.info_json = read_file(info);
  return w;
}

}  // namespace

std::string weights_format(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  return ext == ".safetensors" ? "safetensors" : ext == ".pt" || ext == ".pth" ? "pt" : "";
}

std::string info_path_beside(const std::string& pt_path) { return std::filesystem::path(pt_path).replace_extension(".json").string(); }

void write_weights(const std::string& path, const std::vector<NamedTensor>& tensors, const std::string& info_json) {
  const std::string format = weights_format(path);
  LS_CHECK_INPUT(!format.empty(), clip(path, 300) << ": a weights file is .safetensors or .pt");
  std::vector<torch::Tensor> host;
  for (const NamedTensor& t : tensors) host.push_back(t.value.detach().to(torch::kCPU, torch::kFloat32).contiguous());
  if (format == "safetensors") {
    std::vector<FloatTensorBytes> bytes;
    for (size_t i = 0; i < tensors.size(); ++i) bytes.push_back({tensors[i].name, host[i].sizes().vec(), host[i].data_ptr<float>()});
    std::vector<std::pair<std::string, std::string>> metadata = {{"format", "pt"}};
    if (!info_json.empty()) metadata.emplace_back("lockstep", info_json);
    write_file_atomic(path, encode_safetensors(bytes, metadata));
    return;
  }
  c10::Dict<std::string, torch::Tensor> dict;
  for (size_t i = 0; i < tensors.size(); ++i) dict.insert(tensors[i].name, host[i]);
  const std::vector<char> bytes = torch::jit::pickle_save(c10::IValue(dict));
  write_file_atomic(path, std::string(bytes.begin(), bytes.end()));
  if (!info_json.empty()) write_file_atomic(info_path_beside(path), info_json + "\n");
}

WeightsFile read_weights(const std::string& path) {
  const std::string format = weights_format(path);
  LS_CHECK_INPUT(!format.empty(), clip(path, 300) << ": a weights file is .safetensors or .pt (or .pth)");
  LS_CHECK_INPUT(is_file(path), clip(path, 300) << ": no such file");
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  LS_CHECK_INPUT(!ec, clip(path, 300) << ": cannot read its size (" << ec.message() << ")");
  check_fits_in_memory(2 * size, "the weights file " + clip(path, 300) + " (" + std::to_string(size) + " bytes)", "use a machine with more memory");
  return format == "safetensors" ? read_safetensors(path) : read_pt(path);
}

}  // namespace lockstep
