// `lockstep train [CONFIG] [--out DIR] [--steps N] [--seed S] [--set field=value]... [--resume CHECKPOINT_OR_RUN]`
#include <cstdio>

#include "common/checkpoint/checkpoint.h"
#include "common/comm/comm_registry.h"
#include "common/config/config.h"
#include "common/config/config_diff.h"
#include "common/model/device_pick.h"
#include "common/util/error.h"
#include "coordinator/train_loop.h"
#include "launch/commands.h"

namespace lockstep {
namespace {

// The stored config of the checkpoint with the overrides applied; refuses overrides that would leave the
// stored run's trajectory (model, path, data, optimizer, seed, batch), listing every such field.
LoadedConfig resume_config(const ResumePoint& from, const std::vector<Override>& overrides) {
  LoadedConfig out;
  out.source = from.path + " (stored config)";
  const Config stored = parse_config_text(from.state.config_text, out.source);
  out.config = stored;
  for (const Override& o : overrides) apply_override(&out.config, o);
  const std::vector<ConfigIssue> issues = validate_config(out.config);
  if (!issues.empty()) throw BadInput("field '" + issues.front().field + "': " + issues.front().message);
  std::string refused;
  for (const FieldDiff& d : config_differences(stored, out.config))
    if (!resume_may_change(d.field)) refused += "\n  " + d.field + ": checkpoint " + d.before + ", now " + d.after;
  LS_CHECK_INPUT(refused.empty(), "--resume " << from.path << ": the config differs from the checkpoint's in fields that change the "
                                              "model or its training (only run length, logging, evaluation, checkpointing, sampling and "
                                              "engine settings may change):" << refused);
  LS_CHECK_INPUT(out.config.train().steps() > from.state.tick,
                 "--steps " << out.config.train().steps() << ": the checkpoint " << from.path << " is already at tick " << from.state.tick
                            << "; --steps is the total number of ticks of the run");
  return out;
}

}  // namespace

int cmd_train(const TrainArgs& args) {
  std::vector<Override> overrides = set_overrides(args.sets);
  if (args.steps_given) overrides.push_back({"train.steps=" + std::to_string(args.steps), "--steps " + std::to_string(args.steps)});
  if (!args.device.empty()) {
    check_device_flag(args.device);
    overrides.push_back({"engine.device=" + args.device, "--device " + args.device});
  }
  if (args.seed_given) overrides.push_back({"seed=" + std::to_string(args.seed), "--seed " + std::to_string(args.seed)});
  std::unique_ptr<ResumePoint> resume;
  LoadedConfig cfg;
  std::string out = args.out;
  if (!args.resume.empty()) {
    LS_CHECK_INPUT(args.config.empty(), "--resume takes the config stored in the checkpoint; drop " << args.config
                                                                                                    << " (change settings with --set)");
    LS_CHECK_INPUT(args.out.empty(), "--resume continues in the checkpoint's run directory; drop --out");
    resume = std::make_unique<ResumePoint>();
    resume->path = resolve_checkpoint(args.resume);
    resume->state = load_checkpoint(resume->path);
    if (!resume->state.sealed) {
      std::fprintf(stderr, "note: %s was written by Lockstep %s in checkpoint format 1, whose manifest carries no CRC (unsealed)\n",
                   resume->path.c_str(), resume->state.version.c_str());
    }
    out = run_dir_of(resume->path);
    cfg = resume_config(*resume, overrides);
  } else {
    cfg = load_config(args.config, overrides);
  }
  LS_CHECK_INPUT(cfg.config.model().name() != "oracle",
                 cfg.source << ": model 'oracle' has no parameters to train; sample it with `lockstep sample CONFIG`");
  std::unique_ptr<Comm> comm = make_comm(cfg.config.engine().backend(), cfg.config.engine().shm_allreduce());
  const TrainResult result = run_training(cfg, out, *comm, resume.get());
  return result.preempted ? kExitPreempted : kExitOk;
}

}  // namespace lockstep
