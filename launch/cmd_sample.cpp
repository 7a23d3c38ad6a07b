// `lockstep sample CHECKPOINT [--num N] [--steps K] [--seed S] [--threads T] [--out FILE.npy] ...`, on one process or under mpirun/srun
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>

#include "common/checkpoint/checkpoint.h"
#include "common/comm/comm_registry.h"
#include "common/comm/mpi_session.h"
#include "common/io/npy_stream.h"
#include "common/config/config.h"
#include "common/io/image_codec.h"
#include "common/io/npy.h"
#include "common/io/npz_stream.h"
#include "common/kernels/fast_paths.h"
#include "common/model/flat_params.h"
#include "common/sampler/ode.h"
#include "common/sampler/sampler_names.h"
#include "common/util/error.h"
#include "common/util/strings.h"
#include "common/util/fs.h"
#include "common/util/threads.h"
#include "evaluation/sample_run.h"
#include "common/model/classifier.h"
#include "common/model/device_pick.h"
#include "launch/commands.h"
#include "launch/model_source.h"

namespace lockstep {
namespace {

// arr_1 of an .npz: the label each sample was drawn with (the sampler's own rule); empty for unconditional models.
std::vector<int64_t> labels_of_samples(const SampleSpec& spec, uint64_t num) {
  if (spec.num_classes <= 0) return {};
  const torch::Tensor y = sample_labels(spec, 0, num).contiguous();
  return std::vector<int64_t>(y.data_ptr<int64_t>(), y.data_ptr<int64_t>() + y.numel());
}

// One PNG per sample of a chunk, named by its global index with at least 6 digits.
void write_pngs(const std::string& dir, uint64_t first, uint64_t num, const torch::Tensor& x, const std::vector<int64_t>& shape) {
  const int digits = std::max<int>(6, static_cast<int>(std::to_string(num > 0 ? num - 1 : 0).size()));
  const torch::Tensor c = x.to(torch::kFloat32).contiguous();
  Image img;
  img.channels = static_cast<int>(shape[0]);
  img.height = static_cast<int>(shape[1]);
  img.width = static_cast<int>(shape[2]);
  img.pixels.resize(static_cast<size_t>(img.channels * img.height * img.width));
  for (int64_t i = 0; i < c.size(0); ++i) {
    to_uint8_hwc(c[i].data_ptr<float>(), shape[0], shape[1], shape[2], img.pixels.data());
    char name[32];
    std::snprintf(name, sizeof name, "%0*llu.png", digits, static_cast<unsigned long long>(first + static_cast<uint64_t>(i)));
    write_file_atomic((std::filesystem::path(dir) / name).string(), encode_png(img));
  }
}

// --init FILE.npy [--t-start T] [--noise-init]: the samples start from the file's rows (sample.num: their count, or
// --num if smaller) at time T instead of the seeded noise at the path's t_min.
void apply_init(const SampleArgs& args, const DataSource& data, Config* cfg, SampleSpec* spec) {
  const NpyArray a = read_npy(args.init);
  const std::vector<int64_t>& item = data.item_shape();
  const std::vector<int64_t> want = item.size() == 3 ? item : std::vector<int64_t>{data.dim()};
  const std::vector<int64_t> rows(a.shape.begin() + (a.shape.empty() ? 0 : 1), a.shape.end());
  LS_CHECK_INPUT(a.dtype == "<f4" || a.dtype == "<f8", "--init " << clip(args.init, 300) << ": holds " << a.dtype << "; give float32 or float64 points");
  LS_CHECK_INPUT(!a.shape.empty() && a.shape[0] >= 1 && (rows == want || (item.size() == 3 && rows.size() == 1 && rows[0] == data.dim())),
                 "--init " << clip(args.init, 300) << ": has shape " << shape_text(a.shape) << "; the model's items need [N, "
                           << shape_text(want).substr(1) << " (N >= 1)");
  const int64_t n = a.shape[0];
  for (float v : a.data) LS_CHECK_INPUT(std::isfinite(v), "--init " << clip(args.init, 300) << ": holds a value that is not finite");
  LS_CHECK_INPUT(!args.num_given || args.num <= n, "--num " << args.num << ": --init " << clip(args.init, 300) << " has only " << n << " points");
  cfg->mutable_sample()->set_num(static_cast<uint64_t>(args.num_given ? args.num : n));
  spec->init = std::make_shared<const torch::Tensor>(torch::from_blob(const_cast<float*>(a.data.data()), {n, data.dim()}, torch::kFloat32).clone());
  if (args.t_start_given) {
    LS_CHECK_INPUT(std::isfinite(args.t_start) && args.t_start >= spec->t_min && args.t_start < spec->t_max,
                   "--t-start must lie in [" << spec->t_min << ", " << spec->t_max << ") (path.t_min, path.t_max), got " << args.t_start);
    spec->t_min = args.t_start;
  }
  spec->init_is_data = args.noise_init;
  LS_CHECK_INPUT(!args.noise_init || !spec->source, "--noise-init: this model starts from its source distribution's draws (source.name), not from noise; "
                                                     "give the source points with --init alone");
}

}  // namespace

int cmd_sample(const SampleArgs& args) {
  namespace fs = std::filesystem;
  LS_CHECK_INPUT(!args.num_given || (args.num >= 1 && args.num < (int64_t{1} << 32)), "--num must be in [1, 2^32), got " << args.num);
  LS_CHECK_INPUT(!args.steps_given || (args.steps >= 1 && args.steps <= 1000000), "--steps must be in [1, 1000000], got " << args.steps);
  LS_CHECK_INPUT(!args.seed_given || args.seed >= 0, "--seed must be >= 0, got " << args.seed);
  check_device_flag(args.device);

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
  LS_CHECK_INPUT(!args.guidance_given || (std::isfinite(args.guidance) && std::fabs(args.guidance) <= 1000),
                 "--guidance must be a finite number in [-1000, 1000], got " << args.guidance);
  if (args.class_given) {
    LS_CHECK_INPUT(cfg.model().class_conditional(), "--class " << clip(args.class_name, 100) << ": the model is not class-conditional (model.class_conditional)");
    cfg.mutable_sample()->set_class_label(find_class(*src.data, args.class_name, "--class"));
  }
  if (args.guidance_given) cfg.mutable_sample()->set_guidance(args.guidance);
  if (args.threads_given) {
    LS_CHECK_INPUT(args.threads >= 0 && args.threads <= 4096, "--threads must be in [0, 4096], got " << args.threads);
    cfg.mutable_engine()->set_threads(static_cast<uint32_t>(args.threads));
  }
  LS_CHECK_INPUT(!args.t_start_given || !args.init.empty(), "--t-start needs --init (the points to start from at that time)");
  LS_CHECK_INPUT(!args.noise_init || args.t_start_given, "--noise-init needs --init and --t-start (the time to noise the data to)");
  SampleSpec spec = sample_spec(cfg, *src.data);
  if (!args.init.empty()) apply_init(args, *src.data, &cfg, &spec);
  const bool images = src.data->item_shape().size() == 3;
  const bool png_only = !args.png_dir.empty() && args.out.empty() && args.format.empty();
  std::string format = args.format;
  if (format.empty()) format = !args.out.empty() && fs::path(args.out).extension() == ".npz" ? "npz" : "npy";
  LS_CHECK_INPUT(format == "npy" || format == "npz", "--format must be npy or npz, got '" << clip(format, 40) << "'");
  LS_CHECK_INPUT(format == "npy" || images, "--format npz holds images (uint8 [N, H, W, C]); this model's items are points: use npy");
  LS_CHECK_INPUT(args.png_dir.empty() || images, "--png-dir writes images; this model's items are points");
  const std::string out = !args.out.empty() ? args.out
                                            : (fs::path(src.run_dir) / ("samples-seed" + std::to_string(cfg.sample().seed()) + "." + format)).string();
  LS_CHECK_INPUT(fs::path(out).extension() == "." + format, "--out " << clip(out, 300) << ": expected a ." << format << " file name");
  const std::string out_dir = fs::path(out).parent_path().string();
  const std::string png = fs::path(out).replace_extension(".png").string();
  if (!png_only) {
    LS_CHECK_INPUT(out_dir.empty() || is_dir(out_dir), "--out " << clip(out, 300) << ": no such directory " << clip(out_dir, 300));
    for (const std::string& file : {out, png}) {
      LS_CHECK_INPUT(args.force || !exists_nofollow(file), clip(file, 300) << ": exists; give another --out, or --force to replace it (and "
                                                                            << (file == out ? "the picture beside it" : "the samples") << ")");
      LS_CHECK_INPUT(!is_dir(file), clip(file, 300) << ": is a directory");
    }
  }
  if (!args.png_dir.empty()) {
    LS_CHECK_INPUT(!is_symlink(args.png_dir), "--png-dir " << clip(args.png_dir, 300) << ": is a symbolic link; give the directory itself");
    LS_CHECK_INPUT(!exists_nofollow(args.png_dir) || is_dir(args.png_dir), "--png-dir " << clip(args.png_dir, 300) << ": exists and is not a directory");
    std::error_code ec;
    const bool empty = !is_dir(args.png_dir) || fs::is_empty(args.png_dir, ec);
    LS_CHECK_INPUT(!ec, "--png-dir " << clip(args.png_dir, 300) << ": cannot list (" << ec.message() << ")");
    LS_CHECK_INPUT(args.force || empty,
                   "--png-dir " << clip(args.png_dir, 300) << ": holds files already; give an empty or new directory, or --force to write beside them");
  }

  // Under mpirun or srun every rank samples its share of the chunks; rank 0 streams them to the file, and every rank
  // writes the PNG files of its own chunks.
  std::unique_ptr<Comm> comm = make_comm(launched_by_mpi() ? "mpi" : "self", false);
  configure_threads(cfg.engine().threads(), comm->local_size());
  const c10::Device device = pick_device(args.device, comm->local_rank());
  place_net(*src.net, device);
  const bool root = comm->rank() == 0;
  const uint64_t num = cfg.sample().num();  // (--init: its rows, or the --num first of them)
  if (!args.png_dir.empty() && root) make_dirs(args.png_dir);
  comm->barrier();
  std::unique_ptr<ArrayStream> writer;
  if (root && !png_only) {
    if (format == "npz") writer = std::make_unique<NpzImageWriter>(out, static_cast<int64_t>(num), src.data->item_shape(), labels_of_samples(spec, num));
    else writer = std::make_unique<NpyStreamWriter>(out, npy_shape(static_cast<int64_t>(num), *src.data));
  }
  std::function<void(uint64_t, const torch::Tensor&)> on_chunk;
  if (!args.png_dir.empty()) on_chunk = [&](uint64_t first, const torch::Tensor& x) { write_pngs(args.png_dir, first, num, x, src.data->item_shape()); };
  const uint64_t keep = images ? std::max<uint64_t>(256, 16 * static_cast<uint64_t>(std::max<int64_t>(spec.num_classes, 1))) : 20000;
  const SampledSet sampled = sample_distributed(*comm, *src.net, *src.schedule, spec, num, cfg.sample().chunk(), keep, writer.get(),
                                                root && num > 4 * cfg.sample().chunk(), on_chunk);
  comm->barrier();  // every rank's PNG files are written
  if (!root) return kExitOk;
  if (writer) writer->finish();
  const bool pictured = !png_only && plot_samples(png, sampled.first, nullptr, *src.data, spec);
  std::fprintf(stderr, "%llu samples from %s, %s with %.1f NFE per sample, seed %llu, on %s, %d rank%s, %.3f s\n",
               static_cast<unsigned long long>(num), src.describe().c_str(), spec.sampler.c_str(), sampled.nfe,
               static_cast<unsigned long long>(cfg.sample().seed()), where_text(device).c_str(), comm->size(),
               comm->size() == 1 ? "" : "s", sampled.seconds);
  if (!png_only) std::printf("samples: %s\n", out.c_str());
  if (!args.png_dir.empty()) std::printf("images: %s (%llu PNG files)\n", args.png_dir.c_str(), static_cast<unsigned long long>(num));
  if (pictured) std::printf("picture: %s (the first %lld samples)\n", png.c_str(), static_cast<long long>(sampled.first.size(0)));
  return kExitOk;
}

}  // namespace lockstep
