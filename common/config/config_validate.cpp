// Range and name checks of every config field, before any work starts.
#include <algorithm>
#include <cmath>
#include <set>

#include "common/comm/comm_registry.h"
#include "common/config/config.h"
#include "common/data/toy2d.h"
#include "common/model/dit_shape.h"
#include "common/optim/loss_scaler.h"
#include "common/path/schedule.h"
#include "common/sampler/sampler_names.h"
#include "common/util/strings.h"

namespace lockstep {
namespace {

class Checker {
 public:
  void need(bool ok, const std::string& field, const std::string& message) {
    if (!ok) issues.push_back({field, message});
  }
  void positive(double v, const std::string& field) {
    need(std::isfinite(v) && v > 0, field, "must be a finite number > 0, got " + fmt(v));
  }
  void at_least(uint64_t v, uint64_t lo, const std::string& field) {
    need(v >= lo, field, "must be >= " + std::to_string(lo) + ", got " + std::to_string(v));
  }
  void in_range(double v, double lo, double hi, bool hi_open, const std::string& field) {
    bool ok = std::isfinite(v) && v >= lo && (hi_open ? v < hi : v <= hi);
    need(ok, field, "must be in [" + fmt(lo) + ", " + fmt(hi) + (hi_open ? ")" : "]") + ", got " + fmt(v));
  }
  void one_of(const std::string& v, const std::vector<std::string>& allowed, const std::string& field) {
    need(contains(allowed, v), field, "unknown name '" + v + "'; allowed: " + join(allowed));
  }
  static std::string fmt(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
  }
  std::vector<ConfigIssue> issues;
};

// Every floating-point field, at any depth, must be finite: NaN and infinities have no meaning in a config.
void check_finite(const google::protobuf::Message& msg, const std::string& prefix, Checker* k) {
  namespace pb = google::protobuf;
  const pb::Descriptor* d = msg.GetDescriptor();
  const pb::Reflection* r = msg.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    const std::string name = prefix + f->name();
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int j = 0; j < r->FieldSize(msg, f); ++j) check_finite(r->GetRepeatedMessage(msg, f, j), name + "[" + std::to_string(j) + "].", k);
      } else if (r->HasField(msg, f)) {
        check_finite(r->GetMessage(msg, f), name + ".", k);
      }
      continue;
    }
    const bool dbl = f->cpp_type() == pb::FieldDescriptor::CPPTYPE_DOUBLE, flt = f->cpp_type() == pb::FieldDescriptor::CPPTYPE_FLOAT;
    if (!dbl && !flt) continue;
    const int n = f->is_repeated() ? r->FieldSize(msg, f) : 1;
    for (int j = 0; j < n; ++j) {
      const double v = f->is_repeated() ? (dbl ? r->GetRepeatedDouble(msg, f, j) : r->GetRepeatedFloat(msg, f, j))
                                        : (dbl ? r->GetDouble(msg, f) : r->GetFloat(msg, f));
      k->need(std::isfinite(v), name, "must be a finite number, got " + Checker::fmt(v));
    }
  }
}

}  // namespace

const std::vector<std::string>& allowed_names(const std::string& field) {
  static const std::vector<std::string> models = {"mlp", "unet", "dit", "classifier", "oracle"}, optims = {"adam"};
  if (field == "model.name") return models;
  if (field == "optim.name") return optims;
  if (field == "sample.sampler") return sampler_names();
  if (field == "path.name") return schedule_names();
  if (field == "data.name") {
    static const std::vector<std::string> data = [] {
      std::vector<std::string> v = toy_dataset_names();
      v.push_back("gaussian_mixture");
      for (const char* files : {"fashion_mnist", "idx", "npy", "packed"}) v.push_back(files);
      return v;
    }();
    return data;
  }
  if (field == "engine.backend") return known_backends();
  static const std::vector<std::string> none;
  return none;
}

std::vector<ConfigIssue> validate_config(const Config& c) {
  Checker k;
  check_finite(c, "", &k);
  const bool name_ok = !c.name().empty() && c.name().size() <= 200 && c.name() != "." && c.name() != ".." &&
                       std::all_of(c.name().begin(), c.name().end(), [](char ch) { return is_word_char(ch) || ch == '.' || ch == '-'; });
  k.need(name_ok, "name", "must be a run name of 1 to 200 letters, digits, '_', '.', '-' (not '.' or '..'), got '" + clip(c.name()) + "'");

  k.one_of(c.data().name(), allowed_names("data.name"), "data.name");
  const bool mixture = c.data().name() == "gaussian_mixture";
  const bool from_files = c.data().name() == "idx" || c.data().name() == "npy";
  k.need(!from_files || !c.data().images().empty(), "data.images", "data \"" + c.data().name() + "\" needs the file of items");
  k.need(from_files || (c.data().images().empty() && c.data().labels().empty()), "data.images",
         "data.images and data.labels are only used with data.name \"idx\" or \"npy\"");
  k.one_of(c.data().split(), {"train", "test"}, "data.split");
  const bool packed = c.data().name() == "packed";
  k.need(!packed || !c.data().path().empty(), "data.path", "data \"packed\" needs the packed file (make one with `lockstep data pack`)");
  k.need(packed || (c.data().path().empty() && c.data().eval_path().empty() && c.data().holdout() == 0), "data.path",
         "data.path, data.eval_path and data.holdout are only used with data.name \"packed\"");
  k.in_range(c.data().holdout(), 0.0, 0.5, false, "data.holdout");
  k.need(c.data().eval_path().empty() || c.data().holdout() == 0, "data.holdout", "give data.eval_path or data.holdout, not both");
  k.need(from_files || c.data().name() == "fashion_mnist" || c.data().name() == "packed" || c.data().size() <= (uint64_t{1} << 28), "data.size",
         "a drawn data set holds at most 2^28 points (268,435,456), got " + std::to_string(c.data().size()));
  k.need(c.source().data().size() <= (uint64_t{1} << 28) || c.source().data().name() == "idx" || c.source().data().name() == "npy" ||
             c.source().data().name() == "fashion_mnist" || c.source().data().name() == "packed",
         "source.data.size", "a drawn data set holds at most 2^28 points (268,435,456), got " + std::to_string(c.source().data().size()));
  k.need(!c.data().has_eval_labels() || c.data().has_eval_images(), "data.eval_labels", "needs data.eval_images");
  k.need(!c.data().has_eval_images() || c.data().has_labels() == c.data().has_eval_labels(), "data.eval_labels",
         "give labels for both the training and the held-out images, or for neither");
  k.need(!mixture || c.data().mixture_size() > 0, "data.mixture", "gaussian_mixture needs at least one component");
  k.need(mixture || c.data().mixture_size() == 0, "data.mixture", "is only used with data.name: \"gaussian_mixture\"");
  for (int i = 0; i < c.data().mixture_size(); ++i) {
    const MixtureComponent& mc = c.data().mixture(i);
    const std::string f = "data.mixture[" + std::to_string(i) + "]";
    k.need(mc.mean_size() > 0 && mc.mean_size() == c.data().mixture(0).mean_size(), f + ".mean",
           "every component needs a mean of the same dimension (component 0 has " +
               std::to_string(c.data().mixture(0).mean_size()) + "), got " + std::to_string(mc.mean_size()));
    k.positive(mc.weight(), f + ".weight");
    k.positive(mc.std(), f + ".std");
    k.need(mc.std() <= 1e6, f + ".std", "must be <= 1e6, got " + Checker::fmt(mc.std()));
    for (double v : mc.mean()) k.need(std::isfinite(v) && std::fabs(v) <= 1e6, f + ".mean", "entries must be in [-1e6, 1e6], got " + Checker::fmt(v));
  }

  const PathConfig& p = c.path();
  k.one_of(p.name(), allowed_names("path.name"), "path.name");
  k.positive(p.beta_min(), "path.beta_min");
  k.need(p.beta_max() <= 1e4, "path.beta_max", "must be <= 1e4, got " + Checker::fmt(p.beta_max()));
  k.need(p.sigma_max() <= 1e8, "path.sigma_max", "must be <= 1e8, got " + Checker::fmt(p.sigma_max()));
  k.need(p.beta_max() > p.beta_min(), "path.beta_max", "must be > path.beta_min (" + Checker::fmt(p.beta_min()) + "), got " + Checker::fmt(p.beta_max()));
  k.positive(p.cosine_s(), "path.cosine_s");
  k.positive(p.sigma_min(), "path.sigma_min");
  k.need(p.sigma_max() > p.sigma_min(), "path.sigma_max", "must be > path.sigma_min (" + Checker::fmt(p.sigma_min()) + "), got " + Checker::fmt(p.sigma_max()));
  k.in_range(p.t_min(), 0.0, 1.0, true, "path.t_min");
  k.need(p.t_max() > p.t_min() && p.t_max() <= 1.0, "path.t_max", "must be in (path.t_min, 1], got " + Checker::fmt(p.t_max()));

  const ModelConfig& m = c.model();
  k.one_of(m.name(), allowed_names("model.name"), "model.name");
  k.need(m.name() != "oracle" || mixture || c.data().size() > 0, "model.name",
         "the oracle needs data it knows in closed form: data.name \"gaussian_mixture\", or a finite data set (data.size > 0)");
  k.need(m.name() != "oracle" || mixture || p.t_max() < 1.0, "path.t_max",
         "the memorising oracle of a finite data set is singular at t = 1; set path.t_max < 1 (for example 0.999)");
  k.at_least(m.mlp().width(), 1, "model.mlp.width");
  k.need(m.mlp().width() <= 65536, "model.mlp.width", "must be <= 65536, got " + std::to_string(m.mlp().width()));
  k.at_least(m.mlp().depth(), 1, "model.mlp.depth");
  k.need(m.mlp().depth() <= 64, "model.mlp.depth", "must be <= 64, got " + std::to_string(m.mlp().depth()));
  k.need(m.mlp().time_embedding() >= 2 && m.mlp().time_embedding() % 2 == 0 && m.mlp().time_embedding() <= 4096,
         "model.mlp.time_embedding", "must be an even number in [2, 4096], got " + std::to_string(m.mlp().time_embedding()));

  k.positive(m.mlp().time_max_frequency(), "model.mlp.time_max_frequency");
  const UnetConfig& u = m.unet();
  k.need(u.channels() >= 1 && u.channels() <= 4096, "model.unet.channels", "must be in [1, 4096], got " + std::to_string(u.channels()));
  k.need(u.channel_mult_size() <= 8, "model.unet.channel_mult", "at most 8 levels, got " + std::to_string(u.channel_mult_size()));
  for (uint32_t mult : u.channel_mult())
    k.need(mult >= 1 && mult <= 64, "model.unet.channel_mult", "entries must be in [1, 64], got " + std::to_string(mult));
  k.need(u.res_blocks() >= 1 && u.res_blocks() <= 16, "model.unet.res_blocks", "must be in [1, 16], got " + std::to_string(u.res_blocks()));
  k.need(u.attention_heads() >= 1 && u.attention_heads() <= 256, "model.unet.attention_heads", "must be in [1, 256], got " + std::to_string(u.attention_heads()));
  k.need(u.groups() >= 1 && u.groups() <= 4096, "model.unet.groups", "must be in [1, 4096], got " + std::to_string(u.groups()));
  k.need(u.time_embedding() % 2 == 0 && u.time_embedding() <= 4096, "model.unet.time_embedding",
         "must be an even number in [0, 4096] (0: model.unet.channels), got " + std::to_string(u.time_embedding()));
  k.positive(u.time_max_frequency(), "model.unet.time_max_frequency");
  const DitConfig& dt = m.dit();
  static const std::vector<std::string> dit_sizes = {"S", "B", "L", "XL"};
  k.one_of(dt.size(), dit_sizes, "model.dit.size");
  k.need(dt.patch() == 2 || dt.patch() == 4 || dt.patch() == 8, "model.dit.patch", "must be 2, 4 or 8, got " + std::to_string(dt.patch()));
  k.need(dt.depth() <= 64, "model.dit.depth", "must be in [0, 64] (0: the size's), got " + std::to_string(dt.depth()));
  k.need(dt.width() % 4 == 0 && dt.width() <= 8192, "model.dit.width",
         "must be a multiple of 4 in [0, 8192] (0: the size's), got " + std::to_string(dt.width()));
  k.need(dt.heads() <= 256, "model.dit.heads", "must be in [0, 256] (0: the size's), got " + std::to_string(dt.heads()));
  if (contains(dit_sizes, dt.size())) {
    const DitShape ds = dit_shape(dt);
    k.need(ds.width % ds.heads == 0, "model.dit.heads", "must divide the width " + std::to_string(ds.width) + ", got " + std::to_string(ds.heads));
  }
  k.need(dt.mlp_ratio() > 0 && dt.mlp_ratio() <= 16, "model.dit.mlp_ratio", "must be in (0, 16], got " + Checker::fmt(dt.mlp_ratio()));
  k.need(dt.time_embedding() >= 2 && dt.time_embedding() % 2 == 0 && dt.time_embedding() <= 4096, "model.dit.time_embedding",
         "must be an even number in [2, 4096], got " + std::to_string(dt.time_embedding()));
  k.positive(dt.time_max_frequency(), "model.dit.time_max_frequency");
  k.need(!m.checkpoint_activations() || m.name() == "unet" || m.name() == "dit", "model.checkpoint_activations",
         "recomputes U-Net and DiT blocks; model \"" + m.name() + "\" has none");
  if (!m.init_from().empty()) {
    const std::string& f = m.init_from();
    const auto ends = [&f](const std::string& ext) { return f.size() > ext.size() && f.compare(f.size() - ext.size(), ext.size(), ext) == 0; };
    k.need(ends(".safetensors") || ends(".pt") || ends(".pth"), "model.init_from", "must name a .safetensors or .pt file, got '" + clip(f, 200) + "'");
    k.need(m.name() != "oracle", "model.init_from", "model \"oracle\" has no weights to load");
  }
  k.need(m.init_exclude_size() == 0 || !m.init_from().empty(), "model.init_exclude", "leaves tensors out of model.init_from's load; set model.init_from");
  for (const std::string& e : m.init_exclude()) k.need(!e.empty() && e.size() <= 1000, "model.init_exclude", "entries must be parameter or module names");
  k.need(m.classifier().channels() >= 1 && m.classifier().channels() <= 4096, "model.classifier.channels",
         "must be in [1, 4096], got " + std::to_string(m.classifier().channels()));
  k.need(m.classifier().features() >= 1 && m.classifier().features() <= 65536, "model.classifier.features",
         "must be in [1, 65536], got " + std::to_string(m.classifier().features()));

  const OptimConfig& o = c.optim();
  k.one_of(o.name(), allowed_names("optim.name"), "optim.name");
  k.positive(o.lr(), "optim.lr");
  k.need(o.lr() <= 10, "optim.lr", "must be <= 10 (Adam's steps are about lr in size), got " + Checker::fmt(o.lr()));
  k.in_range(o.beta1(), 0.0, 1.0, true, "optim.beta1");
  k.in_range(o.beta2(), 0.0, 1.0, true, "optim.beta2");
  k.positive(o.eps(), "optim.eps");
  k.in_range(o.weight_decay(), 0.0, 1.0, false, "optim.weight_decay");
  k.need(std::isfinite(o.grad_clip()) && o.grad_clip() >= 0, "optim.grad_clip", "must be >= 0 (0 disables clipping), got " + Checker::fmt(o.grad_clip()));
  k.in_range(o.final_lr_fraction(), 0.0, 1.0, false, "optim.final_lr_fraction");

  const TrainConfig& t = c.train();
  k.at_least(t.steps(), 1, "train.steps");
  k.need(t.steps() < (uint64_t{1} << 32), "train.steps", "must be < 2^32, got " + std::to_string(t.steps()));
  k.at_least(t.batch_size(), 1, "train.batch_size");
  k.need(t.batch_size() <= (uint64_t{1} << 24), "train.batch_size", "must be <= 2^24 (16,777,216), got " + std::to_string(t.batch_size()));
  k.at_least(t.log_every(), 1, "train.log_every");

  const SampleConfig& s = c.sample();
  k.at_least(s.num(), 1, "sample.num");
  k.need(s.num() < (uint64_t{1} << 32), "sample.num", "must be < 2^32, got " + std::to_string(s.num()));
  k.at_least(s.steps(), 1, "sample.steps");
  k.need(s.steps() <= 1000000, "sample.steps", "must be <= 1,000,000, got " + std::to_string(s.steps()));
  k.one_of(s.sampler(), allowed_names("sample.sampler"), "sample.sampler");
  k.at_least(s.chunk(), 1, "sample.chunk");
  k.need(s.chunk() <= (uint64_t{1} << 20), "sample.chunk", "must be <= 2^20 (1,048,576), got " + std::to_string(s.chunk()));
  k.positive(s.atol(), "sample.atol");
  k.in_range(s.eta(), 0.0, 1.0, false, "sample.eta");
  k.in_range(t.label_dropout(), 0.0, 1.0, false, "train.label_dropout");
  k.positive(t.min_snr_gamma(), "train.min_snr_gamma");
  k.need(std::isfinite(s.guidance()) && std::fabs(s.guidance()) <= 1000, "sample.guidance", "must be in [-1000, 1000], got " + Checker::fmt(s.guidance()));
  k.need(s.class_label() >= -1, "sample.class_label", "must be a class index, or -1 for all classes in turn");
  k.at_least(m.mlp().class_embedding(), 1, "model.mlp.class_embedding");
  k.need(m.mlp().class_embedding() <= 4096, "model.mlp.class_embedding", "must be <= 4096, got " + std::to_string(m.mlp().class_embedding()));
  k.need(std::isfinite(s.sde_sigma()) && s.sde_sigma() >= 0, "sample.sde_sigma", "must be >= 0, got " + Checker::fmt(s.sde_sigma()));
  k.one_of(s.sde_sigma_schedule(), {"constant", "beta"}, "sample.sde_sigma_schedule");
  k.positive(s.rtol(), "sample.rtol");
  k.positive(t.logit_std(), "train.logit_std");
  k.need(std::isfinite(t.logit_mean()), "train.logit_mean", "must be finite");
  // Predictions that divide by alpha (recovering the data from noise) or by beta need the path's ends kept away
  // from alpha = 0 (pure noise) and beta = 0 (pure data).
  if (contains(schedule_names(), p.name()) && p.t_max() > p.t_min()) {
    const auto schedule = make_schedule(p);
    const ModelConfig::Prediction pred = m.prediction();
    if (pred == ModelConfig::EPSILON || pred == ModelConfig::SCORE) {
      k.need(schedule->at(p.t_min()).alpha > 1e-6, "path.t_min",
             "prediction " + ModelConfig::Prediction_Name(pred) + " recovers the data by dividing by alpha, and alpha(t_min) = " +
                 Checker::fmt(schedule->at(p.t_min()).alpha) + " on this path; set path.t_min > 0 (for example 1e-3)");
    }
    if (pred == ModelConfig::X0 || pred == ModelConfig::SCORE) {
      k.need(schedule->at(p.t_max()).beta > 1e-6, "path.t_max",
             "prediction " + ModelConfig::Prediction_Name(pred) + " recovers the noise by dividing by beta, and beta(t_max) = " +
                 Checker::fmt(schedule->at(p.t_max()).beta) + " on this path; set path.t_max < 1 (for example 0.999)");
    }
  }

  const EngineConfig& e = c.engine();
  k.one_of(e.backend(), allowed_names("engine.backend"), "engine.backend");
  k.at_least(e.bucket_kb(), 1, "engine.bucket_kb");
  k.need(e.bucket_kb() <= (uint32_t{1} << 20), "engine.bucket_kb", "must be <= 2^20 (1 GiB), got " + std::to_string(e.bucket_kb()));
  k.need(e.balance() != EngineConfig::MANUAL || e.slice_weights_size() > 0, "engine.slice_weights",
         "balance MANUAL needs one weight per rank");
  k.need(e.balance() == EngineConfig::MANUAL || e.slice_weights_size() == 0, "engine.slice_weights",
         "is only used with balance: MANUAL");
  uint64_t weight_sum = 0;
  for (uint32_t w : e.slice_weights()) weight_sum += w;
  k.need(e.slice_weights_size() == 0 || weight_sum > 0, "engine.slice_weights", "must not all be 0");
  k.need(std::isfinite(e.collective_timeout_s()) && e.collective_timeout_s() >= 0, "engine.collective_timeout_s",
         "must be >= 0 (0 waits forever), got " + Checker::fmt(e.collective_timeout_s()));
  k.one_of(e.device(), {"auto", "cpu", "cuda"}, "engine.device");
  // CUDA graphs replay fixed shapes: slices that change from tick to tick cannot be captured once
  k.need(!e.cuda_graphs() || e.balance() != EngineConfig::AUTO, "engine.cuda_graphs",
         "replays the shapes of one captured tick; engine.balance AUTO changes every rank's slice as it measures them (use EQUAL "
         "or MANUAL)");
  k.need(!e.cuda_graphs() || e.device() != "cpu", "engine.cuda_graphs", "captures CUDA kernels; engine.device is cpu");
  k.need(!e.cuda_graphs() || t.loss() != TrainConfig::TVM, "engine.cuda_graphs",
         "is not for train.loss TVM (its Jacobian-vector product is not captured)");
  k.need(!e.cuda_graphs() || !c.model().checkpoint_activations(), "engine.cuda_graphs",
         "is not for model.checkpoint_activations (use one or the other: graphs for small models, checkpointing for large)");
  k.need(e.trace_end() >= e.trace_begin(), "engine.trace_end", "must be >= engine.trace_begin");
  k.need(e.trace_end() - e.trace_begin() <= 100000, "engine.trace_end", "traces at most 100,000 ticks, got " + std::to_string(e.trace_end() - e.trace_begin()));
  k.at_least(t.eval_samples(), 1, "train.eval_samples");
  k.need(t.eval_samples() <= (uint64_t{1} << 24), "train.eval_samples", "must be <= 2^24 (16,777,216), got " + std::to_string(t.eval_samples()));
  k.need(t.sample_eval_num() <= (uint64_t{1} << 20), "train.sample_eval_num", "must be <= 2^20 (1,048,576), got " + std::to_string(t.sample_eval_num()));
  k.one_of(t.precision(), {"fp32", "bf16_mixed", "fp16_mixed"}, "train.precision");
  const LossScaleConfig& ls = t.loss_scale();
  k.need(ls.init_scale() >= kMinLossScale && ls.init_scale() <= 1e30, "train.loss_scale.init_scale",
         "must be in [2^-24, 1e30], got " + Checker::fmt(ls.init_scale()));
  k.need(ls.growth_factor() > 1 && ls.growth_factor() <= 1e6, "train.loss_scale.growth_factor", "must be in (1, 1e6], got " + Checker::fmt(ls.growth_factor()));
  k.need(ls.backoff_factor() > 0 && ls.backoff_factor() < 1, "train.loss_scale.backoff_factor", "must be in (0, 1), got " + Checker::fmt(ls.backoff_factor()));
  k.at_least(ls.growth_interval(), 1, "train.loss_scale.growth_interval");
  k.one_of(t.bf16_convolutions(), {"auto", "native", "float32"}, "train.bf16_convolutions");
  k.need(t.sample_eval_every() == 0 || t.sample_eval_num() >= 2, "train.sample_eval_num", "must be >= 2, got " + std::to_string(t.sample_eval_num()));
  const bool classify = t.loss() == TrainConfig::CLASSIFY;
  k.need(classify == (m.name() == "classifier"), classify ? "model.name" : "train.loss",
         classify ? "train.loss CLASSIFY trains model \"classifier\", got \"" + m.name() + "\""
                  : "model \"classifier\" is trained with train.loss: CLASSIFY");
  k.need(!classify || !m.class_conditional(), "model.class_conditional", "a classifier is not class-conditional (it predicts the class)");
  k.need(t.sample_eval_classifier().empty() || t.sample_eval_every() > 0, "train.sample_eval_classifier",
         "is used by the periodic sample evaluation; set train.sample_eval_every > 0");
  k.need(!classify || t.sample_eval_every() == 0, "train.sample_eval_every", "a classifier makes no samples; set it to 0");
  const bool tvm = t.loss() == TrainConfig::TVM;
  const TvmConfig& v = t.tvm();
  k.need(!tvm || m.name() == "mlp" || m.name() == "unet" || m.name() == "dit", "model.name",
         "train.loss TVM trains a flow-map network: model \"mlp\", \"unet\" or \"dit\", got \"" + m.name() + "\"");
  k.need(!tvm || p.name() == "linear", "path.name", "train.loss TVM uses the linear path x_t = t z + (1 - t) eps, got \"" + p.name() + "\"");
  k.need(!tvm || m.prediction() == ModelConfig::VELOCITY, "model.prediction", "train.loss TVM predicts velocities: set VELOCITY");
  k.need(!tvm || t.loss_weighting() == TrainConfig::CONSTANT, "train.loss_weighting", "train.loss TVM has no per-time weighting: set CONSTANT");
  k.need(s.sampler() != "tvm" || tvm, "sample.sampler", "\"tvm\" jumps with a flow-map network: the model must be trained with train.loss TVM");
  k.need(m.gap_embedding() >= 2 && m.gap_embedding() % 2 == 0 && m.gap_embedding() <= 4096, "model.gap_embedding",
         "must be an even number in [2, 4096], got " + std::to_string(m.gap_embedding()));
  k.positive(m.gap_max_frequency(), "model.gap_max_frequency");
  k.need(std::isfinite(v.s_mean()), "train.tvm.s_mean", "must be finite");
  k.need(std::isfinite(v.gap_mean()), "train.tvm.gap_mean", "must be finite");
  k.positive(v.s_std(), "train.tvm.s_std");
  k.positive(v.gap_std(), "train.tvm.gap_std");
  k.need(std::isfinite(v.fm_weight()) && v.fm_weight() >= 0, "train.tvm.fm_weight", "must be >= 0, got " + Checker::fmt(v.fm_weight()));
  k.in_range(v.target_decay(), 0.0, 1.0, true, "train.tvm.target_decay");
  k.need(std::isfinite(v.guidance_max()) && v.guidance_max() >= 1.0, "train.tvm.guidance_max",
         "must be >= 1 (1: no guidance input), got " + Checker::fmt(v.guidance_max()));
  k.need(v.guidance_max() == 1.0 || m.class_conditional(), "train.tvm.guidance_max", "guidance needs model.class_conditional: true");
  const auto check_classes = [&k](const DataConfig& d, const std::string& field) {
    std::set<int64_t> seen;
    for (const int64_t v : d.classes()) {
      k.need(v >= 0, field, "class labels are >= 0, got " + std::to_string(v));
      k.need(seen.insert(v).second, field, "class " + std::to_string(v) + " is listed twice");
    }
  };
  check_classes(c.data(), "data.classes");
  k.need(c.data().classes_size() == 0 || !c.model().class_conditional(), "data.classes",
         "a class-conditional model samples every class of the data set in turn; train it on all classes (or set model.class_conditional: false)");
  check_classes(c.source().data(), "source.data.classes");
  const SourceConfig& src = c.source();
  k.one_of(src.name(), {"gaussian", "data"}, "source.name");
  const bool data_source = src.name() == "data";
  if (data_source) {
    k.one_of(src.data().name(), allowed_names("data.name"), "source.data.name");
    k.need(p.name() == "linear", "path.name", "a data source needs the linear path x_t = t z + (1 - t) x0, got \"" + p.name() + "\"");
    k.need(p.t_min() == 0.0, "path.t_min", "a data source is the t = 0 end of the path: set path.t_min 0, got " + Checker::fmt(p.t_min()));
    k.need(m.prediction() == ModelConfig::VELOCITY, "model.prediction", "a data source needs prediction VELOCITY (the others assume Gaussian noise)");
    k.need(s.sampler() != "euler_maruyama" && s.sampler() != "ddim" && s.sampler() != "ddpm", "sample.sampler",
           "\"" + s.sampler() + "\" assumes Gaussian noise; with a data source use an ODE sampler (euler, midpoint, heun, rk4, dopri5) or tvm");
    k.need(m.name() != "oracle", "model.name", "the oracle's closed-form field assumes Gaussian noise at t = 0, not a data source");
    k.need(src.data().name() != "gaussian_mixture" || src.data().mixture_size() > 0, "source.data.mixture", "gaussian_mixture needs at least one component");
  }
  const CouplingConfig& cp = t.coupling();
  k.need(cp.kind() == CouplingConfig::INDEPENDENT || !classify, "train.coupling.kind", "a classifier has no source points to couple");
  k.need(std::isfinite(cp.epsilon()) && cp.epsilon() > 0, "train.coupling.epsilon", "must be > 0, got " + Checker::fmt(cp.epsilon()));
  k.at_least(cp.iterations(), 1, "train.coupling.iterations");
  k.need(cp.iterations() <= 1000000, "train.coupling.iterations", "must be <= 1,000,000, got " + std::to_string(cp.iterations()));
  k.need(!cp.per_rank() || cp.solve_on() == CouplingConfig::EVERY_RANK, "train.coupling.solve_on",
         "COORDINATOR solves the global batch's coupling; with per_rank every rank solves its own slice");
  k.need(t.ema_decay() >= 0.0 && t.ema_decay() < 1.0, "train.ema_decay", "must be in [0, 1) (0: no EMA), got " + Checker::fmt(t.ema_decay()));
  k.need(c.engine().threads() <= 1024, "engine.threads", "must be <= 1024 (0: automatic), got " + std::to_string(c.engine().threads()));
  return k.issues;
}

}  // namespace lockstep
