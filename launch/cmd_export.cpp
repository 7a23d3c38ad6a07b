// `lockstep export RUN|CHECKPOINT --out FILE.safetensors|FILE.pt [--raw | --target] [--force]`: a checkpoint's weights
// for PyTorch, named as python/lockstep_torch.py's modules name them, with the model's description (docs/interop.md).
#include <cstdio>

#include <nlohmann/json.hpp>

#include "common/checkpoint/checkpoint.h"
#include "common/checkpoint/weights_file.h"
#include "common/config/config.h"
#include "common/config/config_json.h"
#include "common/data/dataset.h"
#include "common/model/dit_shape.h"
#include "common/model/flat_params.h"
#include "common/model/net.h"
#include "common/path/parametrization.h"
#include "common/util/error.h"
#include "common/util/fs.h"
#include "common/util/strings.h"
#include "launch/commands.h"

namespace lockstep {
namespace {

using Json = nlohmann::ordered_json;

// The model's description: everything python/lockstep_torch.py needs to build the module and its velocity.
std::string export_info(const Config& cfg, const DataSource& data, const std::string& weights, uint64_t tick, const std::string& source,
                        int64_t parameters) {
  Json info = Json::object();
  info["lockstep_version"] = LOCKSTEP_VERSION;
  info["weights"] = weights;
  info["tick"] = tick;
  info["source"] = source;
  info["parameters"] = parameters;
  info["model"] = Json::parse(message_json(cfg.model()));
  if (cfg.model().name() == "dit") {
    const DitShape s = dit_shape(cfg.model().dit());
    info["dit_shape"] = {{"depth", s.depth}, {"width", s.width}, {"heads", s.heads}, {"mlp_hidden", s.mlp_hidden}};
  }
  info["prediction"] = prediction_name(prediction_from_config(cfg.model().prediction()));
  info["path"] = Json::parse(message_json(cfg.path()));
  info["sample"] = Json::parse(message_json(cfg.sample()));
  info["data"] = data.name();
  info["item_shape"] = data.item_shape();
  const bool labelled = cfg.model().class_conditional() || cfg.model().name() == "classifier";
  const int64_t classes = labelled ? data.num_classes() : 0;
  info["num_classes"] = classes;
  Json names = Json::array();
  for (int64_t k = 0; k < classes; ++k) names.push_back(data.class_name(k));
  info["class_names"] = names;
  const FlowMapSpec f = flow_map_spec(cfg);
  info["flow_map"] = {{"enabled", f.enabled}, {"gap_embedding", f.gap_embedding}, {"gap_max_frequency", f.gap_max_frequency}, {"guidance", f.guidance}};
  return info.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

int cmd_export(const ExportArgs& args) {
  LS_CHECK_INPUT(!(args.raw && args.target), "--raw and --target: give one (the training weights, or the TVM target network)");
  const std::string format = weights_format(args.out);
  LS_CHECK_INPUT(!format.empty(), "--out " << clip(args.out, 300) << ": give a .safetensors or .pt file name");
  const std::string path = resolve_checkpoint(args.checkpoint);
  const std::string info_file = format == "pt" ? info_path_beside(args.out) : "";
  for (const std::string& file : {args.out, info_file}) {
    if (file.empty()) continue;
    LS_CHECK_INPUT(!is_dir(file), clip(file, 300) << ": is a directory");
    LS_CHECK_INPUT(args.force || !exists_nofollow(file), clip(file, 300) << ": exists; give another --out, or --force to replace it");
  }
  const CheckpointData ckpt = load_checkpoint(path);
  const Config cfg = parse_config_text(ckpt.config_text, path + " (stored config)");
  LS_CHECK_INPUT(cfg.model().name() != "oracle", path << ": model 'oracle' has no weights");
  std::string payload = args.raw ? "params" : args.target ? "target" : "ema", weights = args.raw ? "raw" : args.target ? "target" : "ema";
  if (args.target) {
    LS_CHECK_INPUT(has_payload(ckpt, "target"), path << ": has no target network (only train.loss TVM keeps one)");
  } else if (!args.raw && !has_payload(ckpt, "ema")) {
    std::fprintf(stderr, "note: %s has no EMA weights (train.ema_decay 0): exporting the training weights\n", path.c_str());
    payload = "params";
    weights = "raw";
  }
  const std::unique_ptr<DataSource> data = make_dataset(cfg.data(), cfg.seed());
  const std::shared_ptr<Net> net = make_model(cfg, *data, init_seed_of(cfg));
  FlatParams params(*net);
  load_params(params, ckpt, path, payload);
  std::vector<NamedTensor> tensors;
  for (const ParamSpan& s : params.spans()) tensors.push_back({s.name, params.values().narrow(0, s.offset, s.numel).view(s.shape)});
  write_weights(args.out, tensors, export_info(cfg, *data, weights, ckpt.tick, path, params.numel()));
  std::printf("exported: %s (%zu tensors, %lld parameters: the %s weights of %s, tick %llu)\n", args.out.c_str(), tensors.size(),
              static_cast<long long>(params.numel()), weights == "ema" ? "EMA" : weights == "raw" ? "training" : "target network's",
              path.c_str(), static_cast<unsigned long long>(ckpt.tick));
  if (!info_file.empty()) std::printf("info: %s\n", info_file.c_str());
  return kExitOk;
}

}  // namespace lockstep
