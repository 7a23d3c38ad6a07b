#include "coordinator/sample_run.h"

#include <cmath>

#include "common/metrics/energy_distance.h"
#include "common/plot/image_grid.h"
#include "common/plot/scatter.h"
#include "common/util/error.h"

namespace lockstep {

SampleSpec sample_spec(const Config& cfg, const DataSource& data) {
  const int64_t dim = data.dim();
  SampleSpec s;
  s.sampler = cfg.sample().sampler();
  s.steps = cfg.sample().steps();
  s.seed = cfg.sample().seed();
  s.t_min = cfg.path().t_min();
  s.t_max = cfg.path().t_max();
  s.dim = dim;
  s.prediction = prediction_from_config(cfg.model().prediction());
  s.atol = cfg.sample().atol();
  s.rtol = cfg.sample().rtol();
  s.eta = cfg.sample().eta();
  s.sde_sigma = cfg.sample().sde_sigma();
  s.sde_sigma_times_beta = cfg.sample().sde_sigma_schedule() == "beta";
  s.class_label = cfg.sample().class_label();
  s.guidance = cfg.sample().guidance();
  s.num_classes = cfg.model().class_conditional() ? data.num_classes() : 0;
  LS_CHECK_INPUT(s.class_label < 0 || s.num_classes > 0,
                 "sample.class_label (--class) " << s.class_label << ": the model is not class-conditional (model.class_conditional)");
  LS_CHECK_INPUT(s.class_label < s.num_classes || s.num_classes == 0,
                 "sample.class_label (--class) " << s.class_label << ": the data has classes 0 to " << s.num_classes - 1);
  return s;
}

torch::Tensor generate_samples(Net& net, const Schedule& s, const SampleSpec& spec, uint64_t num, uint64_t chunk,
                               double* nfe) {
  std::vector<torch::Tensor> parts;
  for (uint64_t b = 0; b < num; b += chunk) parts.push_back(sample_range(net, s, spec, b, std::min(num, b + chunk), nfe));
  return torch::cat(parts, 0);
}

torch::Tensor fresh_data(const DataSource& data, uint64_t num, uint64_t seed) {
  torch::Tensor out = torch::empty({static_cast<int64_t>(num), data.dim()}, torch::kFloat32);
  float* p = out.data_ptr<float>();
  for (uint64_t i = 0; i < num; ++i) {
    CounterRng rng(seed, 0, i, Stream::kEvalData);
    (void)data.fresh(rng, p + i * data.dim());
  }
  return out;
}

SampleQuality sample_quality(const torch::Tensor& samples, const torch::Tensor& data, const torch::Tensor& fit, uint64_t seed) {
  SampleQuality q;
  q.energy_distance = energy_distance(samples, data);
  q.gaussian_energy_distance = energy_distance(matched_gaussian(fit, data.size(0), seed), data);
  return q;
}

std::vector<int64_t> npy_shape(int64_t n, const DataSource& source) {
  std::vector<int64_t> shape = source.item_shape();
  if (shape.size() != 3) shape = {source.dim()};
  shape.insert(shape.begin(), n);
  return shape;
}

bool plot_samples(const std::string& png, const torch::Tensor& samples, const torch::Tensor* data, const DataSource& source,
                  const SampleSpec& spec) {
  const std::vector<int64_t> shape = source.item_shape();
  if (shape.size() == 3) {  // images: a grid, one row per class when sample i has class i mod K
    const torch::Tensor s = samples.contiguous();
    ImageGrid g;
    g.pixels = s.data_ptr<float>();
    g.n = s.size(0);
    g.channels = shape[0];
    g.height = shape[1];
    g.width = shape[2];
    const bool per_class = spec.num_classes > 0 && spec.class_label < 0;
    grid_layout(g.n, per_class ? spec.num_classes : 0, 16, &g);
    if (per_class) {
      for (int64_t r = 0; r < g.rows; ++r) g.row_labels.push_back(source.class_name(r));
    } else if (spec.class_label >= 0) {
      g.row_labels.assign(static_cast<size_t>(g.rows), source.class_name(spec.class_label));
    }
    write_image_grid_png(png, g);
    return true;
  }
  if (samples.dim() != 2 || samples.size(1) != 2) return false;
  const torch::Tensor s = samples.contiguous();
  std::vector<ScatterPanel> panels = {{"samples", s.data_ptr<float>(), s.size(0), 0x1f77b4}};
  torch::Tensor d;
  if (data) {
    d = data->contiguous();
    panels.push_back({"data", d.data_ptr<float>(), d.size(0), 0xff7f0e});
  }
  write_scatter_png(png, panels, 3.0);
  return true;
}

}  // namespace lockstep
