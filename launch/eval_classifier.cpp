// `lockstep eval CLASSIFIER_CHECKPOINT`: the accuracy and cross-entropy of a classifier (model "classifier") on
// the held-out split of its data (its training items when there is none), every rank its slice, per class and
// overall; a JSON report and a Markdown table.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "common/comm/comm_registry.h"
#include "common/comm/mpi_session.h"
#include "common/io/jsonl.h"
#include "common/model/classifier.h"
#include "common/util/error.h"
#include "common/util/fs.h"
#include "common/util/threads.h"
#include "evaluation/image_metrics.h"
#include "launch/commands.h"
#include "common/model/device_pick.h"
#include "launch/model_source.h"

namespace lockstep {

int eval_classifier(const EvalArgs& args, ModelSource& src) {
  namespace fs = std::filesystem;
  LS_CHECK_INPUT(!args.likelihood && !args.sweep && args.classifier.empty(),
                 src.path << " is a classifier: --likelihood, --sweep and --classifier apply to generative models");
  const std::string report = !args.report.empty() ? args.report
                                                  : (fs::path(src.run_dir) / ("eval-tick" + std::to_string(src.tick) + ".json")).string();
  std::unique_ptr<Comm> comm = make_comm(launched_by_mpi() ? "mpi" : "self", false);
  configure_threads(src.config.engine().threads(), comm->local_size());
  const c10::Device device = pick_device(args.device, comm->local_rank());
  place_net(*src.net, device);
  const auto t0 = std::chrono::steady_clock::now();
  std::string what;
  const std::unique_ptr<ImageScorer> s = score_reference(*comm, *as_classifier(*src.net), src.config.data(), src.config.seed(), &what);
  if (comm->rank() != 0) return kExitOk;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double ce = s->mean_cross_entropy();
  std::vector<double> per_class;
  std::string md = "| metric | value |\n| --- | --- |\n| accuracy on the " + what + " | " + std::to_string(s->counts.accuracy()) + " |\n" +
                   "| cross-entropy (nats) | " + std::to_string(ce) + " |\n";
  for (size_t k = 0; k < s->counts.total.size(); ++k) {
    per_class.push_back(s->counts.accuracy(static_cast<int64_t>(k)));
    md += "| " + src.data->class_name(static_cast<int64_t>(k)) + " | " + std::to_string(per_class.back()) + " |\n";
  }
  JsonObject o;
  o.set("checkpoint", src.path).set("tick", src.tick).set("weights", std::string(src.ema ? "ema" : "raw")).set("reference", what)
      .set("accuracy", s->counts.accuracy()).set("cross_entropy", ce).set("accuracy_per_class", per_class)
      .set("ranks", static_cast<uint64_t>(comm->size())).set("seconds", secs);
  write_file_atomic(report, o.dump() + "\n");
  write_file_atomic(fs::path(report).replace_extension(".md").string(), "Evaluation of " + src.describe() + "\n\n" + md);
  std::fprintf(stderr, "evaluated %s on %s, %d rank%s in %.1f s\n%s", src.describe().c_str(), where_text(device).c_str(),
               comm->size(), comm->size() == 1 ? "" : "s", secs,
               md.c_str());
  std::printf("classifier: accuracy=%.4f cross_entropy=%.4f (%s)\nreport: %s\n", s->counts.accuracy(), ce, what.c_str(), report.c_str());
  return kExitOk;
}

}  // namespace lockstep
