#include "common/io/jsonl.h"

#include <cmath>

#include "common/util/error.h"

namespace lockstep {

std::string json_quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

namespace {
std::string number_text(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.7g", v);
  return buf;
}
}  // namespace

JsonObject& JsonObject::set(const std::string& key, double v) {
  fields_.emplace_back(key, number_text(v));
  return *this;
}
JsonObject& JsonObject::set(const std::string& key, int64_t v) {
  fields_.emplace_back(key, std::to_string(v));
  return *this;
}
JsonObject& JsonObject::set(const std::string& key, uint64_t v) {
  fields_.emplace_back(key, std::to_string(v));
  return *this;
}
JsonObject& JsonObject::set(const std::string& key, const std::string& v) {
  fields_.emplace_back(key, json_quote(v));
  return *this;
}

JsonObject& JsonObject::set(const std::string& key, const std::vector<double>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + number_text(v[i]);
  fields_.emplace_back(key, out + "]");
  return *this;
}

JsonObject& JsonObject::set(const std::string& key, const std::vector<JsonObject>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i].dump();
  fields_.emplace_back(key, out + "]");
  return *this;
}

std::string JsonObject::dump() const {
  std::string out = "{";
  for (size_t i = 0; i < fields_.size(); ++i) {
    out += (i ? ", " : "") + json_quote(fields_[i].first) + ": " + fields_[i].second;
  }
  return out + "}";
}

JsonlWriter::JsonlWriter(const std::string& path) : path_(path), f_(std::fopen(path.c_str(), "a")) {
  LS_CHECK_INPUT(f_ != nullptr, path << ": cannot open for appending");
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
