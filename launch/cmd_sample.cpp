// `lockstep sample CHECKPOINT [--num N] [--steps K] [--seed S] [--out FILE.npy]`
#include <cstdio>
#include <filesystem>

#include "common/checkpoint/checkpoint.h"
#include "common/config/config.h"
#include "common/io/npy.h"
#include "common/model/flat_params.h"
#include "common/util/error.h"
#include "common/util/threads.h"
#include "coordinator/sample_run.h"
#include "launch/commands.h"
#include "worker/worker.h"

namespace lockstep {

int cmd_sample(const SampleArgs& args) {
  namespace fs = std::filesystem;
  LS_CHECK_INPUT(!args.num_given || (args.num >= 1 && args.num < (int64_t{1} << 32)), "--num must be in [1, 2^32), got " << args.num);
  LS_CHECK_INPUT(!args.steps_given || (args.steps >= 1 && args.steps <= 1000000), "--steps must be in [1, 1000000], got " << args.steps);
  LS_CHECK_INPUT(!args.seed_given || args.seed >= 0, "--seed must be >= 0, got " << args.seed);
  const std::string path = resolve_checkpoint(args.checkpoint);
  const CheckpointData ckpt = load_checkpoint(path);
  Config cfg = parse_config_text(ckpt.config_text, path + " (stored config)");
  if (args.num_given) cfg.mutable_sample()->set_num(static_cast<uint64_t>(args.num));
  if (args.steps_given) cfg.mutable_sample()->set_steps(static_cast<uint32_t>(args.steps));
  if (args.seed_given) cfg.mutable_sample()->set_seed(static_cast<uint64_t>(args.seed));
  configure_threads(cfg.engine().threads(), 1);

  const std::unique_ptr<DataSource> data = make_dataset(cfg.data(), cfg.seed());
  const std::unique_ptr<Schedule> schedule = make_schedule(cfg.path());
  std::shared_ptr<Net> net = make_net(cfg.model(), data->dim(), init_seed_of(cfg));
  FlatParams params(*net);
  load_params(params, ckpt, path);

  fs::path run_dir = fs::path(path).parent_path();
  if (run_dir.filename() == "checkpoints") run_dir = run_dir.parent_path();
  const std::string out = !args.out.empty() ? args.out
                                            : (run_dir / ("samples-seed" + std::to_string(cfg.sample().seed()) + ".npy")).string();
  LS_CHECK_INPUT(fs::path(out).extension() == ".npy", "--out " << out << ": expected a .npy file name");

  const SampleSpec spec = sample_spec(cfg, data->dim());
  int64_t nfe = 0;
  const torch::Tensor samples = generate_samples(*net, *schedule, spec, cfg.sample().num(), cfg.sample().chunk(), &nfe);
  write_npy(out, samples.data_ptr<float>(), samples.sizes().vec());
  const std::string png = fs::path(out).replace_extension(".png").string();
  plot_samples(png, samples, nullptr);
  std::fprintf(stderr, "%llu samples from %s (tick %llu), %s with %lld NFE, seed %llu\n",
               static_cast<unsigned long long>(cfg.sample().num()), path.c_str(), static_cast<unsigned long long>(ckpt.tick),
               spec.sampler.c_str(), static_cast<long long>(nfe), static_cast<unsigned long long>(cfg.sample().seed()));
  std::printf("samples: %s\n", out.c_str());
  if (samples.size(1) == 2) std::printf("picture: %s\n", png.c_str());
  return kExitOk;
}

}  // namespace lockstep
