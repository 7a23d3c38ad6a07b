// `lockstep path NAME [--num N]`: a schedule as CSV (t,alpha,beta,d_alpha,d_beta,log_snr), N evenly spaced times
// from 0 (noise) to 1 (data), with the config's default schedule parameters.
#include <algorithm>
#include <cstdio>

#include "common/path/schedule.h"
#include "common/util/error.h"
#include "common/util/strings.h"
#include "launch/commands.h"

namespace lockstep {

int cmd_path(const std::string& name, int64_t num) {
  LS_CHECK_INPUT(contains(schedule_names(), name), "path '" << name << "': unknown; allowed: " << join(schedule_names()));
  LS_CHECK_INPUT(num >= 2 && num <= 10000000, "--num must be in [2, 10000000], got " << num);
  const auto s = make_schedule(name);
  std::printf("t,alpha,beta,d_alpha,d_beta,log_snr\n");
  for (int64_t i = 0; i < num; ++i) {
    const double t = static_cast<double>(i) / static_cast<double>(num - 1);
    const PathPoint p = s->at(t);
    std::printf("%.6g,%.9g,%.9g,%.9g,%.9g,%.9g\n", t, p.alpha, p.beta, p.d_alpha, p.d_beta, s->log_snr(t));
  }
  return kExitOk;
}

}  // namespace lockstep
