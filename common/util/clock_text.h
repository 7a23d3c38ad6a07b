// A duration as a clock: "mm:ss" below an hour, "h:mm:ss" above, "--:--" for a negative, NaN or absurd value (an ETA
// not yet known). For progress lines. No torch.
#pragma once

#include <cstdio>
#include <string>

namespace lockstep {

inline std::string clock_text(double seconds) {
  if (!(seconds >= 0) || seconds > 1e7) return "--:--";
  const long v = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (v >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", v / 3600, v / 60 % 60, v % 60);
  else std::snprintf(buf, sizeof buf, "%02ld:%02ld", v / 60, v % 60);
  return buf;
}

}  // namespace lockstep
