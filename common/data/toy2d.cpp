#include "common/data/toy2d.h"

#include <cmath>

#include "common/util/error.h"

namespace lockstep {
namespace {
constexpr double kTwoPi = 6.283185307179586476925286766559;
}

const std::vector<std::string>& toy_dataset_names() {
  static const std::vector<std::string> names = {"checkerboard", "moons", "gaussians8", "spirals", "circles"};
  return names;
}

int64_t toy_classes(const std::string& name) { return name == "checkerboard" || name == "gaussians8" ? 8 : 2; }

int64_t toy_point(const std::string& name, CounterRng& rng, float out[2]) {
  double x = 0, y = 0;
  int64_t label = 0;
  if (name == "checkerboard") {
    // 4 x 4 board on [-2, 2]^2, the 8 cells whose row + column is even, uniformly.
    const uint64_t cell = rng.below(8);
    label = static_cast<int64_t>(cell);
    const uint64_t row = cell / 2, col = 2 * (cell % 2) + row % 2;
    x = static_cast<double>(col) + rng.uniform() - 2.0;
    y = static_cast<double>(row) + rng.uniform() - 2.0;
  } else if (name == "moons") {
    // Two interleaved half circles, centred and scaled to about [-2.2, 2.2] x [-1.2, 1.2].
    const double a = 3.14159265358979323846 * rng.uniform();
    const bool upper = rng.below(2) == 0;
    label = upper ? 0 : 1;
    x = upper ? std::cos(a) : 1.0 - std::cos(a);
    y = upper ? std::sin(a) : 0.5 - std::sin(a);
    x = 2.0 * (x - 0.5) + 0.1 * rng.normal();
    y = 2.0 * (y - 0.25) + 0.1 * rng.normal();
  } else if (name == "gaussians8") {
    // Eight Gaussians (std 0.15) on the circle of radius 2.
    label = static_cast<int64_t>(rng.below(8));
    const double a = kTwoPi * static_cast<double>(label) / 8.0;
    x = 2.0 * std::cos(a) + 0.15 * rng.normal();
    y = 2.0 * std::sin(a) + 0.15 * rng.normal();
  } else if (name == "spirals") {
    // Two arms of an Archimedean spiral, radius up to 2.6.
    const double s = std::sqrt(rng.uniform());
    label = static_cast<int64_t>(rng.below(2));
    const double a = s * 1.75 * kTwoPi + (label == 0 ? 0.0 : kTwoPi / 2);
    x = 2.6 * s * std::cos(a) + 0.05 * rng.normal();
    y = 2.6 * s * std::sin(a) + 0.05 * rng.normal();
  } else if (name == "circles") {
    // Two concentric circles of radius 1 and 2.
    label = static_cast<int64_t>(rng.below(2));
    const double r = label == 0 ? 1.0 : 2.0;
    const double a = kTwoPi * rng.uniform();
    x = r * std::cos(a) + 0.05 * rng.normal();
    y = r * std::sin(a) + 0.05 * rng.normal();
  } else {
    throw InternalError("toy_point: unknown toy data set '" + name + "' (config validation should have refused it)");
  }
  out[0] = static_cast<float>(x);
  out[1] = static_cast<float>(y);
  return label;
}

}  // namespace lockstep
