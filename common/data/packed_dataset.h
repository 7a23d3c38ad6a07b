// data { name: "packed" path: "FILE" }: a packed data set (packed_file.h) behind the DataSource interface.
//
// Contract: the file is mapped once per process and never copied: item(i) converts item i's uint8 pixels to float32
// in [-1, 1] (v / 127.5 - 1, as the other image sets) when it is asked for, so a rank touches only the items of its
// slices. Labels and class names come from the header (an unlabelled set has one class). The held-out split is a
// second packed file (data.eval_path, of the same item shape) or data.holdout: that fraction of the items, chosen
// by a fixed generator from the item count alone (the same split for every run and seed), leaves the training set
// and forms the held-out one, both in file order. data.size > 0 keeps the first data.size training items.
// check_unchanged() refuses a file changed or replaced since it was opened. No torch.
#pragma once

#include <memory>

#include "common/data/dataset.h"

namespace lockstep {

std::unique_ptr<DataSource> make_packed_dataset(const DataConfig& cfg, bool held_out);

}  // namespace lockstep
