// main() of the lockstep binary: parses the command line, runs one subcommand, maps errors to exit codes.
//
// Exit codes: 0 success; 2 bad input (command line, config, data, checkpoint); 1 internal error.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "common/util/error.h"
#include "launch/commands.h"

int main(int argc, char** argv) {
  using namespace lockstep;
  CLI::App app{"Lockstep: a trainer and sampler for flow-matching and diffusion models, on one process or many MPI ranks."};
  app.name("lockstep");
  bool version = false;
  app.add_flag("--version", version, "Print the versions of Lockstep, LibTorch, MPI, protobuf and the loaded BLAS");
  app.require_subcommand(0, 1);

  TrainArgs train;
  CLI::App* tr = app.add_subcommand("train", "Train a model (the embedded default config when CONFIG is omitted)");
  tr->add_option("config", train.config, "Config file (text-format protobuf, see configs/)");
  tr->add_option("--out", train.out, "Run directory (default runs/<name>-<date>-<time>/)");
  tr->add_option("--steps", train.steps, "Total number of ticks (overrides train.steps)");
  tr->add_option("--seed", train.seed, "Master seed (overrides seed)");
  tr->add_option("--set", train.sets, "Override a config field: --set optim.lr=1e-3 (repeatable)")->allow_extra_args(false);

  SampleArgs sample;
  CLI::App* sa = app.add_subcommand("sample", "Generate samples from a checkpoint");
  sa->add_option("checkpoint", sample.checkpoint, "Checkpoint file, or a run directory (its latest checkpoint)")->required();
  sa->add_option("--num", sample.num, "Number of samples (default: the config's sample.num)");
  sa->add_option("--steps", sample.steps, "Solver steps (default: the config's sample.steps)");
  sa->add_option("--seed", sample.seed, "Seed of the initial noise (default: the config's sample.seed)");
  sa->add_option("--out", sample.out, "Output .npy file (default <run>/samples-seed<S>.npy); a PNG is written beside it");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitBadInput;
  }
  train.steps_given = tr->get_option("--steps")->count() > 0;
  train.seed_given = tr->get_option("--seed")->count() > 0;
  sample.num_given = sa->get_option("--num")->count() > 0;
  sample.steps_given = sa->get_option("--steps")->count() > 0;
  sample.seed_given = sa->get_option("--seed")->count() > 0;
  try {
    if (version) return cmd_version();
    if (*tr) return cmd_train(train);
    if (*sa) return cmd_sample(sample);
    std::fprintf(stderr, "%s\nlockstep: error: name a subcommand (train, sample) or --version\n", app.help().c_str());
    return kExitBadInput;
  } catch (const BadInput& e) {
    std::fprintf(stderr, "lockstep: error: %s\n", e.what());
    return kExitBadInput;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lockstep: %s\n", e.what());
    return kExitInternal;
  }
}
