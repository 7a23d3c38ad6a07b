// The solver names of common/sampler/ode.cpp, without torch (the config validation needs them).
#pragma once

#include <string>
#include <vector>

namespace lockstep {

const std::vector<std::string>& sampler_names();

}  // namespace lockstep
