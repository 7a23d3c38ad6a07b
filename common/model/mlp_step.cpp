#include "common/model/mlp_step.h"

#include <chrono>

#include <ATen/Parallel.h>

#include "common/kernels/silu.h"
#include "common/loss/flow_matching.h"
#include "common/proto/config.pb.h"
#include "common/util/error.h"

namespace lockstep {
namespace {

// Runs f(begin, end) over [0, n) on LibTorch's intra-op threads, in chunks as large as ATen's own elementwise ops.
template <typename F>
void elementwise(int64_t n, const F& f) {
  at::parallel_for(0, n, at::internal::GRAIN_SIZE, f);
}

}  // namespace

bool MlpStep::applicable(const Config& cfg, bool on_cuda) {
  return cfg.engine().fused_mlp() && !on_cuda && cfg.model().name() == "mlp" && !cfg.model().class_conditional() &&
         cfg.train().loss() == TrainConfig::FLOW && cfg.model().prediction() == ModelConfig::VELOCITY &&
         cfg.train().loss_weighting() == TrainConfig::CONSTANT && cfg.train().precision() == "fp32";
}

MlpStep::MlpStep(Mlp& net, const Schedule& s) : net_(net), schedule_(s) {
  LS_CHECK(!net.class_conditional(), "MlpStep: class-conditional MLP");
  // parameter indices in registration order (the reducer's numbering): fc0.weight, fc0.bias, ..., out.weight, out.bias
  const std::vector<torch::Tensor> params = net.parameters();
  for (const torch::nn::Linear& l : net.layers()) {
    size_t idx = 0;
    while (idx < params.size() && !params[idx].is_same(l->weight)) ++idx;
    LS_CHECK(idx + 1 < params.size() && params[idx + 1].is_same(l->bias), "MlpStep: unexpected parameter order");
    param_index_.push_back(idx);
    w_.push_back(l->weight.detach());
    bias_.push_back(l->bias.detach());
    LS_CHECK(l->weight.grad().defined() && l->bias.grad().defined(), "MlpStep: the parameters need gradient views (FlatParams)");
    dw_.push_back(l->weight.grad());
    dbias_.push_back(l->bias.grad());
  }
}

void MlpStep::ensure(int64_t n) {
  if (n == n_) return;
  n_ = n;
  const auto f = torch::TensorOptions(torch::kFloat32);
  const int64_t hidden = static_cast<int64_t>(w_.size()) - 1;
  pre_.assign(static_cast<size_t>(hidden), {});
  act_.assign(static_cast<size_t>(hidden), {});
  for (int64_t i = 0; i < hidden; ++i) {
    pre_[i] = torch::empty({n, w_[i].size(0)}, f);
    act_[i] = torch::empty({n, w_[i].size(0)}, f);
  }
  in_ = torch::empty({n, w_[0].size(1)}, f);
  args_ = torch::empty({n, net_.frequencies().size(0)}, f);
  out_ = torch::empty({n, w_.back().size(0)}, f);
  target_ = torch::empty_like(out_);
  grad_out_ = torch::empty_like(out_);
  const int64_t width = w_[0].size(0);
  gin_ = torch::empty({n, width}, f);
  gtmp_ = torch::empty({n, width}, f);
}

double MlpStep::run(const TrainBatch& b, int64_t global_batch, const std::function<void(size_t)>& ready, double* forward_s,
                    double* backward_s) {
  using Clock = std::chrono::steady_clock;
  torch::NoGradGuard no_grad;
  const auto t0 = Clock::now();
  const int64_t n = b.z.size(0), d = b.z.size(1), half = net_.frequencies().size(0);
  ensure(n);
  const int64_t hidden = static_cast<int64_t>(w_.size()) - 1;

  // forward: in = [x_t, sin(t w), cos(t w)]; x_t = alpha z + beta eps; target d_alpha z + d_beta eps
  const PathTensors p = path_tensors(schedule_, b.t);
  torch::Tensor x = in_.narrow(1, 0, d);
  torch::mul_out(x, b.z, p.alpha);
  x.addcmul_(b.eps, p.beta);
  torch::mul_out(target_, b.z, p.d_alpha);
  target_.addcmul_(b.eps, p.d_beta);
  torch::mul_out(args_, b.t.unsqueeze(1), net_.frequencies().unsqueeze(0));
  torch::Tensor s = in_.narrow(1, d, half), c = in_.narrow(1, d + half, half);
  torch::sin_out(s, args_);
  torch::cos_out(c, args_);
  const torch::Tensor* h = &in_;
  for (int64_t i = 0; i < hidden; ++i) {
    torch::addmm_out(pre_[i], bias_[i], *h, w_[i].t());
    elementwise(pre_[i].numel(), [&](int64_t b, int64_t e) { silu_forward(pre_[i].data_ptr<float>() + b, act_[i].data_ptr<float>() + b, e - b); });
    h = &act_[i];
  }
  torch::addmm_out(out_, bias_.back(), *h, w_.back().t());
  // loss: sum_j |out_j - target_j|^2; d(sum / B)/d out = 2 (out - target) / B
  torch::sub_out(grad_out_, out_, target_);
  const double loss = grad_out_.pow(2).sum().item<double>();
  grad_out_.mul_(2.0 / static_cast<double>(global_batch));
  const auto t1 = Clock::now();

  // backward, last layer first; each layer's gradients are final when written (ready() may start its bucket)
  const torch::Tensor* g = &grad_out_;
  torch::Tensor buffers[2] = {gin_, gtmp_};  // ping-pong: the gradient below is never written over the one above
  int which = 0;
  for (int64_t i = hidden; i >= 0; --i) {
    const torch::Tensor& below = i == 0 ? in_ : act_[i - 1];
    torch::mm_out(dw_[i], g->t(), below);
    torch::sum_out(dbias_[i], *g, {0});
    if (ready) {
      ready(param_index_[i]);
      ready(param_index_[i] + 1);
    }
    if (i == 0) break;
    // the gradient at the SiLU output below, then through SiLU (one fused pass that recomputes the sigmoid)
    torch::Tensor& gin = buffers[which];
    which ^= 1;
    torch::mm_out(gin, *g, w_[i]);
    const float* pre = pre_[i - 1].data_ptr<float>();
    float* gp = gin.data_ptr<float>();
    elementwise(gin.numel(), [&](int64_t b, int64_t e) { silu_backward(pre + b, gp + b, e - b); });
    g = &gin;
  }
  const auto t2 = Clock::now();
  if (forward_s) *forward_s = std::chrono::duration<double>(t1 - t0).count();
  if (backward_s) *backward_s = std::chrono::duration<double>(t2 - t1).count();
  return loss;
}

}  // namespace lockstep
