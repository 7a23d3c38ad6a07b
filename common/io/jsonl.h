// JSON Lines output (metrics.jsonl): one JSON object per line (flat, or with arrays), flushed at once.
//
// Contract: keys keep insertion order; doubles print with 7 significant digits; NaN and infinities print as
// null (JSON has neither). Writers append; a crash loses at most the line being written. No torch.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace lockstep {

class JsonObject {
 public:
  JsonObject& set(const std::string& key, double v);
  JsonObject& set(const std::string& key, int64_t v);
  JsonObject& set(const std::string& key, uint64_t v);
  JsonObject& set(const std::string& key, const std::string& v);
  JsonObject& set(const std::string& key, const std::vector<double>& v);
  JsonObject& set(const std::string& key, const std::vector<JsonObject>& v);  // an array of objects (reports)
  std::string dump() const;

 private:
  std::vector<std::pair<std::string, std::string>> fields_;  // key, encoded value
};

std::string json_quote(const std::string& s);

class JsonlWriter {
 public:
  explicit JsonlWriter(const std::string& path);  // appends
  ~JsonlWriter();
  JsonlWriter(const JsonlWriter&) = delete;
  JsonlWriter& operator=(const JsonlWriter&) = delete;
  void write(const JsonObject& obj);

 private:
  std::string path_;
  std::FILE* f_ = nullptr;
};

}  // namespace lockstep
