// Toy 2-D distributions (the course notes' running examples), drawn from counter-based random numbers.
//
// Contract: toy_point() is a pure function of the generator's counter range, so a point depends only on
// (seed, tick, sample) or on (seed, index) for a finite data set. All distributions lie roughly in [-3, 3]^2
// with mean near 0. No torch here.
#pragma once

#include <string>
#include <vector>

#include "common/rng/philox.h"

namespace lockstep {

const std::vector<std::string>& toy_dataset_names();
// Draws one point of the named distribution (a name from toy_dataset_names()) and returns its class: the
// component it came from (checkerboard cell, moon, Gaussian, spiral arm, circle).
int64_t toy_point(const std::string& name, CounterRng& rng, float out[2]);
// Number of classes of the named distribution.
int64_t toy_classes(const std::string& name);

}  // namespace lockstep
