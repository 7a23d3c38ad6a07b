#include "common/model/oracle.h"

#include <cmath>
#include <limits>

#include "common/data/dataset.h"
#include "common/path/gaussian_path.h"
#include "common/proto/config.pb.h"
#include "common/util/error.h"

namespace lockstep {

Oracle::Oracle(const Config& cfg, const DataSource& data)
    : schedule_(make_schedule(cfg.path())), prediction_(prediction_from_config(cfg.model().prediction())) {
  const auto f64 = torch::kFloat64;
  if (cfg.data().name() == "gaussian_mixture") {
    const int64_t k = cfg.data().mixture_size(), d = cfg.data().mixture(0).mean_size();
    means_ = torch::empty({k, d}, f64);
    stds_ = torch::empty({k}, f64);
    log_weights_ = torch::empty({k}, f64);
    double total = 0;
    for (const MixtureComponent& c : cfg.data().mixture()) total += c.weight();
    for (int64_t i = 0; i < k; ++i) {
      const MixtureComponent& c = cfg.data().mixture(i);
      for (int64_t j = 0; j < d; ++j) means_[i][j] = c.mean(j);
      stds_[i] = c.std();
      log_weights_[i] = std::log(c.weight() / total);
    }
    labels_ = torch::arange(k, torch::kInt64);  // class k = component k
    num_classes_ = k;
  } else {
    LS_CHECK(data.size() > 0, "the oracle needs a finite data set");
    const int64_t k = static_cast<int64_t>(data.size()), d = data.dim();
    torch::Tensor points = torch::empty({k, d}, torch::kFloat32);
    labels_ = torch::empty({k}, torch::kInt64);
    for (int64_t i = 0; i < k; ++i) labels_[i] = data.item(static_cast<uint64_t>(i), points.data_ptr<float>() + i * d);
    means_ = points.to(f64);
    num_classes_ = data.num_classes();
    stds_ = torch::zeros({k}, f64);
    log_weights_ = torch::full({k}, -std::log(static_cast<double>(k)), f64);
  }
}

PathTensors Oracle::path64(const torch::Tensor& t) const {
  return path_tensors(*schedule_, t.to(torch::kCPU, torch::kFloat64));
}

DataNoise Oracle::posterior_means(const torch::Tensor& x_in, const torch::Tensor& t, const torch::Tensor& y) {
  const torch::Tensor x = x_in.to(torch::kCPU, torch::kFloat64);
  const PathTensors p = path64(t);
  const int64_t d = x.size(1);
  const torch::Tensor alpha = p.alpha.unsqueeze(2), beta = p.beta.unsqueeze(2);  // [n, 1, 1]
  const torch::Tensor r = x.unsqueeze(1) - alpha * means_.unsqueeze(0);          // [n, K, d]
  const torch::Tensor var = (p.alpha.pow(2) * stds_.pow(2).unsqueeze(0) + p.beta.pow(2)).clamp_min(1e-300);  // D [n, K]
  torch::Tensor log_post =
      log_weights_.unsqueeze(0) - 0.5 * r.pow(2).sum(2) / var - 0.5 * static_cast<double>(d) * torch::log(var);
  if (y.defined()) {  // p(x | y): only the components of class y (rows with the null class keep all)
    const torch::Tensor yc = y.to(torch::kCPU, torch::kInt64).unsqueeze(1);
    const torch::Tensor keep = (labels_.unsqueeze(0) == yc) | (yc == num_classes_);
    log_post = log_post.masked_fill(~keep, -std::numeric_limits<double>::infinity());
  }
  const torch::Tensor w = torch::softmax(log_post, 1).unsqueeze(2);  // [n, K, 1]
  const torch::Tensor inv = (1.0 / var).unsqueeze(2);
  const torch::Tensor ez = (w * (means_.unsqueeze(0) + alpha * stds_.pow(2).view({1, -1, 1}) * r * inv)).sum(1);
  const torch::Tensor eeps = (w * (beta * r * inv)).sum(1);
  return {ez, eeps};
}

torch::Tensor Oracle::forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& y) {
  const DataNoise dn = posterior_means(x, t, y);
  return compose(prediction_, dn, path64(t)).to(x.device(), x.scalar_type());
}

torch::Tensor Oracle::score(const torch::Tensor& x, const torch::Tensor& t) {
  return compose(Prediction::kScore, posterior_means(x, t), path64(t)).to(x.device(), x.scalar_type());
}

}  // namespace lockstep
