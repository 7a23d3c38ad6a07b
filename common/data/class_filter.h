// Keeping only some classes of a data set (data.classes): one image class as the source of a flow to another.
//
// Contract: filter_classes() wraps `inner`. A finite inner source is scanned once: the filtered source's item i is
// the i-th item (in the inner order) whose label is in `classes`, and a fresh draw picks one of those items
// uniformly. An infinite source draws until a point of those classes comes (deterministic: the same generator
// gives the same point). Labels, num_classes and class names stay the inner ones. Throws BadInput for a class
// outside [0, num_classes), or when no item (or no draw out of 10,000) has one of the classes. No torch.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/data/dataset.h"

namespace lockstep {

std::unique_ptr<DataSource> filter_classes(std::unique_ptr<DataSource> inner, const std::vector<int64_t>& classes);

}  // namespace lockstep
