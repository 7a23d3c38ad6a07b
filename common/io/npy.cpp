#include "common/io/npy.h"

#include <algorithm>
#include <cstring>

#include "common/util/error.h"
#include "common/util/fs.h"
#include "common/util/strings.h"

namespace lockstep {

std::string npy_header(const std::vector<int64_t>& shape) {
  std::string dims;
  for (int64_t s : shape) dims += std::to_string(s) + ",";
  if (shape.size() > 1) dims.pop_back();  // "(3,)" for one dimension, "(3,2)" otherwise
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  const size_t unpadded = 10 + header.size() + 1;  // magic(6) + version(2) + len(2) + header + '\n'
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  const uint16_t len = static_cast<uint16_t>(header.size());
  out += static_cast<char>(len & 0xff);
  out += static_cast<char>(len >> 8);
  return out + header;
}

std::string npy_bytes(const float* data, const std::vector<int64_t>& shape) {
  int64_t count = 1;
  for (int64_t s : shape) count *= s;
  std::string out = npy_header(shape);
  out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(count) * sizeof(float));
  return out;
}

void write_npy(const std::string& path, const float* data, const std::vector<int64_t>& shape) {
  write_file_atomic(path, npy_bytes(data, shape));
}

namespace {

constexpr size_t kMaxHeader = size_t{1} << 20;  // numpy writes a few hundred bytes; v2/v3 headers may claim 4 GB
constexpr size_t kMaxDims = 32;                 // numpy's own limit (NPY_MAXDIMS)

// The header dict, a Python literal: {'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }. A scanner, not a
// regular expression: linear in the header's length, whatever it holds.
class HeaderScanner {
 public:
  HeaderScanner(const std::string& text, const std::string& origin) : t_(text), origin_(origin) {}

  void parse(std::string* descr, bool* fortran, std::vector<int64_t>* shape) {
    bool have_descr = false, have_fortran = false, have_shape = false;
    expect('{');
    for (;;) {
      skip();
      if (peek() == '}') break;
      const std::string key = string_literal();
      skip();
      expect(':');
      skip();
      if (key == "descr") {
        *descr = string_literal();
        have_descr = true;
      } else if (key == "fortran_order") {
        *fortran = boolean();
        have_fortran = true;
      } else if (key == "shape") {
        *shape = tuple();
        have_shape = true;
      } else {
        fail("unknown header key '" + clip(key, 40) + "'");
      }
      skip();
      if (peek() == ',') ++at_;
      else if (peek() != '}') fail("expected ',' or '}' after the value of '" + key + "'");
    }
    LS_CHECK_INPUT(have_descr, origin_ << ": header has no 'descr'");
    LS_CHECK_INPUT(have_fortran, origin_ << ": header has no 'fortran_order'");
    LS_CHECK_INPUT(have_shape, origin_ << ": header has no 'shape'");
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw BadInput(origin_ + ": damaged header at byte " + std::to_string(at_) + ": " + what);
  }
  char peek() const { return at_ < t_.size() ? t_[at_] : '\0'; }
  void skip() {
    while (at_ < t_.size() && is_space(t_[at_])) ++at_;
  }
  void expect(char c) {
    skip();
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++at_;
  }
  std::string string_literal() {
    const char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted string");
    const size_t end = t_.find(q, at_ + 1);
    if (end == std::string::npos) fail("unterminated string");
    const std::string out = t_.substr(at_ + 1, end - at_ - 1);
    at_ = end + 1;
    return out;
  }
  bool boolean() {
    if (t_.compare(at_, 4, "True") == 0) return at_ += 4, true;
    if (t_.compare(at_, 5, "False") == 0) return at_ += 5, false;
    fail("expected True or False");
  }
  std::vector<int64_t> tuple() {
    expect('(');
    std::vector<int64_t> out;
    for (;;) {
      skip();
      if (peek() == ')') break;
      if (peek() == '-') fail("negative dimension in 'shape'");
      const size_t start = at_;
      while (at_ < t_.size() && t_[at_] >= '0' && t_[at_] <= '9') ++at_;
      uint64_t v = 0;
      if (!parse_decimal(t_.substr(start, at_ - start), &v) || v > (uint64_t{1} << 62)) fail("expected a dimension (an integer >= 0) in 'shape'");
      if (out.size() == kMaxDims) fail("more than " + std::to_string(kMaxDims) + " dimensions");
      out.push_back(static_cast<int64_t>(v));
      skip();
      if (peek() == ',') ++at_;
      else if (peek() != ')') fail("expected ',' or ')' in 'shape'");
    }
    ++at_;
    return out;
  }

  const std::string& t_;
  const std::string& origin_;
  size_t at_ = 0;
};

}  // namespace

NpyView parse_npy_view(const std::string& b, const std::string& origin) {
  LS_CHECK_INPUT(b.size() >= 10 && b.compare(0, 6, "\x93NUMPY") == 0, origin << ": not a .npy file (bad magic)");
  const int major = static_cast<unsigned char>(b[6]);
  size_t hlen, hstart;
  if (major == 1) {
    hlen = static_cast<unsigned char>(b[8]) | (static_cast<unsigned char>(b[9]) << 8);
    hstart = 10;
  } else {
    LS_CHECK_INPUT(major == 2 || major == 3, origin << ": unsupported .npy version " << major);
    LS_CHECK_INPUT(b.size() >= 12, origin << ": truncated header");
    hlen = 0;
    for (int i = 3; i >= 0; --i) hlen = (hlen << 8) | static_cast<unsigned char>(b[8 + i]);
    hstart = 12;
  }
  LS_CHECK_INPUT(hlen <= kMaxHeader, origin << ": the header claims " << hlen << " bytes, more than " << kMaxHeader << " (damaged file?)");
  LS_CHECK_INPUT(b.size() - hstart >= hlen, origin << ": truncated header");
  NpyView out;
  std::string descr;
  bool fortran = false;
  HeaderScanner(b.substr(hstart, hlen), origin).parse(&descr, &fortran, &out.shape);
  const std::vector<std::string> types = {"<f4", "<f8", "|u1", "<u1", "<i4", "<i8"};
  LS_CHECK_INPUT(std::find(types.begin(), types.end(), descr) != types.end(),
                 origin << ": unsupported dtype '" << clip(descr, 40) << "' (expected float32 '<f4', float64 '<f8', uint8 '|u1', int32 '<i4' or int64 '<i8')");
  LS_CHECK_INPUT(!fortran, origin << ": Fortran-ordered arrays are not supported; save with np.ascontiguousarray");
  const size_t elem = descr == "<f8" || descr == "<i8" ? 8 : descr == "<f4" || descr == "<i4" ? 4 : 1;
  const uint64_t body = b.size() - hstart - hlen;
  const bool empty = std::find(out.shape.begin(), out.shape.end(), 0) != out.shape.end();
  uint64_t count = empty ? 0 : 1;
  for (int64_t d : out.shape) {
    LS_CHECK_INPUT(empty || checked_mul(count, static_cast<uint64_t>(d), body / elem, &count),
                   origin << ": truncated data: the header's shape " << shape_text(out.shape) << " needs more than the file's " << body
                          << " bytes of data");
  }
  LS_CHECK_INPUT(count * elem == body, origin << ": " << (count * elem > body ? "truncated data: " : "trailing bytes: ") << b.size()
                                              << " bytes, the header's shape " << shape_text(out.shape) << " needs " << hstart + hlen + count * elem);
  out.dtype = descr == "<u1" ? "|u1" : descr;
  out.offset = hstart + hlen;
  out.count = count;
  return out;
}

NpyArray parse_npy(const std::string& b, const std::string& origin) {
  const NpyView view = parse_npy_view(b, origin);
  NpyArray out;
  out.shape = view.shape;
  const std::string descr = view.dtype;
  const size_t elem = descr == "<f8" || descr == "<i8" ? 8 : descr == "<f4" || descr == "<i4" ? 4 : 1;
  out.dtype = descr;
  out.data.resize(static_cast<size_t>(view.count));
  const char* src = b.data() + view.offset;
  const char kind = descr[1];  // 'f', 'i' or 'u'
  for (size_t i = 0; i < out.data.size(); ++i) {
    const char* p = src + elem * i;
    if (kind == 'f' && elem == 4) {
      std::memcpy(&out.data[i], p, 4);
    } else if (kind == 'f') {
      double v;
      std::memcpy(&v, p, 8);
      out.data[i] = static_cast<float>(v);
    } else if (kind == 'i' && elem == 4) {
      int32_t v;
      std::memcpy(&v, p, 4);
      out.data[i] = static_cast<float>(v);
    } else if (kind == 'i') {
      int64_t v;
      std::memcpy(&v, p, 8);
      out.data[i] = static_cast<float>(v);
    } else {
      out.data[i] = static_cast<float>(static_cast<unsigned char>(*p));
    }
  }
  return out;
}

NpyArray read_npy(const std::string& path) { return parse_npy(read_file(path), path); }

}  // namespace lockstep
