// `lockstep sample CHECKPOINT [--num N] [--steps K] [--seed S] [--out FILE.npy]`
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "common/checkpoint/checkpoint.h"
#include "common/config/config.h"
#include "common/io/npy.h"
#include "common/model/flat_params.h"
#include "common/sampler/sampler_names.h"
#include "common/util/error.h"
#include "common/util/strings.h"
#include "common/util/fs.h"
#include "common/util/threads.h"
#include "coordinator/sample_run.h"
#include "launch/commands.h"
#include "launch/model_source.h"
#include "worker/worker.h"

namespace lockstep {

int cmd_sample(const SampleArgs& args) {
  namespace fs = std::filesystem;
  LS_CHECK_INPUT(!args.num_given || (args.num >= 1 && args.num < (int64_t{1} << 32)), "--num must be in [1, 2^32), got " << args.num);
  LS_CHECK_INPUT(!args.steps_given || (args.steps >= 1 && args.steps <= 1000000), "--steps must be in [1, 1000000], got " << args.steps);
  LS_CHECK_INPUT(!args.seed_given || args.seed >= 0, "--seed must be >= 0, got " << args.seed);

  ModelSource src = load_model_source(args.checkpoint, args.raw);
  Config& cfg = src.config;
  if (args.num_given) cfg.mutable_sample()->set_num(static_cast<uint64_t>(args.num));
  if (args.steps_given) cfg.mutable_sample()->set_steps(static_cast<uint32_t>(args.steps));
  if (args.seed_given) cfg.mutable_sample()->set_seed(static_cast<uint64_t>(args.seed));
  if (!args.sampler.empty()) {
    LS_CHECK_INPUT(contains(sampler_names(), args.sampler),
                   "--sampler " << args.sampler << ": unknown sampler; allowed: " << join(sampler_names()));
    cfg.mutable_sample()->set_sampler(args.sampler);
  }
  configure_threads(cfg.engine().threads(), 1);

  const std::string out = !args.out.empty() ? args.out
                                            : (fs::path(src.run_dir) / ("samples-seed" + std::to_string(cfg.sample().seed()) + ".npy")).string();
  LS_CHECK_INPUT(fs::path(out).extension() == ".npy", "--out " << out << ": expected a .npy file name");

  if (args.class_given) cfg.mutable_sample()->set_class_label(args.class_label);
  if (args.guidance_given) cfg.mutable_sample()->set_guidance(args.guidance);
  const SampleSpec spec = sample_spec(cfg, *src.data);
  double nfe = 0;
  const torch::Tensor samples = generate_samples(*src.net, *src.schedule, spec, cfg.sample().num(), cfg.sample().chunk(), &nfe);
  write_npy(out, samples.data_ptr<float>(), npy_shape(samples.size(0), *src.data));
  const std::string png = fs::path(out).replace_extension(".png").string();
  const bool pictured = plot_samples(png, samples, nullptr, *src.data, spec);
  std::fprintf(stderr, "%llu samples from %s, %s with %.1f NFE per sample, seed %llu\n",
               static_cast<unsigned long long>(cfg.sample().num()), src.describe().c_str(), spec.sampler.c_str(), nfe,
               static_cast<unsigned long long>(cfg.sample().seed()));
  std::printf("samples: %s\n", out.c_str());
  if (pictured) std::printf("picture: %s\n", png.c_str());
  return kExitOk;
}

}  // namespace lockstep
