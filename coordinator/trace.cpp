#include "coordinator/trace.h"

#include <cstdio>

#include "common/io/jsonl.h"
#include "common/util/fs.h"

namespace lockstep {

void Trace::add(uint64_t tick, const std::vector<Timings>& per_rank) {
  ranks_ = std::max(ranks_, static_cast<int>(per_rank.size()));
  for (size_t r = 0; r < per_rank.size(); ++r) {
    const Timings& t = per_rank[r];
    double at = t.start_unix_s() * 1e6;
    const std::pair<const char*, double> phases[] = {
        {"data", t.data()}, {"forward", t.forward()}, {"backward", t.backward()}, {"comm", t.comm()}, {"optimizer", t.optimizer()}};
    for (const auto& [name, seconds] : phases) {
      char buf[256];
      std::snprintf(buf, sizeof buf,
                    "{\"name\": \"%s\", \"cat\": \"tick\", \"ph\": \"X\", \"ts\": %.1f, \"dur\": %.1f, \"pid\": 0, "
                    "\"tid\": %zu, \"args\": {\"tick\": %llu}}",
                    name, at, seconds * 1e6, r, static_cast<unsigned long long>(tick));
      events_.push_back(buf);
      at += seconds * 1e6;
    }
  }
}

void Trace::write(const std::string& path) const {
  std::string out = "{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n";
  out += "{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": 0, \"args\": {\"name\": \"lockstep\"}}";
  for (int r = 0; r < ranks_; ++r) {
    out += ",\n{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 0, \"tid\": " + std::to_string(r) +
           ", \"args\": {\"name\": " + json_quote("rank " + std::to_string(r)) + "}}";
  }
  for (const std::string& e : events_) out += ",\n" + e;
  out += "\n]}\n";
  write_file_atomic(path, out);
}

}  // namespace lockstep
