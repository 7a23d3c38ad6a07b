// `lockstep train [CONFIG] [--out DIR] [--steps N] [--seed S] [--set field=value]...`
#include "common/comm/comm_registry.h"
#include "common/comm/mpi_session.h"
#include "common/config/config.h"
#include "common/util/error.h"
#include "coordinator/train_loop.h"
#include "launch/commands.h"

namespace lockstep {

int cmd_train(const TrainArgs& args) {
  std::vector<Override> overrides = set_overrides(args.sets);
  if (args.steps_given) overrides.push_back({"train.steps=" + std::to_string(args.steps), "--steps " + std::to_string(args.steps)});
  if (args.seed_given) overrides.push_back({"seed=" + std::to_string(args.seed), "--seed " + std::to_string(args.seed)});
  const LoadedConfig cfg = load_config(args.config, overrides);
  LS_CHECK_INPUT(cfg.config.model().name() != "oracle",
                 cfg.source << ": model 'oracle' has no parameters to train; sample it with `lockstep sample CONFIG`");
  const std::string backend = resolve_backend(cfg.config.engine().backend());
  LS_CHECK_INPUT(backend != "self" || MpiSession::world_size() == 1,
                 "started as " << MpiSession::world_size() << " MPI ranks, but engine.backend is 'self' (use auto or mpi)");
  std::unique_ptr<Comm> comm = make_comm(backend);
  run_training(cfg, args.out, *comm);
  return kExitOk;
}

}  // namespace lockstep
