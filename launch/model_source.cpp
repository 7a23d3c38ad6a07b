#include "launch/model_source.h"

#include <cstdio>
#include <filesystem>

#include "common/checkpoint/checkpoint.h"
#include "common/config/config.h"
#include "common/util/error.h"
#include "common/util/fs.h"
#include "evaluation/sample_run.h"

namespace lockstep {

std::string ModelSource::describe() const {
  return path + (oracle ? " (oracle)" : " (tick " + std::to_string(tick) + (ema ? ", EMA weights)" : ", raw weights)"));
}

ModelSource load_model_source(const std::string& arg, bool raw) {
  namespace fs = std::filesystem;
  ModelSource m;
  const std::string ext = fs::path(arg).extension().string();
  m.oracle = is_file(arg) && (ext == ".textproto" || ext == ".pbtxt" || ext == ".txtpb");
  CheckpointData ckpt;
  if (m.oracle) {
    m.path = arg;
    m.config = load_config(arg, {}).config;
    LS_CHECK_INPUT(m.config.model().name() == "oracle",
                   arg << ": model '" << m.config.model().name() << "' must be trained first; only model 'oracle' works from a config");
  } else {
    m.path = resolve_checkpoint(arg);
    ckpt = load_checkpoint(m.path);
    if (!ckpt.sealed) {
      std::fprintf(stderr, "note: %s was written by Lockstep %s in checkpoint format 1, whose manifest carries no CRC (unsealed)\n",
                   m.path.c_str(), ckpt.version.c_str());
    }
    m.config = parse_config_text(ckpt.config_text, m.path + " (stored config)");
    m.tick = ckpt.tick;
  }
  m.run_dir = run_dir_of(m.path);
  m.data = make_dataset(m.config.data(), m.config.seed());
  m.schedule = make_schedule(m.config.path());
  m.net = make_model(m.config, *m.data, init_seed_of(m.config));
  if (!m.oracle) {
    m.params = std::make_unique<FlatParams>(*m.net);
    m.ema = !raw && m.config.sample().use_ema() && has_payload(ckpt, "ema");
    load_params(*m.params, ckpt, m.path, m.ema ? "ema" : "params");
  }
  return m;
}

}  // namespace lockstep
