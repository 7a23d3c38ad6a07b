// PNG line plots (cairo): one or more series of (x, y) points on a log2 x axis, a legend, axis labels.
//
// Contract: x values must be > 0 (plotted as log2 x, ticks at the powers of two); y is linear, the range
// covering every finite value (non-finite points are skipped). The image widens so that the legend column fits the
// longest series name. Written atomically. No torch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lockstep {

struct LineSeries {
  std::string name;
  std::vector<double> x, y;
  uint32_t rgb;  // 0xRRGGBB
};

void write_line_plot_png(const std::string& path, const std::string& title, const std::string& x_label,
                         const std::string& y_label, const std::vector<LineSeries>& series);

}  // namespace lockstep
