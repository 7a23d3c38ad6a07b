#include "common/model/mlp_step.h"

#include <algorithm>
#include <chrono>

#include <ATen/Parallel.h>

#include "common/kernels/fast_paths.h"
#include "common/kernels/mlp_out.h"
#include "common/kernels/silu.h"
#include "common/kernels/sincos.h"
#include "common/path/gaussian_path.h"
#include "common/model/sgemm.h"
#include "common/proto/config.pb.h"
#include "common/util/error.h"

namespace lockstep {
namespace {

// Rows per chunk of the SiLU passes: chunks run on LibTorch's intra-op threads, and the bias gradient's partial
// sums are per chunk, added in chunk order: the same numbers for any thread count.
constexpr int64_t kChunkRows = 256;
// From this many rows on, the forward products multiply by a transposed copy of each weight, made every tick
// (h W^T as 'N','N' instead of 'N','T': oneDNN's SGEMM runs 7% faster so at width 256); below, the copy would cost
// more than it saves.
constexpr int64_t kTransposedFrom = 2048;

int64_t chunks_of(int64_t rows) { return (rows + kChunkRows - 1) / kChunkRows; }

// f(first row, row count, chunk index) for every chunk of `rows`
template <typename F>
void row_chunks(int64_t rows, const F& f) {
  at::parallel_for(0, chunks_of(rows), 1, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) f(k * kChunkRows, std::min(kChunkRows, rows - k * kChunkRows), k);
  });
}

// out[j] = the sum over chunks k, in chunk order and in double, of parts[k * len + j], j < len: per-chunk partial
// sums made into one that does not depend on how the chunks were spread over threads
template <typename T>
void add_chunks(const T* parts, int64_t chunks, int64_t len, float* out) {
  for (int64_t j = 0; j < len; ++j) {
    double sum = 0.0;
    for (int64_t k = 0; k < chunks; ++k) sum += parts[k * len + j];
    out[j] = static_cast<float>(sum);
  }
}

}  // namespace

bool MlpStep::applicable(const Config& cfg, bool on_cuda) {
  return fast_path_on(FastPath::kMlpStep) && cfg.engine().fused_mlp() && !on_cuda && cfg.model().name() == "mlp" && !cfg.model().class_conditional() &&
         cfg.train().loss() == TrainConfig::FLOW && cfg.model().prediction() == ModelConfig::VELOCITY &&
         cfg.train().loss_weighting() == TrainConfig::CONSTANT && cfg.train().precision() == "fp32" &&
         cfg.train().micro_batch() == 0;  // it writes the gradients of one whole slice; accumulation goes through autograd
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
    wt_.push_back(torch::empty({l->weight.size(1), l->weight.size(0)}));
  }
  if (w_[0].size(1) < w_[0].size(0)) dw0t_ = torch::empty({w_[0].size(1), w_[0].size(0)});
}

void MlpStep::ensure(int64_t n) {
  if (n == n_) return;
  n_ = n;
  const int64_t hidden = static_cast<int64_t>(w_.size()) - 1;
  const int64_t width = w_[0].size(0), out_dim = w_.back().size(0);
  if (n > capacity_) {  // grow only: a slice that changes size from tick to tick (engine.balance AUTO) reuses the memory
    capacity_ = n;
    const auto f = torch::TensorOptions(torch::kFloat32);
    store_.clear();
    for (int64_t i = 0; i < hidden; ++i) {
      store_.push_back(torch::empty({n, w_[i].size(0)}, f));  // slope
      store_.push_back(torch::empty({n, w_[i].size(0)}, f));  // act
    }
    store_.push_back(torch::empty({n, w_[0].size(1)}, f));  // in
    for (int k = 0; k < 3; ++k) store_.push_back(torch::empty({n, out_dim}, f));  // out, target, grad_out
    for (int k = 0; k < 2; ++k) store_.push_back(torch::empty({n, width}, f));    // gin, gtmp
    store_.push_back(torch::empty({chunks_of(n), width}, torch::kFloat64));       // colsum
    store_.push_back(torch::empty({chunks_of(n), out_dim, width}, f));            // dw_out_part
  }
  // views of the first n rows (or row chunks) of each buffer: contiguous, as the products and kernels need
  size_t k = 0;
  auto rows = [&](int64_t r) { return store_[k++].narrow(0, 0, r); };
  slope_.assign(static_cast<size_t>(hidden), {});
  act_.assign(static_cast<size_t>(hidden), {});
  for (int64_t i = 0; i < hidden; ++i) {
    slope_[i] = rows(n);
    act_[i] = rows(n);
  }
  in_ = rows(n);
  out_ = rows(n);
  target_ = rows(n);
  grad_out_ = rows(n);
  gin_ = rows(n);
  gtmp_ = rows(n);
  colsum_ = rows(chunks_of(n));
  dw_out_part_ = rows(chunks_of(n));
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
  const torch::Tensor t = b.t.contiguous();
  const float *tp = t.data_ptr<float>(), *freqs = net_.frequencies().data_ptr<float>();
  float* emb = in_.data_ptr<float>() + d;
  const int64_t stride = in_.stride(0);
  row_chunks(n, [&](int64_t r, int64_t rows, int64_t) { sinusoidal_rows(tp + r, freqs, rows, half, emb + r * stride, stride); });
  const bool transposed = n >= kTransposedFrom;
  if (transposed)
    for (int64_t i = 0; i < hidden; ++i) wt_[i].copy_(w_[i].t());
  // a narrow output layer rides along with the last SiLU pass (mlp_out.h), and its backward is one pass too
  const int64_t out_dim = w_.back().size(0);
  const bool fused_out = hidden >= 1 && out_dim <= kMaxOutDim;
  const torch::Tensor* h = &in_;
  for (int64_t i = 0; i < hidden; ++i) {
    // the pre-activation; then the bias, SiLU and its slope in one pass
    if (transposed) sgemm(slope_[i], *h, false, wt_[i], false);
    else sgemm(slope_[i], *h, false, w_[i], true);
    float *pre = slope_[i].data_ptr<float>(), *act = act_[i].data_ptr<float>();
    const int64_t cols = slope_[i].size(1);
    const float* bias = bias_[i].data_ptr<float>();
    if (fused_out && i + 1 == hidden) {
      const float *w = w_.back().data_ptr<float>(), *out_bias = bias_.back().data_ptr<float>();
      float* out = out_.data_ptr<float>();
      row_chunks(n, [&](int64_t r, int64_t rows, int64_t) {
        silu_forward_bias_slope_out(pre + r * cols, bias, act + r * cols, rows, cols, w, out_bias, out_dim, out + r * out_dim);
      });
    } else {
      row_chunks(n, [&](int64_t r, int64_t rows, int64_t) { silu_forward_bias_slope(pre + r * cols, bias, act + r * cols, rows, cols); });
    }
    h = &act_[i];
  }
  if (!fused_out) {
    sgemm(out_, *h, false, w_.back(), true);
    out_.add_(bias_.back());
  }
  // loss: sum_j |out_j - target_j|^2; d(sum / B)/d out = 2 (out - target) / B
  torch::sub_out(grad_out_, out_, target_);
  const double loss = grad_out_.pow(2).sum().item<double>();
  grad_out_.mul_(2.0 / static_cast<double>(global_batch));
  const auto t1 = Clock::now();

  // backward, last layer first; each layer's gradients are final when written (ready() may start its bucket)
  const int64_t chunks = chunks_of(n), width = w_[0].size(0);
  double* partial = colsum_.data_ptr<double>();  // [256-row chunk][width]: bias-gradient sums per chunk
  auto bias_gradient = [&](int64_t layer) { add_chunks(partial, chunks, width, dbias_[layer].data_ptr<float>()); };
  auto layer_ready = [&](int64_t layer) {
    if (!ready) return;
    ready(param_index_[layer]);
    ready(param_index_[layer] + 1);
  };
  const torch::Tensor* g = &grad_out_;
  torch::Tensor buffers[2] = {gin_, gtmp_};  // ping-pong: the gradient below is never written over the one above
  int which = 0;
  int64_t top = hidden;
  if (fused_out) {  // the output layer: its weight gradient, and the gradient through the last SiLU, in one pass
    float* gp = buffers[which].data_ptr<float>();
    const float *go = grad_out_.data_ptr<float>(), *w = w_.back().data_ptr<float>();
    const float *act = act_[hidden - 1].data_ptr<float>(), *slope = slope_[hidden - 1].data_ptr<float>();
    float* dw_part = dw_out_part_.data_ptr<float>();  // [chunk][out_dim][width]
    colsum_.zero_();
    dw_out_part_.zero_();
    row_chunks(n, [&](int64_t r, int64_t rows, int64_t k) {
      mlp_out_backward(go + r * out_dim, w, act + r * width, slope + r * width, gp + r * width, rows, width, out_dim, partial + k * width,
                       dw_part + k * out_dim * width);
    });
    add_chunks(dw_part, chunks, out_dim * width, dw_[hidden].data_ptr<float>());
    torch::sum_out(dbias_[hidden], grad_out_, {0});
    layer_ready(hidden);
    bias_gradient(hidden - 1);
    g = &buffers[which];
    which ^= 1;
    top = hidden - 1;
  }
  for (int64_t i = top; i >= 0; --i) {
    const torch::Tensor& below = i == 0 ? in_ : act_[i - 1];
    if (i == 0 && dw0t_.defined()) {  // a narrow input: dW^T = in^T g, then transposed (0.60 against 0.82 ms at 34 x 256)
      sgemm(dw0t_, below, true, *g, false);
      dw_[0].copy_(dw0t_.t());
    } else {
      sgemm(dw_[i], *g, true, below, false);
    }
    if (i == hidden) torch::sum_out(dbias_[i], *g, {0});  // the hidden layers' were summed in the SiLU pass above them
    layer_ready(i);
    if (i == 0) break;
    // the gradient at the SiLU output below, then through SiLU (one pass that multiplies by the slope saved in
    // the forward pass and sums the columns: the bias gradient of layer i - 1)
    torch::Tensor& gin = buffers[which];
    which ^= 1;
    sgemm(gin, *g, false, w_[i], false);
    const float* slope = slope_[i - 1].data_ptr<float>();
    float* gp = gin.data_ptr<float>();
    colsum_.zero_();
    row_chunks(n, [&](int64_t r, int64_t rows, int64_t k) { scale_colsum(slope + r * width, gp + r * width, rows, width, partial + k * width); });
    bias_gradient(i - 1);
    g = &gin;
  }
  const auto t2 = Clock::now();
  if (forward_s) *forward_s = std::chrono::duration<double>(t1 - t0).count();
  if (backward_s) *backward_s = std::chrono::duration<double>(t2 - t1).count();
  return loss;
}

}  // namespace lockstep
