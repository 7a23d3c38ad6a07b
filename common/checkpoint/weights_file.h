// Weights files: named tensors as safetensors (common/io/safetensors.h) or as PyTorch's .pt (the zip archive that
// torch.save writes, holding a dict of tensors: a state_dict). What `lockstep export` writes and model.init_from reads.
//
// Contract: write_weights() writes float32 CPU tensors atomically (fs.h), in the order given. `info_json` (the model's
// description, a JSON object; docs/interop.md) goes into the safetensors metadata under "lockstep", with "format": "pt"
// (what Hugging Face's loaders expect); beside a .pt it is written to the same name with the extension .json.
// read_weights() returns every tensor as a float32 CPU tensor (F64, F16 and BF16 are widened or rounded; integer
// and boolean tensors are refused) and the info where the file carries it, or throws BadInput naming the file and what
// is wrong: an extension other than .safetensors or .pt, a damaged or truncated file, a .pt that is not a flat dict of
// tensors. A .pt is read by LibTorch's unpickler, which builds only dicts, lists, strings, numbers and tensors (it
// runs no code); its size is checked against the memory before it is read.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace lockstep {

struct NamedTensor {
  std::string name;
  torch::Tensor value;
};

struct WeightsFile {
  std::vector<NamedTensor> tensors;  // in the file's order (safetensors: by offset)
  std::string info_json;            // "" when the file carries none
};

// "safetensors" or "pt" from the path's extension; "" for anything else.
std::string weights_format(const std::string& path);
void write_weights(const std::string& path, const std::vector<NamedTensor>& tensors, const std::string& info_json);
WeightsFile read_weights(const std::string& path);
// The .json written beside a .pt.
std::string info_path_beside(const std::string& pt_path);

}  // namespace lockstep
