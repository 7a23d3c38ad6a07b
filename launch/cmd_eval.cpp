// `lockstep eval CHECKPOINT|CONFIG [--num N] [--likelihood] [--sweep] [--steps K] [--seed S] [--raw] [--report FILE.json]`:
// samples and fresh data of the model's distribution compared by all ranks together (energy distance, RBF MMD at
// five bandwidths), and with --likelihood the log-likelihood of N fresh data points through the
// probability-flow ODE (nats per item, bits per dimension); with --sweep the same comparison for Euler, Heun, RK4,
// DDIM and Euler-Maruyama at 1 to 64 network evaluations per sample, as a table and a plot. Writes a JSON report
// and a Markdown table.
#include <chrono>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <filesystem>

#include "common/comm/comm_registry.h"
#include "common/comm/mpi_session.h"
#include "common/io/jsonl.h"
#include "common/metrics/likelihood.h"
#include "common/metrics/pair_sums.h"
#include "common/plot/line_plot.h"
#include "common/util/error.h"
#include "common/util/fs.h"
#include "common/util/threads.h"
#include "coordinator/sample_run.h"
#include "launch/commands.h"
#include "launch/model_source.h"

namespace lockstep {
namespace {

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

int cmd_eval(const EvalArgs& args) {
  namespace fs = std::filesystem;
  LS_CHECK_INPUT(args.num >= 2 && args.num < (int64_t{1} << 32), "--num must be in [2, 2^32), got " << args.num);
  LS_CHECK_INPUT(args.steps >= 1 && args.steps <= 100000, "--steps must be in [1, 100000], got " << args.steps);
  LS_CHECK_INPUT(args.seed >= 0, "--seed must be >= 0, got " << args.seed);
  LS_CHECK_INPUT(args.report.empty() || fs::path(args.report).extension() == ".json", "--report " << args.report << ": expected a .json file name");
  ModelSource src = load_model_source(args.checkpoint, args.raw);
  const std::string report = !args.report.empty() ? args.report
                                                  : (fs::path(src.run_dir) / ("eval-tick" + std::to_string(src.tick) + ".json")).string();
  const std::string report_dir = fs::path(report).parent_path().string();
  LS_CHECK_INPUT(report_dir.empty() || is_dir(report_dir), "--report " << report << ": no such directory " << report_dir);

  std::unique_ptr<Comm> comm = make_comm(launched_by_mpi() ? "mpi" : "self");
  configure_threads(src.config.engine().threads(), comm->local_size());
  const bool root = comm->rank() == 0;
  const int64_t n = args.num, d = src.data->dim();
  const int64_t begin = n * comm->rank() / comm->size(), end = n * (comm->rank() + 1) / comm->size();
  const auto t0 = std::chrono::steady_clock::now();

  // 1. samples (all ranks); fresh data (every rank draws the same points)
  const SampleSpec spec = sample_spec(src.config, *src.data);
  const SampledSet sampled = sample_distributed(*comm, *src.net, *src.schedule, spec, static_cast<uint64_t>(n),
                                                src.config.sample().chunk(), static_cast<uint64_t>(n), nullptr, false);
  const torch::Tensor y = fresh_data(*src.data, static_cast<uint64_t>(n), static_cast<uint64_t>(args.seed));

  // 2. two-sample distances: each rank its rows, sums gathered at rank 0
  const PairSums sums = compare_distributed(*comm, sampled.first, y);

  // 3. likelihood of the fresh data: each rank its rows
  double nll = 0, se = 0;
  if (args.likelihood) {
    LikelihoodSpec ls;
    ls.t_min = src.config.path().t_min();
    ls.t_max = src.config.path().t_max();
    ls.steps = args.steps;
    ls.seed = static_cast<uint64_t>(args.seed);
    ls.first_index = static_cast<uint64_t>(begin);  // probes keyed by the global row: any world size, same numbers
    double part[2] = {0, 0};
    if (end > begin) {
      const torch::Tensor log_p = log_likelihood(*src.net, *src.schedule, prediction_from_config(src.config.model().prediction()),
                                                 y.narrow(0, begin, end - begin), ls)
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
      const double mean = s / static_cast<double>(n), var = (s2 - s * mean) / static_cast<double>(n - 1);
      nll = -mean;
      se = std::sqrt(std::max(var, 0.0) / static_cast<double>(n));
    }
  }
  // 4. sampler sweep: quality against NFE for each sampler, the same data and seed
  std::vector<JsonObject> sweep;
  std::vector<LineSeries> curves;
  std::string sweep_md;
  if (args.sweep) {
    struct Kind {
      const char* name;
      int evals_per_step;
      uint32_t rgb;
    };
    const Kind kinds[] = {{"euler", 1, 0x1f77b4}, {"heun", 2, 0xff7f0e}, {"rk4", 4, 0x2ca02c}, {"ddim", 1, 0xd62728},
                          {"euler_maruyama", 1, 0x9467bd}};
    const int guided = spec.num_classes > 0 && spec.guidance != 1.0 ? 2 : 1;
    sweep_md = "\n| sampler | steps | NFE | energy distance | MMD² (h = median) |\n| --- | --- | --- | --- | --- |\n";
    for (const Kind& k : kinds) {
      LineSeries curve{k.name, {}, {}, k.rgb};
      for (int nfe = 1; nfe <= 64; nfe *= 2) {
        const int per = k.evals_per_step * guided;
        if (nfe % per != 0) continue;
        SampleSpec s = spec;
        s.sampler = k.name;
        s.steps = nfe / per;
        const SampledSet got = sample_distributed(*comm, *src.net, *src.schedule, s, static_cast<uint64_t>(n), src.config.sample().chunk(),
                                                  static_cast<uint64_t>(n), nullptr, false);
        const PairSums q = compare_distributed(*comm, got.first, y);
        if (!root) continue;
        JsonObject row;
        row.set("sampler", std::string(k.name)).set("steps", static_cast<uint64_t>(s.steps)).set("nfe", got.nfe)
            .set("guidance", s.guidance).set("seed", s.seed).set("energy_distance", q.energy_distance_u()).set("mmd2", q.mmd2_u(2));
        sweep.push_back(row);
        curve.x.push_back(got.nfe);
        curve.y.push_back(q.energy_distance_u());
        sweep_md += std::string("| ") + k.name + " | " + std::to_string(s.steps) + " | " + fmt(got.nfe) + " | " + fmt(q.energy_distance_u()) +
                    " | " + fmt(q.mmd2_u(2)) + " |\n";
      }
      curves.push_back(curve);
    }
  }
  if (!root) return kExitOk;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // 4. report: JSON and Markdown
  JsonObject o;
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
  if (args.likelihood) {
    const double bpd = nll / (static_cast<double>(d) * std::log(2.0));
    o.set("nll_nats", nll).set("nll_se", se).set("bits_per_dim", bpd).set("likelihood_steps", static_cast<uint64_t>(args.steps));
    md += "| NLL (nats per item) | " + fmt(nll) + " ± " + fmt(se) + " |\n| bits per dimension | " + fmt(bpd) + " |\n";
    std::fprintf(stderr, "likelihood of %lld fresh data points, RK4 with %lld steps (%s divergence)\n", static_cast<long long>(n),
                 static_cast<long long>(args.steps), d <= LikelihoodSpec().exact_dims ? "exact" : "Hutchinson");
    std::printf("likelihood: nll_nats=%.5f +- %.5f bits_per_dim=%.5f\n", nll, se, bpd);
  }
  if (args.sweep) {
    o.set("sweep", sweep);
    md += sweep_md;
    const std::string png = fs::path(report).replace_extension(".sweep.png").string();
    write_line_plot_png(png, "sample quality against NFE", "network evaluations per sample (NFE)", "energy distance", curves);
    std::printf("sweep plot: %s\n", png.c_str());
  }
  write_file_atomic(report, o.dump() + "\n");
  const std::string md_path = fs::path(report).replace_extension(".md").string();
  write_file_atomic(md_path, "Evaluation of " + src.describe() + "\n\n" + md);
  std::fprintf(stderr, "evaluated %s on %d rank%s in %.1f s\n%s", src.describe().c_str(), comm->size(), comm->size() == 1 ? "" : "s", secs,
               md.c_str());
  std::printf("report: %s\n", report.c_str());
  return kExitOk;
}

}  // namespace lockstep
