// Field-by-field differences between two configs (effective values: unset fields count as their defaults).
//
// Contract: config_differences() walks the schema by reflection and returns one entry per leaf field whose
// effective value differs (repeated fields compare as a whole), in schema order, with both values in text
// format. resume_may_change() says which fields a resumed run may change without leaving the trajectory of
// the stored run: run length, logging, evaluation, checkpointing, sampling and engine settings.
#pragma once

#include <string>
#include <vector>

#include "common/proto/config.pb.h"

namespace lockstep {

struct FieldDiff {
  std::string field;  // dotted path, "model.unet.channels"
  std::string before, after;
};

std::vector<FieldDiff> config_differences(const Config& before, const Config& after);
bool resume_may_change(const std::string& field);

}  // namespace lockstep
