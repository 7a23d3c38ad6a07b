#include "coordinator/config_agreement.h"

#include <vector>

#include "common/config/config.h"
#include "common/config/config_diff.h"
#include "common/util/error.h"
#include "common/util/hash.h"

namespace lockstep {
namespace {

// Rank 0: what differs in rank r's config text from its own.
std::string difference(const std::string& mine, const std::string& theirs, int r) {
  const std::string who = "rank " + std::to_string(r);
  std::vector<FieldDiff> diffs;
  try {
    diffs = config_differences(parse_config_text(mine, "rank 0's config"), parse_config_text(theirs, who + "'s config"));
  } catch (const BadInput& e) {
    return who + "'s config does not parse on rank 0 (" + e.what() + ")";
  }
  if (diffs.empty()) return who + "'s config text differs from rank 0's in no field (another Lockstep version?)";
  const FieldDiff& d = diffs.front();
  return who + ": " + d.field + " is " + d.after + " (rank 0: " + d.before + ")" +
         (diffs.size() > 1 ? "; " + std::to_string(diffs.size() - 1) + " more field" + (diffs.size() > 2 ? "s differ" : " differs") : "");
}

}  // namespace

uint64_t config_hash(const std::string& config_text) { return hash_bytes(config_text.data(), config_text.size()); }

void check_config_agreement(Comm& comm, const Frame& first, const std::string& config_text) {
  const bool agrees = first.config_hash() == config_hash(config_text);
  const std::vector<std::string> texts = comm.gather(agrees ? std::string() : config_text, 0);
  std::string message;
  if (comm.rank() == 0) {
    std::string ranks;
    for (size_t r = 1; r < texts.size(); ++r) {
      if (texts[r].empty()) continue;
      ranks += "\n  " + difference(config_text, texts[r], static_cast<int>(r));
    }
    if (!ranks.empty()) {
      message = "the ranks of this job loaded different configs; every rank must run with the same config file and options "
                "(first differing field per rank):" + ranks;
    }
  }
  comm.broadcast(&message, 0);
  if (!message.empty()) throw BadInput(message);
}

}  // namespace lockstep
