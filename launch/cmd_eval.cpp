// `lockstep eval CHECKPOINT|CONFIG --likelihood [--num N] [--steps K] [--seed S]`: the log-likelihood of N fresh
// data points (drawn from (seed, i), apart from training data) through the probability-flow ODE, in nats per
// item and bits per dimension.
#include <cmath>
#include <cstdio>

#include "common/metrics/likelihood.h"
#include "common/util/error.h"
#include "common/util/threads.h"
#include "coordinator/sample_run.h"
#include "launch/commands.h"
#include "launch/model_source.h"

namespace lockstep {

int cmd_eval(const EvalArgs& args) {
  LS_CHECK_INPUT(args.likelihood, "eval: name what to evaluate: --likelihood");
  LS_CHECK_INPUT(args.num >= 1 && args.num < (int64_t{1} << 32), "--num must be in [1, 2^32), got " << args.num);
  LS_CHECK_INPUT(args.steps >= 1 && args.steps <= 100000, "--steps must be in [1, 100000], got " << args.steps);
  LS_CHECK_INPUT(args.seed >= 0, "--seed must be >= 0, got " << args.seed);
  ModelSource src = load_model_source(args.checkpoint, args.raw);
  configure_threads(src.config.engine().threads(), 1);
  const torch::Tensor data = fresh_data(*src.data, static_cast<uint64_t>(args.num), static_cast<uint64_t>(args.seed));
  LikelihoodSpec spec;
  spec.t_min = src.config.path().t_min();
  spec.t_max = src.config.path().t_max();
  spec.steps = args.steps;
  spec.seed = static_cast<uint64_t>(args.seed);
  const Prediction kind = prediction_from_config(src.config.model().prediction());
  const torch::Tensor log_p = log_likelihood(*src.net, *src.schedule, kind, data, spec);
  const double nll = -log_p.to(torch::kFloat64).mean().item<double>();
  const double se = log_p.to(torch::kFloat64).std().item<double>() / std::sqrt(static_cast<double>(args.num));
  const double dims = static_cast<double>(data.size(1));
  std::fprintf(stderr, "likelihood of %lld fresh data points under %s, RK4 with %lld steps (%s divergence)\n",
               static_cast<long long>(args.num), src.describe().c_str(), static_cast<long long>(args.steps),
               data.size(1) <= spec.exact_dims ? "exact" : "Hutchinson");
  std::printf("likelihood: nll_nats=%.5f +- %.5f bits_per_dim=%.5f\n", nll, se, nll / (dims * std::log(2.0)));
  return kExitOk;
}

}  // namespace lockstep
