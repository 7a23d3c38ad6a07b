#include "common/plot/image_grid.h"

#include <cairo.h>

#include <algorithm>
#include <cmath>

#include "common/plot/png_out.h"
#include "common/util/error.h"

namespace lockstep {
namespace {

constexpr int kGap = 2, kLabelFont = 13;

uint8_t to_byte(float v) {
  const float u = std::min(1.0f, std::max(-1.0f, v));
  return static_cast<uint8_t>(std::lround((u + 1.0f) * 127.5f));
}

}  // namespace

void grid_layout(int64_t n, int64_t num_classes, int64_t max_cols, ImageGrid* g) {
  g->cells.clear();
  if (num_classes > 0) {
    g->rows = std::min(num_classes, n);
    g->cols = std::min(max_cols, (n + num_classes - 1) / num_classes);
    for (int64_t r = 0; r < g->rows; ++r)
      for (int64_t c = 0; c < g->cols; ++c) {
        const int64_t i = r + c * num_classes;
        g->cells.push_back(i < n ? i : -1);
      }
    return;
  }
  g->cols = std::min(max_cols, static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(n)))));
  g->rows = std::min(max_cols, (n + g->cols - 1) / g->cols);
  for (int64_t i = 0; i < g->rows * g->cols; ++i) g->cells.push_back(i < n ? i : -1);
}

void write_image_grid_png(const std::string& path, const ImageGrid& g) {
  LS_CHECK(g.rows > 0 && g.cols > 0 && static_cast<int64_t>(g.cells.size()) == g.rows * g.cols,
           "write_image_grid_png: " << g.rows << "x" << g.cols << " grid with " << g.cells.size() << " cells");
  LS_CHECK(g.row_labels.empty() || static_cast<int64_t>(g.row_labels.size()) == g.rows,
           "write_image_grid_png: " << g.row_labels.size() << " labels for " << g.rows << " rows");
  for (int64_t idx : g.cells) LS_CHECK(idx < g.n, "write_image_grid_png: a cell shows image " << idx << " of " << g.n);
  const int cell_w = static_cast<int>(g.width) * g.scale, cell_h = static_cast<int>(g.height) * g.scale;

  // Measure the labels on a scratch surface to size the left margin.
  int label_w = 0;
  if (!g.row_labels.empty()) {
    cairo_surface_t* scratch = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
    cairo_t* cr = cairo_create(scratch);
    cairo_set_font_size(cr, kLabelFont);
    for (const std::string& l : g.row_labels) {
      cairo_text_extents_t ext;
      cairo_text_extents(cr, l.c_str(), &ext);
      label_w = std::max(label_w, static_cast<int>(std::ceil(ext.x_advance)) + 10);
    }
    cairo_destroy(cr);
    cairo_surface_destroy(scratch);
  }
  const int width = label_w + static_cast<int>(g.cols) * (cell_w + kGap) + kGap;
  const int height = static_cast<int>(g.rows) * (cell_h + kGap) + kGap;
  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
  LS_CHECK(cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS, "cairo_image_surface_create " << width << "x" << height);
  cairo_surface_flush(surface);
  unsigned char* base = cairo_image_surface_get_data(surface);
  const int stride = cairo_image_surface_get_stride(surface);
  for (int y = 0; y < height; ++y) {
    uint32_t* row = reinterpret_cast<uint32_t*>(base + static_cast<size_t>(y) * stride);
    for (int x = 0; x < width; ++x) row[x] = x < label_w ? 0xFFFFFFu : 0x808080u;
  }
  const int64_t plane = g.height * g.width, item = g.channels * plane;
  for (int64_t r = 0; r < g.rows; ++r) {
    for (int64_t c = 0; c < g.cols; ++c) {
      const int64_t idx = g.cells[static_cast<size_t>(r * g.cols + c)];
      if (idx < 0) continue;
      const float* img = g.pixels + idx * item;
      const int x0 = label_w + kGap + static_cast<int>(c) * (cell_w + kGap), y0 = kGap + static_cast<int>(r) * (cell_h + kGap);
      for (int64_t py = 0; py < g.height; ++py) {
        for (int64_t px = 0; px < g.width; ++px) {
          const int64_t at = py * g.width + px;
          uint32_t rgb;
          if (g.channels == 3) {
            rgb = (uint32_t{to_byte(img[at])} << 16) | (uint32_t{to_byte(img[plane + at])} << 8) | to_byte(img[2 * plane + at]);
          } else {
            const uint32_t v = to_byte(img[at]);
            rgb = (v << 16) | (v << 8) | v;
          }
          for (int sy = 0; sy < g.scale; ++sy) {
            uint32_t* row = reinterpret_cast<uint32_t*>(base + static_cast<size_t>(y0 + py * g.scale + sy) * stride);
            for (int sx = 0; sx < g.scale; ++sx) row[x0 + px * g.scale + sx] = rgb;
          }
        }
      }
    }
  }
  cairo_surface_mark_dirty(surface);
  if (!g.row_labels.empty()) {
    cairo_t* cr = cairo_create(surface);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_font_size(cr, kLabelFont);
    for (int64_t r = 0; r < g.rows; ++r) {
      cairo_move_to(cr, 5, kGap + static_cast<double>(r) * (cell_h + kGap) + cell_h / 2.0 + kLabelFont / 2.0 - 2);
      cairo_show_text(cr, g.row_labels[static_cast<size_t>(r)].c_str());
    }
    cairo_destroy(cr);
  }
  write_surface_png(path, surface);  // and destroys it
}

}  // namespace lockstep
