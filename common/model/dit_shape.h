// The depth, width and heads of a DiT config (model.dit in config.proto): its named size (S, B, L, XL, as in the
// DiT paper) with the config's non-zero overrides. No torch: the memory estimate (model_size.h) and the network
// (dit.h) share it.
//
// Contract: dit_shape() throws BadInput naming model.dit.size when the size is not one of S, B, L, XL. It does
// not check that heads divide the width; config validation and the network do.
#pragma once

#include <cstdint>

namespace lockstep {

class DitConfig;

struct DitShape {
  int64_t depth = 0, width = 0, heads = 0;
  int64_t mlp_hidden = 0;  // width * mlp_ratio, rounded down
};

DitShape dit_shape(const DitConfig& cfg);

}  // namespace lockstep
