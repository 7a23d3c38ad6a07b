// The fused training step of the MLP under conditional flow matching (a FusedStep, fused_step.h): forward, loss and
// backward written out by hand into buffers allocated once (grown, never shrunk, when the slice changes size),
// without autograd. The fast path kMlpStep (common/kernels/fast_paths.h).
//
// Contract: applies to model "mlp" without class conditioning, train.loss FLOW, prediction VELOCITY, constant
// loss weighting, float32 on the CPU, with engine.fused_mlp and the CPU fast paths on (applicable() says whether a
// config qualifies). run() is FusedStep::run for the per-sample CFM losses || u(x_t, t) - (d_alpha z + d_beta eps) ||^2
// as loss_per_sample() computes them: every element of every gradient is written, and `ready(param index)` is called
// as each layer's weight and bias gradients are complete. Same results as the autograd path up to float rounding
// (tested to 1e-5).
// How: one vectorized pass per hidden layer forward adds the bias and writes SiLU(z) and the slope SiLU'(z), which
// the backward pass multiplies by (common/kernels/silu.h); a narrow output layer (2-D data) is computed in the last
// of these passes and its backward in one more (common/kernels/mlp_out.h); products through oneDNN's SGEMM, the
// forward ones on transposed weights for large slices.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <vector>

#include "common/data/batch.h"
#include "common/model/fused_step.h"
#include "common/model/mlp.h"
#include "common/path/schedule.h"

namespace lockstep {

class Config;

class MlpStep : public FusedStep {
 public:
  static bool applicable(const Config& cfg, bool on_cuda);
  MlpStep(Mlp& net, const Schedule& s);
  double run(const TrainBatch& b, int64_t global_batch, const std::function<void(size_t)>& ready, double* forward_s,
             double* backward_s) override;

 private:
  void ensure(int64_t n);
  Mlp& net_;
  const Schedule& schedule_;
  std::vector<torch::Tensor> w_, bias_, dw_, dbias_, wt_;  // per layer (wt_: the transposed weight, for large batches)
  torch::Tensor dw0t_;                                // the first layer's weight gradient transposed, when its input is narrow
  std::vector<size_t> param_index_;                   // of each layer's weight (its bias follows)
  int64_t n_ = -1;         // the rows of the views below
  int64_t capacity_ = 0;   // the rows of store_, which only grows
  std::vector<torch::Tensor> store_;  // the buffers' memory; the members below are views of their first n_ rows
  std::vector<torch::Tensor> slope_, act_;  // per hidden layer: SiLU'(pre-activation) (first the pre-activation), SiLU output
  torch::Tensor in_, out_, target_, grad_out_, gin_, gtmp_;  // gin_, gtmp_: [n, width]
  torch::Tensor colsum_;       // float64 [row chunks, width]: per-chunk bias-gradient sums
  torch::Tensor dw_out_part_;  // [row chunks, out_dim, width]: per-chunk sums of a narrow output layer's weight gradient
};

}  // namespace lockstep
