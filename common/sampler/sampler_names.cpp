#include "common/sampler/sampler_names.h"

namespace lockstep {

const std::vector<std::string>& sampler_names() {
  static const std::vector<std::string> names = {"euler", "midpoint", "heun", "rk4", "dopri5", "euler_maruyama", "ddim", "ddpm", "tvm"};
  return names;
}

}  // namespace lockstep
