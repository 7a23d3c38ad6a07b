// Image files: decoding PNG, JPEG and WebP into 8-bit pixels, resizing, cropping, and encoding PNG (and JPEG, for
// tests). Built on Debian's stb (libstb-dev: PNG, JPEG; the encoders) and libwebp (WebP, when found at build time).
// No torch.
//
// Contract:
// - decode_image() takes a file's bytes and returns 8-bit pixels, rows top to bottom, channels interleaved (HWC):
//   1 channel (grey) or 3 (RGB), converted to `channels` by these rules, which are PIL's convert("L") and
//   convert("RGB"): grey becomes RGB by copying it to R, G and B; RGB becomes grey as L = (19595 R + 38470 G +
//   7471 B + 2^15) >> 16; an alpha channel is dropped (not composited); 16-bit samples become 8-bit as
//   round(v / 257); palettes are expanded. Throws BadInput naming `origin` for a file that is not a PNG, JPEG or
//   WebP (by its magic number), is damaged or truncated, or claims more than kMaxImagePixels pixels.
// - resize_image() resamples to width x height with a separable triangle filter widened by the scale factor when
//   shrinking (PIL's antialiased bilinear), in float with a fixed order of operations: the same bytes on every
//   machine and thread count. center_crop() cuts the centred rectangle.
// - encode_png() writes 8-bit grey or RGB; encode_jpeg() RGB or grey at a quality (tests make their folders).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lockstep {

constexpr uint64_t kMaxImagePixels = uint64_t{1} << 26;  // 8192 x 8192

struct Image {
  int width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;  // HWC
};

// "png", "jpeg", "webp", or "" when the bytes start with none of their magic numbers.
std::string image_kind(const std::string& bytes);
bool webp_supported();
Image decode_image(const std::string& bytes, int channels, const std::string& origin);
// Interleaved pixels of `from` channels (1 grey, 2 grey + alpha, 3 RGB, 4 RGBA) to `to` channels (1 or 3), by the
// rules above.
std::vector<uint8_t> convert_channels(const uint8_t* p, size_t pixels, int from, int to);
Image resize_image(const Image& in, int width, int height);
Image center_crop(const Image& in, int width, int height);
std::string encode_png(const Image& image);
std::string encode_jpeg(const Image& image, int quality);

}  // namespace lockstep
