// Writing a cairo image surface to a PNG file, atomically (temporary file, fsync, rename).
//
// Contract: takes the surface over and destroys it, also when it throws: InternalError when cairo fails to
// encode, the errors of write_file_atomic on I/O failure.
// Keeps cairo out of the header.
#pragma once

#include <string>

struct _cairo_surface;

namespace lockstep {

void write_surface_png(const std::string& path, _cairo_surface* surface);

}  // namespace lockstep
