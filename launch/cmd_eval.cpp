// `lockstep eval CHECKPOINT|CONFIG [--num N] [--likelihood] [--sweep] [--classifier CKPT] [--steps K] [--seed S] [--raw]
// [--report FILE.json]`: samples and fresh data of the model's distribution compared by all ranks together (energy
// distance, RBF MMD at five bandwidths); for images with --classifier, the Fréchet distance between samples and
// the held-out split in the classifier's features (and, as the floor, of N training images), and the share of
// class-conditional samples classified as their class; with --likelihood the log-likelihood of held-out data
// through the probability-flow ODE (nats per item, bits per dimension; discrete images uniformly dequantized);
// --sampler/--sample-steps choose how the samples are drawn; --straightness measures how straight the sampling ODE's
// trajectories are (common/metrics/straightness.h); --baseline [LABEL=]RUN (repeatable) adds other models' curves
// (and straightness) to the sweep, --label names this one; with --sweep the energy distance for Euler, Heun, RK4, DDIM and Euler-Maruyama (and TVM's jumps) at 1 to 64 network evaluations
// per sample, as a table and a plot. Writes a JSON report and a Markdown table. A classifier checkpoint is
// evaluated on its held-out split instead (eval_classifier.cpp).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <filesystem>

#include "common/kernels/fast_paths.h"
#include "common/comm/comm_registry.h"
#include "common/comm/mpi_session.h"
#include "common/io/jsonl.h"
#include "common/metrics/likelihood.h"
#include "common/metrics/pair_sums.h"
#include "common/model/classifier.h"
#include "common/plot/line_plot.h"
#include "common/rng/philox.h"
#include "common/sampler/sampler_names.h"
#include "common/util/strings.h"
#include "common/util/error.h"
#include "common/util/fs.h"
#include "common/util/threads.h"
#include "evaluation/image_metrics.h"
#include "evaluation/sample_run.h"
#include "launch/commands.h"
#include "common/model/device_pick.h"
#include "launch/model_source.h"

namespace lockstep {
namespace {

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// The items whose likelihood is measured: the first n of the held-out split (or the fresh data points `fresh`
// without one), uniformly dequantized for discrete data: item + (u - 1/2) * step, u ~ U(0, 1) from (seed, row).
torch::Tensor likelihood_items(const ModelSource& src, const torch::Tensor& fresh, int64_t n, uint64_t seed, std::string* what) {
  const std::unique_ptr<DataSource> held_out = make_eval_dataset(src.config.data(), src.config.seed());
  torch::Tensor x;
  if (held_out && held_out->size() > 0) {
    n = std::min<int64_t>(n, static_cast<int64_t>(held_out->size()));
    x = torch::empty({n, held_out->dim()}, torch::kFloat32);
    for (int64_t i = 0; i < n; ++i) held_out->item(static_cast<uint64_t>(i), x.data_ptr<float>() + i * held_out->dim());
    *what = "the first " + std::to_string(n) + " items of the held-out split";
  } else {
    x = fresh.narrow(0, 0, std::min<int64_t>(n, fresh.size(0))).clone();
    *what = std::to_string(x.size(0)) + " fresh data points";
  }
  const double step = src.data->quantization_step();
  if (step > 0) {
    float* p = x.data_ptr<float>();
    for (int64_t i = 0; i < x.size(0); ++i) {
      CounterRng rng(seed, 0, static_cast<uint64_t>(i), Stream::kDequantize);
      for (int64_t k = 0; k < x.size(1); ++k) *p++ += static_cast<float>((rng.uniform() - 0.5) * step);
    }
    *what += ", uniformly dequantized";
  }
  return x;
}

}  // namespace

constexpr double kPlotFloor = 1e-4;  // the sweep plot's log scale: energy distances below this are drawn at it

int cmd_eval(const EvalArgs& args) {
  namespace fs = std::filesystem;
  LS_CHECK_INPUT(args.num >= 2 && args.num < (int64_t{1} << 32), "--num must be in [2, 2^32), got " << args.num);
  LS_CHECK_INPUT(args.steps >= 1 && args.steps <= 100000, "--steps must be in [1, 100000], got " << args.steps);
  LS_CHECK_INPUT(args.seed >= 0, "--seed must be >= 0, got " << args.seed);
  LS_CHECK_INPUT(args.report.empty() || fs::path(args.report).extension() == ".json", "--report " << args.report << ": expected a .json file name");
  LS_CHECK_INPUT(args.likelihood_num >= 0, "--likelihood-num must be >= 0, got " << args.likelihood_num);
  LS_CHECK_INPUT(!args.guidance_given || std::isfinite(args.guidance), "--guidance must be a finite number");
  check_device_flag(args.device);
  ModelSource src = load_model_source(args.checkpoint, args.raw);
  if (args.no_fast_paths) src.config.mutable_engine()->set_cpu_fast_paths(false);
  set_cpu_fast_paths(src.config.engine().cpu_fast_paths());
  if (args.guidance_given) src.config.mutable_sample()->set_guidance(args.guidance);
  if (!args.sampler.empty()) {
    LS_CHECK_INPUT(contains(sampler_names(), args.sampler), "--sampler " << args.sampler << ": unknown sampler; allowed: " << join(sampler_names()));
    LS_CHECK_INPUT(args.sampler != "tvm" || src.net->flow_map(), "--sampler tvm: " << args.checkpoint << " is not a flow map (train.loss TVM)");
    src.config.mutable_sample()->set_sampler(args.sampler);
  }
  LS_CHECK_INPUT(args.sample_steps >= 0 && args.sample_steps <= 100000, "--sample-steps must be in [1, 100000], got " << args.sample_steps);
  LS_CHECK_INPUT(args.baselines.empty() || args.sweep, "--baseline " << args.baselines.front() << ": only used with --sweep");
  LS_CHECK_INPUT(args.sweep_max_nfe >= 1 && args.sweep_max_nfe <= 4096, "--sweep-max-nfe must be in [1, 4096], got " << args.sweep_max_nfe);
  if (args.sample_steps > 0) src.config.mutable_sample()->set_steps(static_cast<uint32_t>(args.sample_steps));
  // the models' names: this one's, then each baseline's (LABEL=RUN, else "baseline", "baseline 2", ...), all distinct
  const std::string this_model = args.label.empty() ? std::string("this") : args.label;
  std::vector<std::pair<std::string, std::string>> baselines;  // (name, checkpoint)
  std::vector<std::string> names = {this_model};
  for (size_t b = 0; b < args.baselines.size(); ++b) {
    const std::string& arg = args.baselines[b];
    const size_t eq = arg.find('=');
    const bool labelled = eq != std::string::npos && eq > 0 && arg.substr(0, eq).find('/') == std::string::npos;
    const std::string name = labelled ? arg.substr(0, eq) : b == 0 ? std::string("baseline") : "baseline " + std::to_string(b + 1);
    LS_CHECK_INPUT(!contains(names, name) && name != "this", "--baseline " << arg << ": the name '" << name << "' is taken (use LABEL=RUN with a name of its own)");
    names.push_back(name);
    baselines.emplace_back(name, labelled ? arg.substr(eq + 1) : arg);
  }
  const std::string report = !args.report.empty() ? args.report
                                                  : (fs::path(src.run_dir) / ("eval-tick" + std::to_string(src.tick) + ".json")).string();
  const std::string report_dir = fs::path(report).parent_path().string();
  LS_CHECK_INPUT(report_dir.empty() || is_dir(report_dir), "--report " << report << ": no such directory " << report_dir);
  if (as_classifier(*src.net)) return eval_classifier(args, src);
  LS_CHECK_INPUT(!args.likelihood || src.config.source().name() == "gaussian",
                 "--likelihood: " << args.checkpoint << " starts from a data source, whose density is unknown (the likelihood needs the Gaussian)");

  // The classifier of the image metrics: a checkpoint of model "classifier" for items of this data's shape.
  LoadedClassifier cls;
  if (!args.classifier.empty()) cls = load_classifier(args.classifier, src.data->item_shape(), src.data->num_classes(), "--classifier");
  Classifier* classifier = cls.net.get();

  std::unique_ptr<Comm> comm = make_comm(launched_by_mpi() ? "mpi" : "self", false);
  configure_threads(src.config.engine().threads(), comm->local_size());
  // the networks (model, classifier, baselines) on this rank's device; the metrics on the CPU, in float64 where
  // they sum (pair sums, Fréchet statistics and the matrix square root, likelihood totals)
  const c10::Device device = pick_device(args.device, comm->local_rank());
  place_net(*src.net, device);
  if (cls.net) place_net(*cls.net, device);
  const bool root = comm->rank() == 0;
  const int64_t n = args.num, d = src.data->dim();
  const int64_t begin = n * comm->rank() / comm->size(), end = n * (comm->rank() + 1) / comm->size();
  const auto t0 = std::chrono::steady_clock::now();

  // 1. samples (all ranks; with a classifier each rank scores its own chunks); fresh data (every rank draws the
  // same points)
  const SampleSpec spec = sample_spec(src.config, *src.data);
  std::unique_ptr<ImageScorer> scored = classifier ? std::make_unique<ImageScorer>(*classifier) : nullptr;
  const auto score_chunk = [&](uint64_t first, const torch::Tensor& x) { scored->add_samples(spec, first, x); };
  const SampledSet sampled = sample_distributed(*comm, *src.net, *src.schedule, spec, static_cast<uint64_t>(n),
                                                src.config.sample().chunk(), static_cast<uint64_t>(n), nullptr, false,
                                                scored ? std::function<void(uint64_t, const torch::Tensor&)>(score_chunk) : nullptr);
  const torch::Tensor y = fresh_data(*src.data, static_cast<uint64_t>(n), static_cast<uint64_t>(args.seed));

  // 2. two-sample distances: each rank its rows, sums gathered at rank 0
  const PairSums sums = compare_distributed(*comm, sampled.first, y);

  // 3. images: Fréchet distances to the held-out split in the classifier's features; the floor is that of n
  // training images
  double fd = 0, fd_floor = 0;
  std::string reference;
  std::unique_ptr<ImageScorer> ref;
  if (classifier) {
    scored->reduce(*comm);
    ref = score_reference(*comm, *classifier, src.config.data(), src.config.seed(), &reference);
    ImageScorer floor(*classifier);
    floor.add(y.narrow(0, begin, end - begin), torch::Tensor());
    floor.reduce(*comm);
    if (root) {
      fd = frechet_distance(scored->stats, ref->stats);
      fd_floor = frechet_distance(floor.stats, ref->stats);
    }
  }

  // 4. likelihood of held-out data: each rank its rows
  double nll = 0, se = 0;
  std::string likelihood_of;
  const int64_t ln_wanted = args.likelihood_num > 0 ? args.likelihood_num : n;
  const torch::Tensor lx = args.likelihood ? likelihood_items(src, y, ln_wanted, static_cast<uint64_t>(args.seed), &likelihood_of) : torch::Tensor();
  const int64_t ln = args.likelihood ? lx.size(0) : 0;
  const int64_t lbegin = ln * comm->rank() / comm->size(), lend = ln * (comm->rank() + 1) / comm->size();
  if (args.likelihood) {
    LikelihoodSpec ls;
    ls.t_min = src.config.path().t_min();
    ls.t_max = src.config.path().t_max();
    ls.steps = args.steps;
    ls.seed = static_cast<uint64_t>(args.seed);
    ls.first_index = static_cast<uint64_t>(lbegin);  // probes keyed by the global row: any world size, same numbers
    double part[2] = {0, 0};
    if (lend > lbegin) {
      const torch::Tensor log_p = log_likelihood(*src.net, *src.schedule, prediction_from_config(src.config.model().prediction()),
                                                 lx.narrow(0, lbegin, lend - lbegin).to(device), ls)
                                      .to(torch::kFloat64);
      part[0] = log_p.sum().item<double>();
      part[1] = log_p.square().sum().item<double>();
    }
    const std::vector<std::string> parts = comm->gather(std::string(reinterpret_cast<const char*>(part), sizeof part), 0);
    if (root) {
      double s = 0, s2 = 0;
      for (const std::string& p : parts) {
        double v[2];
        std::memcpy(v, p.data(), sizeof v);
        s += v[0];
        s2 += v[1];
      }
      const double mean = s / static_cast<double>(ln), var = ln > 1 ? (s2 - s * mean) / static_cast<double>(ln - 1) : 0.0;
      nll = -mean;
      se = std::sqrt(std::max(var, 0.0) / static_cast<double>(ln));
    }
  }
  // 5. straightness of the sampling ODE's trajectories, for this model (and each baseline below)
  std::vector<JsonObject> straight_rows;
  std::string straight_md;
  const auto measure_straightness = [&](ModelSource& m, const std::string& model, const SampleSpec& s) {
    const StraightnessSums st = straightness_distributed(*comm, *m.net, *m.schedule, s, static_cast<uint64_t>(n), m.config.sample().chunk(), args.steps);
    if (!root) return;
    JsonObject row;
    row.set("model", model).set("straightness", st.straightness()).set("curved_fraction", st.curved_fraction())
        .set("steps", static_cast<uint64_t>(args.steps)).set("num", static_cast<uint64_t>(st.n));
    straight_rows.push_back(row);
    straight_md += "| " + model + " | " + fmt(st.straightness()) + " | " + fmt(st.curved_fraction()) + " |\n";
    std::printf("straightness: model=%s S=%.17g curved_fraction=%.17g\n", model.c_str(), st.straightness(), st.curved_fraction());
  };
  if (args.straightness) measure_straightness(src, this_model, spec);

  // 6. sampler sweep: quality against NFE for each sampler, the same data and seed
  std::vector<JsonObject> sweep;
  std::vector<LineSeries> curves;
  std::string sweep_md;
  if (args.sweep) {
    struct Kind {
      std::string name;
      int evals_per_step;
      uint32_t rgb;
    };
    const std::vector<Kind> all = {{"euler", 1, 0x1f77b4}, {"heun", 2, 0xff7f0e}, {"rk4", 4, 0x2ca02c}, {"ddim", 1, 0xd62728},
                                   {"euler_maruyama", 1, 0x9467bd}};
    std::vector<Kind> chosen;
    for (const std::string& name : split(args.sweep_samplers, ',')) {
      bool known = false;
      for (const Kind& k : all)
        if (k.name == name) chosen.push_back(k), known = true;
      LS_CHECK_INPUT(known, "--sweep-samplers: unknown sampler '" << name << "'; allowed: euler, heun, rk4, ddim, euler_maruyama");
    }
    const bool images = classifier != nullptr;  // then also the Fréchet distance (and class accuracy) of every point
    sweep_md = std::string("\n| model | sampler | steps | NFE | energy distance | MMD² (h = median) |") +
               (images ? " Fréchet distance | class accuracy |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n"
                       : "\n| --- | --- | --- | --- | --- | --- |\n");
    // one model's curves: every kind at 1, 2, 4, ... NFE, on the same data points y
    // model `index` (0: this one): its curves in the kinds' colours; other models paler, or, when one sampler is swept,
    // in colours of their own
    const auto sweep_model = [&](ModelSource& m, const std::string& model, size_t index, std::vector<Kind> kinds) {
      const SampleSpec base = sample_spec(m.config, *m.data);
      if (m.net->flow_map()) kinds.insert(kinds.begin(), Kind{"tvm", 1, 0x000000});  // its jumps (train.loss TVM)
      const int guided = base.num_classes > 0 && spec.guidance != 1.0 ? 2 : 1;
      const bool one_kind = chosen.size() == 1;
      for (const Kind& k : kinds) {
        static const uint32_t palette[] = {0xd62728, 0x2ca02c, 0x9467bd, 0x8c564b, 0xe377c2, 0x17becf};
        const uint32_t rgb = index == 0                      ? k.rgb
                             : one_kind && k.name != "tvm" ? palette[(index - 1) % 6]
                                                           : (k.rgb & 0xfefefe) / 2 + 0x7f7f7f;
        LineSeries curve{model == "this" ? k.name : model + " " + k.name, {}, {}, rgb};
        for (int nfe = 1; nfe <= args.sweep_max_nfe; nfe *= 2) {
          const bool guidance_as_input = k.name == "tvm" && m.net->guidance_input();
          const int per = k.evals_per_step * (guidance_as_input ? 1 : guided);
          if (nfe % per != 0) continue;
          SampleSpec s = base;
          s.sampler = k.name;
          s.steps = nfe / per;
          s.seed = spec.seed;
          s.guidance = spec.guidance;
          s.class_label = spec.class_label;
          std::unique_ptr<ImageScorer> sc = images ? std::make_unique<ImageScorer>(*classifier) : nullptr;
          const auto on_chunk = [&](uint64_t first, const torch::Tensor& x) { sc->add_samples(s, first, x); };
          const SampledSet got = sample_distributed(*comm, *m.net, *m.schedule, s, static_cast<uint64_t>(n), m.config.sample().chunk(),
                                                    static_cast<uint64_t>(n), nullptr, false,
                                                    sc ? std::function<void(uint64_t, const torch::Tensor&)>(on_chunk) : nullptr);
          const PairSums q = compare_distributed(*comm, got.first, y);
          if (sc) sc->reduce(*comm);
          if (!root) continue;
          JsonObject row;
          row.set("model", model).set("sampler", k.name).set("steps", static_cast<uint64_t>(s.steps)).set("nfe", got.nfe)
              .set("guidance", s.guidance).set("seed", s.seed).set("energy_distance", q.energy_distance_u()).set("mmd2", q.mmd2_u(2));
          std::string extra;
          double plotted = std::max(q.energy_distance_u(), kPlotFloor);  // the unbiased estimate can be < 0
          if (sc) {
            const double fd_k = frechet_distance(sc->stats, ref->stats);
            const bool labelled = s.num_classes > 0;
            row.set("frechet_distance", fd_k);
            if (labelled) row.set("class_accuracy", sc->counts.accuracy());
            extra = " | " + fmt(fd_k) + " | " + (labelled ? fmt(sc->counts.accuracy()) : std::string("")) ;
            plotted = fd_k;
          }
          sweep.push_back(row);
          curve.x.push_back(got.nfe);
          curve.y.push_back(std::log10(plotted));
          sweep_md += "| " + model + " | " + k.name + " | " + std::to_string(s.steps) + " | " + fmt(got.nfe) + " | " +
                      fmt(q.energy_distance_u()) + " | " + fmt(q.mmd2_u(2)) + extra + " |\n";
        }
        curves.push_back(curve);
      }
    };
    sweep_model(src, this_model, 0, chosen);
    for (size_t b = 0; b < baselines.size(); ++b) {  // other models on the same data
      const std::string& model = baselines[b].first;
      ModelSource other = load_model_source(baselines[b].second, args.raw);
      place_net(*other.net, device);
      LS_CHECK_INPUT(other.data->item_shape() == src.data->item_shape(),
                     "--baseline " << args.baselines[b] << ": its items have another shape than " << args.checkpoint << "'s");
      sweep_model(other, model, b + 1, chosen);
      if (args.straightness) {
        SampleSpec s = sample_spec(other.config, *other.data);
        s.seed = spec.seed;
        s.guidance = spec.guidance;
        s.class_label = spec.class_label;
        measure_straightness(other, model, s);
      }
    }
  }
  if (!root) return kExitOk;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // 7. report: JSON and Markdown
  JsonObject o;
  o.set("device", std::string(device.is_cuda() ? "cuda" : "cpu"));
  o.set("checkpoint", src.path).set("tick", src.tick).set("weights", std::string(src.oracle ? "oracle" : src.ema ? "ema" : "raw"))
      .set("sampler", spec.sampler).set("steps", static_cast<uint64_t>(spec.steps)).set("guidance", spec.guidance)
      .set("seed", spec.seed).set("data_seed", static_cast<uint64_t>(args.seed)).set("num", static_cast<uint64_t>(n))
      .set("nfe", sampled.nfe).set("ranks", static_cast<uint64_t>(comm->size())).set("seconds", secs)
      .set("energy_distance", sums.energy_distance_u()).set("mmd_bandwidths", sums.bandwidths);
  std::vector<double> mmd;
  for (size_t k = 0; k < sums.bandwidths.size(); ++k) mmd.push_back(sums.mmd2_u(k));
  o.set("mmd2", mmd);
  std::string md = "| metric | value |\n| --- | --- |\n";
  md += "| samples | " + std::to_string(n) + " (" + spec.sampler + ", " + std::to_string(spec.steps) + " steps, " + fmt(sampled.nfe) +
        " NFE, seed " + std::to_string(spec.seed) + ", guidance " + fmt(spec.guidance) + ") |\n";
  md += "| energy distance | " + fmt(sums.energy_distance_u()) + " |\n";
  for (size_t k = 0; k < mmd.size(); ++k) md += "| MMD² (RBF, h = " + fmt(sums.bandwidths[k]) + ") | " + fmt(mmd[k]) + " |\n";
  if (classifier) {
    o.set("classifier", cls.path).set("frechet_distance", fd).set("frechet_distance_data_floor", fd_floor)
        .set("frechet_reference", reference).set("classifier_reference_accuracy", ref->counts.accuracy());
    md += "| Fréchet distance (classifier features, vs " + reference + ") | " + fmt(fd) + " |\n";
    md += "| Fréchet distance of " + std::to_string(n) + " training images (the floor) | " + fmt(fd_floor) + " |\n";
    std::printf("frechet: frechet_distance=%.5f data_floor=%.5f\n", fd, fd_floor);
    if (spec.num_classes > 0) {
      std::vector<double> per_class;
      std::string row;
      for (int64_t k = 0; k < spec.num_classes; ++k) {
        per_class.push_back(scored->counts.accuracy(k));
        row += (k ? ", " : "") + src.data->class_name(k) + " " + fmt(scored->counts.accuracy(k));
      }
      o.set("class_accuracy", scored->counts.accuracy()).set("class_accuracy_per_class", per_class);
      md += "| class accuracy of samples (classifier's held-out accuracy " + fmt(ref->counts.accuracy()) + ") | " +
            fmt(scored->counts.accuracy()) + " |\n| per class | " + row + " |\n";
      std::printf("class accuracy: %.4f (the classifier's own held-out accuracy %.4f)\n", scored->counts.accuracy(), ref->counts.accuracy());
    }
  }
  if (args.likelihood) {
    const double step = src.data->quantization_step();
    // Discrete data: -log P(bin) <= E[-log p(item + u)] - D log(step), so bits/dim = (nll - D log step) / (D log 2).
    const double bpd = (nll - (step > 0 ? static_cast<double>(d) * std::log(step) : 0.0)) / (static_cast<double>(d) * std::log(2.0));
    o.set("nll_nats", nll).set("nll_se", se).set("bits_per_dim", bpd).set("likelihood_steps", static_cast<uint64_t>(args.steps))
        .set("likelihood_items", likelihood_of).set("likelihood_num", static_cast<uint64_t>(ln));
    md += "| NLL (nats per item; " + likelihood_of + ") | " + fmt(nll) + " ± " + fmt(se) + " |\n| bits per dimension | " + fmt(bpd) + " |\n";
    std::fprintf(stderr, "likelihood of %s, RK4 with %lld steps (%s divergence)\n", likelihood_of.c_str(),
                 static_cast<long long>(args.steps), d <= LikelihoodSpec().exact_dims ? "exact" : "Hutchinson");
    std::printf("likelihood: nll_nats=%.5f +- %.5f bits_per_dim=%.5f\n", nll, se, bpd);
  }
  if (args.straightness) {
    o.set("straightness", straight_rows);
    md += "\n| model | straightness S (per dimension; Euler, " + std::to_string(args.steps) + " steps) | curved fraction |\n| --- | --- | --- |\n" +
          straight_md;
  }
  if (args.sweep) {
    o.set("sweep", sweep);
    md += sweep_md;
    const std::string png = fs::path(report).replace_extension(".sweep.png").string();
    write_line_plot_png(png, "sample quality against NFE", "network evaluations per sample (NFE)",
                        classifier ? "log10 Fréchet distance" : "log10 energy distance (values below 1e-4 drawn at -4)", curves);
    std::printf("sweep plot: %s\n", png.c_str());
  }
  write_file_atomic(report, o.dump() + "\n");
  const std::string md_path = fs::path(report).replace_extension(".md").string();
  write_file_atomic(md_path, "Evaluation of " + src.describe() + "\n\n" + md);
  std::fprintf(stderr, "evaluated %s on %s (metrics on the CPU, float64 sums), %d rank%s in %.1f s\n%s", src.describe().c_str(),
               where_text(device).c_str(), comm->size(), comm->size() == 1 ? "" : "s", secs,
               md.c_str());
  std::printf("report: %s\n", report.c_str());
  return kExitOk;
}

}  // namespace lockstep
