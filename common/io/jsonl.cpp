#include "common/io/jsonl.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>

#include "common/util/error.h"
#include "common/util/fs.h"

namespace lockstep {
namespace {

using Json = nlohmann::ordered_json;

// 7 significant digits (whole numbers without a fraction, as "%.7g" prints them), and JSON's null for what it
// cannot hold
Json number(double v) {
  if (!std::isfinite(v)) return nullptr;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.7g", v);
  const double rounded = std::strtod(buf, nullptr);
  if (rounded == std::trunc(rounded) && std::fabs(rounded) < 1e7) return static_cast<int64_t>(rounded);
  return rounded;
}

// The library's escaping and numbers, with ", " and ": " between items (its compact form has no spaces).
void dump_to(const Json& j, std::string* out) {
  if (j.is_object()) {
    *out += '{';
    bool first = true;
    for (const auto& [key, value] : j.items()) {
      *out += first ? "" : ", ";
      first = false;
      *out += Json(key).dump() + ": ";
      dump_to(value, out);
    }
    *out += '}';
  } else if (j.is_array()) {
    *out += '[';
    for (size_t i = 0; i < j.size(); ++i) {
      *out += i ? ", " : "";
      dump_to(j[i], out);
    }
    *out += ']';
  } else {
    *out += j.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
}

}  // namespace

std::string json_quote(const std::string& s) { return Json(s).dump(-1, ' ', false, Json::error_handler_t::replace); }

JsonObject::JsonObject() : json_(std::make_unique<Json>(Json::object())) {}
JsonObject::~JsonObject() = default;
JsonObject::JsonObject(const JsonObject& other) : json_(std::make_unique<Json>(*other.json_)) {}
JsonObject& JsonObject::operator=(const JsonObject& other) {
  *json_ = *other.json_;
  return *this;
}

JsonObject& JsonObject::set(const std::string& key, double v) {
  (*json_)[key] = number(v);
  return *this;
}
JsonObject& JsonObject::set(const std::string& key, int64_t v) {
  (*json_)[key] = v;
  return *this;
}
JsonObject& JsonObject::set(const std::string& key, uint64_t v) {
  (*json_)[key] = v;
  return *this;
}
JsonObject& JsonObject::set(const std::string& key, const std::string& v) {
  (*json_)[key] = v;
  return *this;
}
JsonObject& JsonObject::set(const std::string& key, const std::vector<double>& v) {
  Json a = Json::array();
  for (double x : v) a.push_back(number(x));
  (*json_)[key] = std::move(a);
  return *this;
}
JsonObject& JsonObject::set(const std::string& key, const std::vector<JsonObject>& v) {
  Json a = Json::array();
  for (const JsonObject& o : v) a.push_back(*o.json_);
  (*json_)[key] = std::move(a);
  return *this;
}

std::string JsonObject::dump() const {
  std::string out;
  dump_to(*json_, &out);
  return out;
}

JsonlWriter::JsonlWriter(const std::string& path) : path_(path) {
  const int fd = open_append_nofollow(path);
  f_ = ::fdopen(fd, "a");
  if (f_ == nullptr) ::close(fd);
  LS_CHECK(f_ != nullptr, "fdopen " << path);
}

JsonlWriter::~JsonlWriter() {
  if (f_) std::fclose(f_);
}

void JsonlWriter::write(const JsonObject& obj) {
  const std::string line = obj.dump() + "\n";
  LS_CHECK(std::fwrite(line.data(), 1, line.size(), f_) == line.size(), "writing " << path_);
  LS_CHECK(std::fflush(f_) == 0, "flushing " << path_);
}

}  // namespace lockstep
