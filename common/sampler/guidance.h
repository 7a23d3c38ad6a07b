// Classifier-free guidance (Ho & Salimans): the guided prediction
//     pred_w(x | y) = (1 - w) pred(x | null) + w pred(x | y),
// which, the conversions of parametrization.h being affine in the prediction for a fixed x, is the same guidance
// on the velocity u = (1 - w) u(x | null) + w u(x | y) whatever the network predicts. w = 1 is the plain
// conditional model (one network evaluation); other w take two. An undefined y (an unconditional model) gives
// the plain prediction.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "common/model/net.h"

namespace lockstep {

struct Guidance {
  torch::Tensor y;        // [n] class labels, or undefined
  double scale = 1.0;     // w
  int64_t null_class = 0; // the label of the null class (= number of classes)
};

// The guided prediction at (x, t) for the rows `rows` of the guidance's labels (all rows if undefined);
// *evals += network evaluations per sample.
torch::Tensor guided_prediction(Net& net, const torch::Tensor& x, const torch::Tensor& t, const Guidance& g,
                                const torch::Tensor& rows = {}, int64_t* evals = nullptr);

}  // namespace lockstep
