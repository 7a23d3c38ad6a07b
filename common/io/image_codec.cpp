#include "common/io/image_codec.h"

#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#if LOCKSTEP_HAVE_WEBP
#include <webp/decode.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/util/error.h"

namespace lockstep {
namespace {

void append_bytes(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<size_t>(size));
}

// PIL's antialiased bilinear: a triangle filter, widened by the scale factor when shrinking. For each output
// position, the first input index and the normalized weights.
struct Taps {
  std::vector<int> first;
  std::vector<std::vector<double>> weights;
};

Taps taps(int in, int out) {
  Taps t;
  const double scale = static_cast<double>(in) / out, widen = std::max(scale, 1.0), support = widen;
  for (int x = 0; x < out; ++x) {
    const double center = (x + 0.5) * scale;
    const int lo = std::max(0, static_cast<int>(std::floor(center - support))), hi = std::min(in, static_cast<int>(std::ceil(center + support)));
    std::vector<double> w;
    double total = 0;
    for (int i = lo; i < hi; ++i) {
      const double v = std::max(0.0, 1.0 - std::fabs((i + 0.5 - center) / widen));
      w.push_back(v);
      total += v;
    }
    if (total <= 0) {  // cannot happen for in, out >= 1; kept for safety
      w.assign(1, 1.0);
      t.first.push_back(std::min(in - 1, std::max(0, static_cast<int>(center))));
    } else {
      for (double& v : w) v /= total;
      t.first.push_back(lo);
    }
    t.weights.push_back(std::move(w));
  }
  return t;
}

}  // namespace

std::vector<uint8_t> convert_channels(const uint8_t* p, size_t pixels, int from, int to) {
  std::vector<uint8_t> out(pixels * static_cast<size_t>(to));
  for (size_t i = 0; i < pixels; ++i) {
    const uint8_t* s = p + i * static_cast<size_t>(from);
    uint8_t* d = out.data() + i * static_cast<size_t>(to);
    if (from <= 2) {  // grey (alpha dropped)
      for (int c = 0; c < to; ++c) d[c] = s[0];
    } else if (to == 3) {  // RGB (alpha dropped)
      d[0] = s[0], d[1] = s[1], d[2] = s[2];
    } else {  // PIL's ITU-R 601-2 luma, in integers
      d[0] = static_cast<uint8_t>((19595u * s[0] + 38470u * s[1] + 7471u * s[2] + 0x8000u) >> 16);
    }
  }
  return out;
}

std::string image_kind(const std::string& b) {
  if (b.size() >= 8 && b.compare(0, 8, "\x89PNG\r\n\x1a\n", 8) == 0) return "png";
  if (b.size() >= 3 && static_cast<unsigned char>(b[0]) == 0xff && static_cast<unsigned char>(b[1]) == 0xd8 &&
      static_cast<unsigned char>(b[2]) == 0xff)
    return "jpeg";
  if (b.size() >= 12 && b.compare(0, 4, "RIFF") == 0 && b.compare(8, 4, "WEBP") == 0) return "webp";
  return "";
}

bool webp_supported() {
#if LOCKSTEP_HAVE_WEBP
  return true;
#else
  return false;
#endif
}

Image decode_image(const std::string& bytes, int channels, const std::string& origin) {
  LS_CHECK(channels == 1 || channels == 3, "decode_image: channels " << channels);
  const std::string kind = image_kind(bytes);
  LS_CHECK_INPUT(!kind.empty(), origin << ": not a PNG, JPEG or WebP image");
  LS_CHECK_INPUT(bytes.size() < (uint64_t{1} << 31), origin << ": an image file of more than 2 GB");
  Image out;
  out.channels = channels;
  if (kind == "webp") {
#if LOCKSTEP_HAVE_WEBP
    const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
    int w = 0, h = 0;
    LS_CHECK_INPUT(WebPGetInfo(data, bytes.size(), &w, &h) != 0, origin << ": damaged WebP image");
    LS_CHECK_INPUT(w > 0 && h > 0 && static_cast<uint64_t>(w) * static_cast<uint64_t>(h) <= kMaxImagePixels,
                   origin << ": a WebP image of " << w << " x " << h << " pixels (at most " << kMaxImagePixels << ")");
    uint8_t* rgba = WebPDecodeRGBA(data, bytes.size(), &w, &h);
    LS_CHECK_INPUT(rgba != nullptr, origin << ": damaged WebP image");
    out.width = w;
    out.height = h;
    out.pixels = convert_channels(rgba, static_cast<size_t>(w) * static_cast<size_t>(h), 4, channels);
    WebPFree(rgba);
    return out;
#else
    throw BadInput(origin + ": a WebP image, but this build has no libwebp (apt-get install libwebp-dev, then rebuild)");
#endif
  }
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int len = static_cast<int>(bytes.size());
  int w = 0, h = 0, c = 0;
  LS_CHECK_INPUT(stbi_info_from_memory(data, len, &w, &h, &c) != 0,
                 origin << ": damaged " << kind << " image (" << (stbi_failure_reason() ? stbi_failure_reason() : "unreadable header") << ")");
  LS_CHECK_INPUT(w > 0 && h > 0 && static_cast<uint64_t>(w) * static_cast<uint64_t>(h) <= kMaxImagePixels,
                 origin << ": an image of " << w << " x " << h << " pixels (at most " << kMaxImagePixels << ")");
  const size_t pixels = static_cast<size_t>(w) * static_cast<size_t>(h);
  if (stbi_is_16_bit_from_memory(data, len)) {  // 16-bit samples to 8 bits: round(v / 257)
    int c16 = 0;
    stbi_us* p = stbi_load_16_from_memory(data, len, &w, &h, &c16, 0);
    LS_CHECK_INPUT(p != nullptr, origin << ": damaged or truncated " << kind << " image (" << (stbi_failure_reason() ? stbi_failure_reason() : "?") << ")");
    std::vector<uint8_t> eight(pixels * static_cast<size_t>(c16));
    for (size_t i = 0; i < eight.size(); ++i) eight[i] = static_cast<uint8_t>((p[i] + 128u) / 257u);
    stbi_image_free(p);
    out.width = w;
    out.height = h;
    out.pixels = convert_channels(eight.data(), pixels, c16, channels);
    return out;
  }
  int c8 = 0;
  stbi_uc* p = stbi_load_from_memory(data, len, &w, &h, &c8, 0);
  LS_CHECK_INPUT(p != nullptr, origin << ": damaged or truncated " << kind << " image (" << (stbi_failure_reason() ? stbi_failure_reason() : "?") << ")");
  out.width = w;
  out.height = h;
  out.pixels = convert_channels(p, pixels, c8, channels);
  stbi_image_free(p);
  return out;
}

Image resize_image(const Image& in, int width, int height) {
  LS_CHECK(width > 0 && height > 0 && in.width > 0 && in.height > 0, "resize_image: sizes");
  if (width == in.width && height == in.height) return in;
  const int c = in.channels;
  const Taps tx = taps(in.width, width), ty = taps(in.height, height);
  // horizontal pass: in.height rows of `width` pixels, in double
  std::vector<double> mid(static_cast<size_t>(in.height) * static_cast<size_t>(width) * static_cast<size_t>(c));
  for (int y = 0; y < in.height; ++y) {
    const uint8_t* row = in.pixels.data() + static_cast<size_t>(y) * static_cast<size_t>(in.width) * static_cast<size_t>(c);
    for (int x = 0; x < width; ++x) {
      for (int k = 0; k < c; ++k) {
        double v = 0;
        for (size_t i = 0; i < tx.weights[x].size(); ++i) v += tx.weights[x][i] * row[(static_cast<size_t>(tx.first[x]) + i) * static_cast<size_t>(c) + static_cast<size_t>(k)];
        mid[(static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x)) * static_cast<size_t>(c) + static_cast<size_t>(k)] = v;
      }
    }
  }
  Image out;
  out.width = width;
  out.height = height;
  out.channels = c;
  out.pixels.resize(static_cast<size_t>(width) * static_cast<size_t>(height) * static_cast<size_t>(c));
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int k = 0; k < c; ++k) {
        double v = 0;
        for (size_t i = 0; i < ty.weights[y].size(); ++i) {
          v += ty.weights[y][i] * mid[((static_cast<size_t>(ty.first[y]) + i) * static_cast<size_t>(width) + static_cast<size_t>(x)) * static_cast<size_t>(c) +
                                      static_cast<size_t>(k)];
        }
        out.pixels[(static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x)) * static_cast<size_t>(c) + static_cast<size_t>(k)] =
            static_cast<uint8_t>(std::min(255.0, std::max(0.0, std::floor(v + 0.5))));
      }
    }
  }
  return out;
}

Image center_crop(const Image& in, int width, int height) {
  LS_CHECK(width <= in.width && height <= in.height, "center_crop: " << width << "x" << height << " of " << in.width << "x" << in.height);
  Image out;
  out.width = width;
  out.height = height;
  out.channels = in.channels;
  const int x0 = (in.width - width) / 2, y0 = (in.height - height) / 2;
  const size_t c = static_cast<size_t>(in.channels);
  out.pixels.resize(static_cast<size_t>(width) * static_cast<size_t>(height) * c);
  for (int y = 0; y < height; ++y) {
    std::memcpy(out.pixels.data() + static_cast<size_t>(y) * static_cast<size_t>(width) * c,
                in.pixels.data() + (static_cast<size_t>(y + y0) * static_cast<size_t>(in.width) + static_cast<size_t>(x0)) * c,
                static_cast<size_t>(width) * c);
  }
  return out;
}

std::string encode_png(const Image& image) {
  std::string out;
  LS_CHECK(stbi_write_png_to_func(append_bytes, &out, image.width, image.height, image.channels, image.pixels.data(),
                                  image.width * image.channels) != 0,
           "stbi_write_png_to_func");
  return out;
}

std::string encode_jpeg(const Image& image, int quality) {
  std::string out;
  LS_CHECK(stbi_write_jpg_to_func(append_bytes, &out, image.width, image.height, image.channels, image.pixels.data(), quality) != 0,
           "stbi_write_jpg_to_func");
  return out;
}

}  // namespace lockstep
