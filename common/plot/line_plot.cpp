#include "common/plot/line_plot.h"

#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "common/plot/png_out.h"
#include "common/util/error.h"

namespace lockstep {
namespace {

constexpr int kWidth = 680, kHeight = 420, kLeft = 70, kRight = 170, kTop = 40, kBottom = 50;

void set_rgb(cairo_t* cr, uint32_t rgb) {
  cairo_set_source_rgb(cr, ((rgb >> 16) & 0xff) / 255.0, ((rgb >> 8) & 0xff) / 255.0, (rgb & 0xff) / 255.0);
}

}  // namespace

void write_line_plot_png(const std::string& path, const std::string& title, const std::string& x_label,
                         const std::string& y_label, const std::vector<LineSeries>& series) {
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const LineSeries& s : series) {
    LS_CHECK(s.x.size() == s.y.size(), "write_line_plot_png: series " << s.name << " has " << s.x.size() << " x and " << s.y.size() << " y");
    for (size_t i = 0; i < s.x.size(); ++i) {
      LS_CHECK(s.x[i] > 0, "write_line_plot_png: x must be > 0 on a log axis, got " << s.x[i]);
      if (!std::isfinite(s.y[i])) continue;
      x0 = std::min(x0, std::log2(s.x[i])), x1 = std::max(x1, std::log2(s.x[i]));
      y0 = std::min(y0, s.y[i]), y1 = std::max(y1, s.y[i]);
    }
  }
  if (!(x1 >= x0)) x0 = 0, x1 = 1;
  if (!(y1 >= y0)) y0 = 0, y1 = 1;
  if (x1 - x0 < 1) x1 = x0 + 1;
  if (y1 - y0 < 1e-12) y1 = y0 + 1e-12 + std::abs(y0) * 0.1;
  const double pad = 0.05 * (y1 - y0);
  y0 -= pad, y1 += pad;
  // the legend's column is as wide as its longest name (measured at the legend's font size)
  double legend = 0;
  {
    cairo_surface_t* probe = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
    cairo_t* pc = cairo_create(probe);
    cairo_set_font_size(pc, 13);
    for (const LineSeries& l : series) {
      cairo_text_extents_t ext;
      cairo_text_extents(pc, l.name.c_str(), &ext);
      legend = std::max(legend, ext.x_advance);
    }
    cairo_destroy(pc);
    cairo_surface_destroy(probe);
  }
  const int right = std::max(kRight, 35 + static_cast<int>(std::ceil(legend)) + 10), width = kWidth - kRight + right;
  const double pw = width - kLeft - right, ph = kHeight - kTop - kBottom;
  auto px = [&](double x) { return kLeft + (std::log2(x) - x0) / (x1 - x0) * pw; };
  auto py = [&](double y) { return kTop + (y1 - y) / (y1 - y0) * ph; };

  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, kHeight);
  cairo_t* cr = cairo_create(surface);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_set_line_width(cr, 1.0);
  cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
  cairo_rectangle(cr, kLeft, kTop, pw, ph);
  cairo_stroke(cr);
  cairo_set_font_size(cr, 11);
  char buf[32];
  for (int e = static_cast<int>(std::ceil(x0)); e <= static_cast<int>(std::floor(x1)); ++e) {  // x ticks at powers of two
    const double x = kLeft + (e - x0) / (x1 - x0) * pw;
    std::snprintf(buf, sizeof buf, "%d", 1 << std::max(0, e));
    cairo_move_to(cr, x - 4, kTop + ph + 15);
    cairo_show_text(cr, buf);
  }
  for (int k = 0; k <= 4; ++k) {  // five y ticks
    const double y = y0 + (y1 - y0) * k / 4.0;
    std::snprintf(buf, sizeof buf, "%.3g", y);
    cairo_move_to(cr, 5, py(y) + 4);
    cairo_show_text(cr, buf);
  }
  cairo_set_font_size(cr, 13);
  cairo_move_to(cr, kLeft + pw / 2 - 40, kHeight - 12);
  cairo_show_text(cr, x_label.c_str());
  cairo_move_to(cr, kLeft, kTop - 22);
  cairo_show_text(cr, (title + "  (" + y_label + ")").c_str());
  for (size_t s = 0; s < series.size(); ++s) {
    const LineSeries& l = series[s];
    set_rgb(cr, l.rgb);
    cairo_set_line_width(cr, 2.0);
    bool drawing = false;
    for (size_t i = 0; i < l.x.size(); ++i) {
      if (!std::isfinite(l.y[i])) {
        drawing = false;
        continue;
      }
      if (drawing) cairo_line_to(cr, px(l.x[i]), py(l.y[i]));
      else cairo_move_to(cr, px(l.x[i]), py(l.y[i]));
      drawing = true;
    }
    cairo_stroke(cr);
    for (size_t i = 0; i < l.x.size(); ++i) {
      if (!std::isfinite(l.y[i])) continue;
      cairo_arc(cr, px(l.x[i]), py(l.y[i]), 3.0, 0, 2 * M_PI);
      cairo_fill(cr);
    }
    const double ly = kTop + 10 + 20.0 * static_cast<double>(s);
    cairo_rectangle(cr, width - right + 15, ly - 8, 14, 4);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_move_to(cr, width - right + 35, ly);
    cairo_show_text(cr, l.name.c_str());
  }
  cairo_destroy(cr);
  write_surface_png(path, surface);  // and destroys it
}

}  // namespace lockstep
