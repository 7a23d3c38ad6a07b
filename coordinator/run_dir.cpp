#include "coordinator/run_dir.h"

#include <nlohmann/json.hpp>

#include <sstream>

#include "common/util/error.h"
#include "common/util/fs.h"

namespace lockstep {

void cut_metrics(const std::string& path, uint64_t tick) {
  if (!is_file(path)) return;
  std::istringstream in(read_file(path));
  std::string kept;
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json o = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (o.is_discarded()) continue;  // a line torn by a crash
    if (o.is_object() && o.contains("tick") && o["tick"].is_number_unsigned() && o["tick"].get<uint64_t>() > tick) continue;
    kept += line + "\n";
  }
  write_file_atomic(path, kept);
}

void prepare_run_dir(Comm& comm, const std::string& run_dir, const std::string& config_text, const uint64_t* resume_tick) {
  std::string error;
  if (comm.rank() == 0) {
    try {
      if (resume_tick) {
        cut_metrics(run_dir + "/metrics.jsonl", *resume_tick);
      } else {
        LS_CHECK_INPUT(!is_file(run_dir + "/metrics.jsonl"), run_dir << ": already holds a run (metrics.jsonl); choose another --out, or continue it "
                                                                        "with --resume " << run_dir << "; nothing was overwritten");
      }
      make_dirs(run_dir);
      write_file_atomic(run_dir + "/config.textproto", config_text);
    } catch (const BadInput& e) {
      error = e.what();
    }
  }
  comm.broadcast(&error, 0);
  if (!error.empty()) throw BadInput(error);
}

}  // namespace lockstep
