// Data sets read from files: IDX (plain or gzip; Fashion-MNIST from Debian's dataset-fashion-mnist) and NumPy
// .npy arrays with an optional labels .npy, behind the DataSource interface.
//
// Contract: the whole file is read once at start (a few tens of MB for the image sets); items are float32,
// uint8 images scaled to [-1, 1], float arrays as they are; labels are integers >= 0 (0 for every item of an
// unlabelled set, which then has one class). Bad files throw BadInput naming the file and what is wrong:
// bad magic, unsupported dtype, truncated data, image and label counts that differ, non-integer labels.
// data.size > 0 keeps the first data.size items. No torch.
#pragma once

#include <memory>

#include "common/data/dataset.h"

namespace lockstep {

// Debian's Fashion-MNIST files for a split ("train" or "test").
std::string fashion_mnist_file(const std::string& split, bool labels);
std::unique_ptr<DataSource> make_array_dataset(const DataConfig& cfg);

}  // namespace lockstep
