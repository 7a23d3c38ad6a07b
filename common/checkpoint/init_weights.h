// model.init_from: a new run's parameters from a weights file (weights_file.h: safetensors or .pt), by name.
//
// Contract: load_init_weights() reads `path` and copies into every parameter of `params` whose name is not excluded
// the file's tensor of that name. A name is excluded when it equals an entry of `exclude` or lies below one
// ("classes" excludes "classes.weight", "block0" every parameter of block 0); excluded parameters keep their
// initialisation, and excluded tensors of the file are ignored, whatever their shape. It throws BadInput, naming the
// file and listing every offending tensor (at most 20 of each kind), for a parameter the file lacks, a tensor of the
// file the model lacks, a shape that differs, a value that is not finite, and an exclude entry that names nothing in
// the model or the file. Nothing is written to `params` unless every check passed. Returns what was loaded.
#pragma once

#include <string>
#include <vector>

#include "common/model/flat_params.h"

namespace lockstep {

struct InitLoad {
  int64_t loaded = 0;    // tensors copied
  int64_t excluded = 0;  // parameters left at their initialisation
};

InitLoad load_init_weights(FlatParams& params, const std::string& path, const std::vector<std::string>& exclude);

}  // namespace lockstep
