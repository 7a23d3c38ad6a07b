// PNG scatter plots of 2-D point sets, panels side by side (cairo).
//
// Contract: each panel shows its points in the square [-lim, lim]^2 with a frame, a title and tick labels;
// the file is written atomically. No torch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lockstep {

struct ScatterPanel {
  std::string title;
  const float* xy;  // n rows of (x, y)
  int64_t n;
  uint32_t rgb;  // 0xRRGGBB
};

void write_scatter_png(const std::string& path, const std::vector<ScatterPanel>& panels, double lim);

}  // namespace lockstep
