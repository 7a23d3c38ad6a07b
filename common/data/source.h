// The source distribution of a config (source.name): nullptr for the Gaussian N(0, I), else the data set of
// source.data, whose fresh draws replace the noise in training batches and the initial points of samplers.
//
// Contract: the same config gives the same source on every rank (its finite toy points from the run seed and a
// salt of their own, apart from the training data's); throws BadInput when its items do not have `item_shape`.
#pragma once

#include <memory>
#include <vector>

#include "common/data/dataset.h"

namespace lockstep {

class Config;

std::shared_ptr<const DataSource> make_source(const Config& cfg, const std::vector<int64_t>& item_shape);

}  // namespace lockstep
