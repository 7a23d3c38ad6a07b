// The rule of every fuzz target: a parser either returns or throws BadInput; anything else (another exception, or
// what the sanitizers catch) is a finding. No torch.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <exception>

#include "common/util/error.h"

template <typename F>
void lockstep_fuzz_guard(F&& parse) {
  try {
    parse();
  } catch (const lockstep::BadInput&) {
    // a clean refusal
  } catch (const std::exception& e) {
    std::fprintf(stderr, "not a clean refusal: %s\n", e.what());
    std::abort();
  }
}
