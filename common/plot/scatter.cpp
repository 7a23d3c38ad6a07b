#include "common/plot/scatter.h"

#include <cairo.h>

#include <cmath>

#include "common/util/error.h"
#include "common/plot/png_out.h"

namespace lockstep {
namespace {

constexpr int kPanel = 420, kMargin = 40, kTitle = 34;

void draw_panel(cairo_t* cr, const ScatterPanel& p, double x0, double lim) {
  const double y0 = kTitle, size = kPanel;
  auto px = [&](double v) { return x0 + (v + lim) / (2 * lim) * size; };
  auto py = [&](double v) { return y0 + (lim - v) / (2 * lim) * size; };
  // frame and grid
  cairo_set_source_rgb(cr, 0.96, 0.96, 0.96);
  cairo_rectangle(cr, x0, y0, size, size);
  cairo_fill(cr);
  cairo_set_line_width(cr, 1.0);
  cairo_set_source_rgb(cr, 0.85, 0.85, 0.85);
  const double step = lim > 4 ? 2.0 : 1.0;
  for (double v = -std::floor(lim / step) * step; v <= lim + 1e-9; v += step) {
    cairo_move_to(cr, px(v), y0);
    cairo_line_to(cr, px(v), y0 + size);
    cairo_move_to(cr, x0, py(v));
    cairo_line_to(cr, x0 + size, py(v));
  }
  cairo_stroke(cr);
  // points, clipped to the panel
  cairo_save(cr);
  cairo_rectangle(cr, x0, y0, size, size);
  cairo_clip(cr);
  cairo_set_source_rgba(cr, ((p.rgb >> 16) & 0xff) / 255.0, ((p.rgb >> 8) & 0xff) / 255.0, (p.rgb & 0xff) / 255.0, 0.55);
  for (int64_t i = 0; i < p.n; ++i) {
    const double x = p.xy[2 * i], y = p.xy[2 * i + 1];
    if (!std::isfinite(x) || !std::isfinite(y)) continue;
    cairo_arc(cr, px(x), py(y), 1.6, 0, 2 * M_PI);
    cairo_fill(cr);
  }
  cairo_restore(cr);
  cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  cairo_rectangle(cr, x0, y0, size, size);
  cairo_stroke(cr);
  // labels
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 11);
  for (double v = -std::floor(lim / step) * step; v <= lim + 1e-9; v += step) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%g", v);
    cairo_move_to(cr, px(v) - 4, y0 + size + 14);
    cairo_show_text(cr, buf);
    cairo_move_to(cr, x0 - 22, py(v) + 4);
    cairo_show_text(cr, buf);
  }
  cairo_set_font_size(cr, 16);
  const std::string title = p.title + " (" + std::to_string(p.n) + ")";
  cairo_text_extents_t ext;
  cairo_text_extents(cr, title.c_str(), &ext);
  cairo_move_to(cr, x0 + size / 2 - ext.width / 2, y0 - 10);
  cairo_show_text(cr, title.c_str());
}

}  // namespace

void write_scatter_png(const std::string& path, const std::vector<ScatterPanel>& panels, double lim) {
  const int width = static_cast<int>(panels.size()) * (kPanel + kMargin) + kMargin;
  const int height = kTitle + kPanel + kMargin;
  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
  cairo_t* cr = cairo_create(surface);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  for (size_t i = 0; i < panels.size(); ++i) draw_panel(cr, panels[i], kMargin + static_cast<double>(i) * (kPanel + kMargin), lim);
  cairo_destroy(cr);
  write_surface_png(path, surface);  // and destroys it
}

}  // namespace lockstep
