// `lockstep sample CHECKPOINT [--num N] [--steps K] [--seed S] [--threads T] [--out FILE.npy] ...`, on one process or under mpirun/srun
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "common/checkpoint/checkpoint.h"
#include "common/comm/comm_registry.h"
#include "common/comm/mpi_session.h"
#include "common/io/npy_stream.h"
#include "common/config/config.h"
#include "common/io/npy.h"
#include "common/kernels/fast_paths.h"
#include "common/model/flat_params.h"
#include "common/sampler/sampler_names.h"
#include "common/util/error.h"
#include "common/util/strings.h"
#include "common/util/fs.h"
#include "common/util/threads.h"
#include "evaluation/sample_run.h"
#include "common/model/classifier.h"
#include "launch/commands.h"
#include "launch/model_source.h"

namespace lockstep {

int cmd_sample(const SampleArgs& args) {
  namespace fs = std::filesystem;
  LS_CHECK_INPUT(!args.num_given || (args.num >= 1 && args.num < (int64_t{1} << 32)), "--num must be in [1, 2^32), got " << args.num);
  LS_CHECK_INPUT(!args.steps_given || (args.steps >= 1 && args.steps <= 1000000), "--steps must be in [1, 1000000], got " << args.steps);
  LS_CHECK_INPUT(!args.seed_given || args.seed >= 0, "--seed must be >= 0, got " << args.seed);

  ModelSource src = load_model_source(args.checkpoint, args.raw);
  LS_CHECK_INPUT(!as_classifier(*src.net), src.path << " is a classifier (model \"classifier\"): it makes no samples; `lockstep eval "
                                                     << args.checkpoint << "` reports its accuracy");
  Config& cfg = src.config;
  if (args.num_given) cfg.mutable_sample()->set_num(static_cast<uint64_t>(args.num));
  if (args.steps_given) cfg.mutable_sample()->set_steps(static_cast<uint32_t>(args.steps));
  if (args.seed_given) cfg.mutable_sample()->set_seed(static_cast<uint64_t>(args.seed));
  if (!args.sampler.empty()) {
    LS_CHECK_INPUT(contains(sampler_names(), args.sampler),
                   "--sampler " << args.sampler << ": unknown sampler; allowed: " << join(sampler_names()));
    cfg.mutable_sample()->set_sampler(args.sampler);
  }
  if (args.no_fast_paths) cfg.mutable_engine()->set_cpu_fast_paths(false);
  set_cpu_fast_paths(cfg.engine().cpu_fast_paths());
  LS_CHECK_INPUT(!args.class_given || args.class_label >= 0, "--class must be a class index >= 0, got " << args.class_label);
  LS_CHECK_INPUT(!args.guidance_given || (std::isfinite(args.guidance) && std::fabs(args.guidance) <= 1000),
                 "--guidance must be a finite number in [-1000, 1000], got " << args.guidance);
  if (args.class_given) cfg.mutable_sample()->set_class_label(args.class_label);
  if (args.guidance_given) cfg.mutable_sample()->set_guidance(args.guidance);
  if (args.threads_given) {
    LS_CHECK_INPUT(args.threads >= 0 && args.threads <= 4096, "--threads must be in [0, 4096], got " << args.threads);
    cfg.mutable_engine()->set_threads(static_cast<uint32_t>(args.threads));
  }
  const SampleSpec spec = sample_spec(cfg, *src.data);
  const std::string out = !args.out.empty() ? args.out
                                            : (fs::path(src.run_dir) / ("samples-seed" + std::to_string(cfg.sample().seed()) + ".npy")).string();
  LS_CHECK_INPUT(fs::path(out).extension() == ".npy", "--out " << clip(out, 300) << ": expected a .npy file name");
  const std::string out_dir = fs::path(out).parent_path().string();
  LS_CHECK_INPUT(out_dir.empty() || is_dir(out_dir), "--out " << clip(out, 300) << ": no such directory " << clip(out_dir, 300));
  const std::string png = fs::path(out).replace_extension(".png").string();
  for (const std::string& file : {out, png}) {
    LS_CHECK_INPUT(args.force || !exists_nofollow(file), clip(file, 300) << ": exists; give another --out, or --force to replace it (and "
                                                                          << (file == out ? "the picture beside it" : "the samples") << ")");
    LS_CHECK_INPUT(!is_dir(file), clip(file, 300) << ": is a directory");
  }

  // Under mpirun or srun every rank samples its share of the chunks; rank 0 streams them to the file.
  std::unique_ptr<Comm> comm = make_comm(launched_by_mpi() ? "mpi" : "self", false);
  configure_threads(cfg.engine().threads(), comm->local_size());
  const bool root = comm->rank() == 0;
  const uint64_t num = cfg.sample().num();
  std::unique_ptr<NpyStreamWriter> writer;
  if (root) writer = std::make_unique<NpyStreamWriter>(out, npy_shape(static_cast<int64_t>(num), *src.data));
  const bool images = src.data->item_shape().size() == 3;
  const uint64_t keep = images ? std::max<uint64_t>(256, 16 * static_cast<uint64_t>(std::max<int64_t>(spec.num_classes, 1))) : 20000;
  const SampledSet sampled = sample_distributed(*comm, *src.net, *src.schedule, spec, num, cfg.sample().chunk(), keep, writer.get(),
                                                root && num > 4 * cfg.sample().chunk());
  if (!root) return kExitOk;
  writer->finish();
  const bool pictured = plot_samples(png, sampled.first, nullptr, *src.data, spec);
  std::fprintf(stderr, "%llu samples from %s, %s with %.1f NFE per sample, seed %llu, %d rank%s, %.3f s\n",
               static_cast<unsigned long long>(num), src.describe().c_str(), spec.sampler.c_str(), sampled.nfe,
               static_cast<unsigned long long>(cfg.sample().seed()), comm->size(), comm->size() == 1 ? "" : "s", sampled.seconds);
  std::printf("samples: %s\n", out.c_str());
  if (pictured) std::printf("picture: %s (the first %lld samples)\n", png.c_str(), static_cast<long long>(sampled.first.size(0)));
  return kExitOk;
}

}  // namespace lockstep
