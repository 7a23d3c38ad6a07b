#include "common/util/fault.h"

#include <cstdlib>
#include <regex>

#include "common/util/error.h"

namespace lockstep {

const Fault& injected_fault() {
  static const Fault fault = [] {
    Fault f;
    const char* env = std::getenv("LOCKSTEP_FAULT");
    if (!env || !*env) return f;
    std::cmatch m;
    LS_CHECK_INPUT(std::regex_match(env, m, std::regex(R"((perturb|kill|stall|nan|term|slow|ckpt_kill):(\d+):(\d+))")),
                   "LOCKSTEP_FAULT='" << env << "': expected perturb|kill|stall|nan|term|slow|ckpt_kill:RANK:TICK");
    f.kind = m[1];
    f.rank = std::stoi(m[2]);
    f.tick = std::stoull(m[3]);
    return f;
  }();
  return fault;
}

}  // namespace lockstep
