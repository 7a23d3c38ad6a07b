// What the network predicts, and the exact conversions between predictions on a Gaussian path.
//
// On x = alpha z + beta eps (z data, eps noise; t = 0 noise, t = 1 data) every prediction is a linear function of
// the pair (z, eps) given x:
//   VELOCITY  u = d_alpha z + d_beta eps            (the conditional vector field, course notes)
//   SCORE     s = -eps / beta                        (the conditional score -(x - alpha z) / beta^2)
//   EPSILON   eps                                    (DDPM's noise prediction)
//   X0        z                                      (the data prediction; "x0" in the diffusion convention,
//                                                     where time runs the other way and x_0 is data)
// decompose() recovers (z, eps) from any prediction and x; compose() builds any prediction from (z, eps). From a
// velocity: [alpha beta; d_alpha d_beta] [z; eps] = [x; u], determinant alpha d_beta - beta d_alpha (non-zero on
// every schedule for t in (0, 1)). Contract: pure tensor functions, exact up to float rounding.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "common/path/gaussian_path.h"

namespace lockstep {

enum class Prediction { kVelocity, kScore, kEpsilon, kX0 };

Prediction prediction_from_config(int config_enum);  // ModelConfig::Prediction
std::string prediction_name(Prediction p);

struct DataNoise {
  torch::Tensor z, eps;
};

DataNoise decompose(Prediction kind, const torch::Tensor& pred, const torch::Tensor& x, const PathTensors& p);
torch::Tensor compose(Prediction kind, const DataNoise& dn, const PathTensors& p);
// convert(from, to, ...) == compose(to, decompose(from, ...)).
torch::Tensor convert(Prediction from, Prediction to, const torch::Tensor& pred, const torch::Tensor& x, const PathTensors& p);

}  // namespace lockstep
