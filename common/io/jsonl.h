// JSON Lines output (metrics.jsonl, evaluation reports): one JSON object per line (flat, or with arrays), flushed at
// once. Built on the nlohmann JSON library, which escapes strings and prints numbers.
//
// Contract: keys keep insertion order; doubles are rounded to 7 significant digits; NaN and infinities print as
// null (JSON has neither); separators are ", " and ": " ({"tick": 10, "loss": 0.25}). Writers append; a crash loses
// at most the line being written (a torn last line, which readers skip). No torch.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace lockstep {

class JsonObject {
 public:
  JsonObject();
  ~JsonObject();
  JsonObject(const JsonObject& other);
  JsonObject& operator=(const JsonObject& other);
  JsonObject& set(const std::string& key, double v);
  JsonObject& set(const std::string& key, int64_t v);
  JsonObject& set(const std::string& key, uint64_t v);
  JsonObject& set(const std::string& key, const std::string& v);
  JsonObject& set(const std::string& key, const std::vector<double>& v);
  JsonObject& set(const std::string& key, const std::vector<JsonObject>& v);  // an array of objects (reports)
  std::string dump() const;
  const nlohmann::ordered_json& json() const { return *json_; }

 private:
  std::unique_ptr<nlohmann::ordered_json> json_;
};

// A JSON string literal of s, escaped.
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
