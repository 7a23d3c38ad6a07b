#include "common/path/parametrization.h"

#include "common/proto/config.pb.h"
#include "common/util/error.h"

namespace lockstep {

Prediction prediction_from_config(int e) {
  switch (e) {
    case ModelConfig::VELOCITY: return Prediction::kVelocity;
    case ModelConfig::SCORE: return Prediction::kScore;
    case ModelConfig::EPSILON: return Prediction::kEpsilon;
    case ModelConfig::X0: return Prediction::kX0;
  }
  throw InternalError("prediction_from_config: unknown prediction " + std::to_string(e));
}

std::string prediction_name(Prediction p) {
  switch (p) {
    case Prediction::kVelocity: return "VELOCITY";
    case Prediction::kScore: return "SCORE";
    case Prediction::kEpsilon: return "EPSILON";
    case Prediction::kX0: return "X0";
  }
  return "?";
}

DataNoise decompose(Prediction kind, const torch::Tensor& pred, const torch::Tensor& x, const PathTensors& p) {
  switch (kind) {
    case Prediction::kVelocity: {
      const torch::Tensor det = p.alpha * p.d_beta - p.beta * p.d_alpha;
      return {(p.d_beta * x - p.beta * pred) / det, (p.alpha * pred - p.d_alpha * x) / det};
    }
    case Prediction::kScore: {
      const torch::Tensor eps = -p.beta * pred;
      return {(x - p.beta * eps) / p.alpha, eps};
    }
    case Prediction::kEpsilon: return {(x - p.beta * pred) / p.alpha, pred};
    case Prediction::kX0: return {pred, (x - p.alpha * pred) / p.beta};
  }
  throw InternalError("decompose: unknown prediction");
}

torch::Tensor compose(Prediction kind, const DataNoise& dn, const PathTensors& p) {
  switch (kind) {
    case Prediction::kVelocity: return p.d_alpha * dn.z + p.d_beta * dn.eps;
    case Prediction::kScore: return -dn.eps / p.beta;
    case Prediction::kEpsilon: return dn.eps;
    case Prediction::kX0: return dn.z;
  }
  throw InternalError("compose: unknown prediction");
}

torch::Tensor convert(Prediction from, Prediction to, const torch::Tensor& pred, const torch::Tensor& x, const PathTensors& p) {
  if (from == to) return pred;
  return compose(to, decompose(from, pred, x, p), p);
}

}  // namespace lockstep
