#include "common/plot/png_out.h"

#include <cairo.h>

#include "common/util/error.h"
#include "common/util/fs.h"

namespace lockstep {
namespace {

cairo_status_t append_to_string(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

}  // namespace

void write_surface_png(const std::string& path, _cairo_surface* surface) {
  std::string png;
  const cairo_status_t status = cairo_surface_write_to_png_stream(surface, append_to_string, &png);
  cairo_surface_destroy(surface);
  LS_CHECK(status == CAIRO_STATUS_SUCCESS, "cairo_surface_write_to_png_stream: " << cairo_status_to_string(status));
  write_file_atomic(path, png);
}

}  // namespace lockstep
