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
// Draws one point of the named distribution (a name from toy_dataset_names()).
void toy_point(const std::string& name, CounterRng& rng, float out[2]);

}  // namespace lockstep
