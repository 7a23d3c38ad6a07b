#include "common/checkpoint/init_weights.h"

#include <map>

#include "common/checkpoint/weights_file.h"
#include "common/util/error.h"
#include "common/util/strings.h"

namespace lockstep {
namespace {

constexpr size_t kListed = 20;

bool below(const std::string& name, const std::string& prefix) {
  return name == prefix || (name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0 && name[prefix.size()] == '.');
}

void add(std::vector<std::string>* list, const std::string& item) {
  if (list->size() < kListed) list->push_back(item);
  else if (list->size() == kListed) list->push_back("...");
}

}  // namespace

InitLoad load_init_weights(FlatParams& params, const std::string& path, const std::vector<std::string>& exclude) {
  const WeightsFile file = read_weights(path);
  std::map<std::string, const torch::Tensor*> by_name;
  for (const NamedTensor& t : file.tensors) by_name[t.name] = &t.value;
  std::vector<bool> used(exclude.size(), false);
  const auto excluded = [&](const std::string& name) {
    bool hit = false;
    for (size_t i = 0; i < exclude.size(); ++i) {
      if (below(name, exclude[i])) used[i] = hit = true;
    }
    return hit;
  };
  std::vector<std::string> missing, extra, shapes, nonfinite;
  InitLoad result;
  std::vector<std::pair<const ParamSpan*, const torch::Tensor*>> copies;
  for (const ParamSpan& s : params.spans()) {
    if (excluded(s.name)) {
      ++result.excluded;
      continue;
    }
    const auto it = by_name.find(s.name);
    if (it == by_name.end()) {
      add(&missing, s.name + " " + shape_text(s.shape));
      continue;
    }
    if (it->second->sizes().vec() != s.shape) {
      add(&shapes, s.name + ": " + shape_text(it->second->sizes().vec()) + " in the file, " + shape_text(s.shape) + " in the model");
      continue;
    }
    if (!torch::isfinite(*it->second).all().item<bool>()) add(&nonfinite, s.name);
    copies.emplace_back(&s, it->second);
  }
  std::map<std::string, bool> in_model;
  for (const ParamSpan& s : params.spans()) in_model[s.name] = true;
  for (const NamedTensor& t : file.tensors) {
    if (!in_model.count(t.name) && !excluded(t.name)) add(&extra, t.name + " " + shape_text(t.value.sizes().vec()));
  }
  std::vector<std::string> unused;
  for (size_t i = 0; i < exclude.size(); ++i) {
    if (!used[i]) add(&unused, exclude[i]);
  }
  std::string problems;
  const auto report = [&](const std::vector<std::string>& list, const std::string& what) {
    if (!list.empty()) problems += "\n  " + what + ": " + join(list, "; ");
  };
  report(missing, "parameters of the model missing from the file");
  report(extra, "tensors of the file the model does not have");
  report(shapes, "shapes that differ");
  report(nonfinite, "tensors with values that are not finite");
  report(unused, "model.init_exclude entries that name no parameter of the model or tensor of the file");
  LS_CHECK_INPUT(problems.empty(), "model.init_from " << clip(path, 300) << ": does not fit the model of the config (model.init_exclude leaves "
                                                      "tensors out of the load):" << problems);
  torch::NoGradGuard no_grad;
  for (const auto& [span, value] : copies) {
    params.values().narrow(0, span->offset, span->numel).copy_(value->reshape({-1}));
    ++result.loaded;
  }
  return result;
}

}  // namespace lockstep
