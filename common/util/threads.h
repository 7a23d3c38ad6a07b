// Thread settings of one rank, for LibTorch (intra-op) and OpenBLAS.
//
// Contract: called once at start, before any tensor work. With `requested` = 0 each rank takes a fair share of
// the machine's cores: hardware threads / ranks on this machine, at least 1. Returns a one-line description
// for the start-up banner.
#pragma once

#include <cstdint>
#include <string>

namespace lockstep {

struct ThreadSetting {
  int threads;
  std::string description;
};

ThreadSetting configure_threads(uint32_t requested, int local_ranks);

}  // namespace lockstep
