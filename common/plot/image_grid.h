// PNG grids of images (cairo), one image per cell, an optional label at the left of every row.
//
// Contract: pixels are float32 images [C, H, W] in [-1, 1] (values outside are clipped); one channel is drawn
// grey, three as RGB, any other count shows its first channel. cells[r * cols + c] is the index of the image of
// row r, column c, or -1 for an empty cell. Each pixel becomes a scale x scale square. Written atomically. No torch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lockstep {

struct ImageGrid {
  const float* pixels = nullptr;  // n images, channels * height * width numbers each
  int64_t n = 0, channels = 1, height = 0, width = 0;
  int64_t rows = 0, cols = 0;
  std::vector<int64_t> cells;
  std::vector<std::string> row_labels;  // empty, or one per row
  int scale = 2;
};

void write_image_grid_png(const std::string& path, const ImageGrid& g);

// The layout of `n` samples where sample i has class i mod num_classes (num_classes > 0): one row per class,
// at most max_cols columns; otherwise (num_classes == 0) a near-square grid of at most max_cols columns.
void grid_layout(int64_t n, int64_t num_classes, int64_t max_cols, ImageGrid* g);

}  // namespace lockstep
