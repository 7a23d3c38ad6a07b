// `lockstep data pack SRC... --out FILE [options]` and `lockstep data info FILE [--verify]`: packed data sets
// (common/data/packer.h, common/data/packed_file.h).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <string>

#include "common/data/packed_file.h"
#include "common/data/packer.h"
#include "common/util/clock_text.h"
#include "common/util/error.h"
#include "common/util/memory.h"
#include "common/util/strings.h"
#include "launch/commands.h"

namespace lockstep {
namespace {

// A progress line on stderr at most 4 times a second: done/total, rate, elapsed, ETA (redrawn on a terminal).
class ProgressLine {
 public:
  explicit ProgressLine(std::string what) : what_(std::move(what)), tty_(::isatty(STDERR_FILENO) == 1) {}
  void operator()(uint64_t done, uint64_t total) {
    const auto now = std::chrono::steady_clock::now();
    const double secs = std::chrono::duration<double>(now - start_).count();
    if (done < total && std::chrono::duration<double>(now - last_).count() < (tty_ ? 0.25 : 5.0)) return;
    last_ = now;
    const double rate = static_cast<double>(done) / std::max(secs, 1e-9);
    std::fprintf(stderr, "%s%s %llu/%llu  %.0f/s  elapsed %s  eta %s%s", tty_ ? "\r\033[K" : "", what_.c_str(), static_cast<unsigned long long>(done),
                 static_cast<unsigned long long>(total), rate, clock_text(secs).c_str(), clock_text(static_cast<double>(total - done) / std::max(rate, 1e-9)).c_str(),
                 tty_ && done < total ? "" : "\n");
    std::fflush(stderr);
  }

 private:
  std::string what_;
  bool tty_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now(), last_ = start_;
};

}  // namespace

int cmd_data_pack(const PackOptions& opts) {
  ProgressLine line("pack: images");
  const PackResult r = pack_dataset(opts, std::ref(line));
  std::fprintf(stderr, "packed %llu images of %u x %u x %u (%s) in %.2f s, %s\n", static_cast<unsigned long long>(r.items), r.channels, r.height,
               r.width, r.classes > 0 ? (std::to_string(r.classes) + (r.classes == 1 ? " class" : " classes")).c_str() : "unlabelled", r.seconds,
               bytes_text(r.items * r.channels * r.height * r.width).c_str());
  if (r.skipped > 0) {
    std::fprintf(stderr, "  skipped %llu damaged image%s (--skip-bad): %s%s\n", static_cast<unsigned long long>(r.skipped), r.skipped == 1 ? "" : "s",
                 join(r.skipped_files).c_str(), r.skipped > r.skipped_files.size() ? ", ..." : "");
  }
  if (r.ignored_files > 0) {
    std::fprintf(stderr, "  ignored %llu file%s that %s not images\n", static_cast<unsigned long long>(r.ignored_files), r.ignored_files == 1 ? "" : "s",
                 r.ignored_files == 1 ? "is" : "are");
  }
  if (!r.ignored_folders.empty()) {
    std::fprintf(stderr, "  ignored %zu empty class folder%s: %s\n", r.ignored_folders.size(), r.ignored_folders.size() == 1 ? "" : "s",
                 join(r.ignored_folders).c_str());
  }
  std::printf("packed: %s\n", opts.out.c_str());
  return kExitOk;
}

int cmd_data_info(const std::string& path, bool verify) {
  const PackedFile f(path);
  const PackedHeader& h = f.header();
  std::printf("%s\n", path.c_str());
  std::printf("  items     : %llu of %u x %u x %u (%s, channels first, uint8), %s\n", static_cast<unsigned long long>(h.count()), h.channels(), h.height(),
              h.width(), h.channel_order().c_str(), bytes_text(h.count() * f.item_size()).c_str());
  if (f.labelled()) {
    std::map<uint32_t, uint64_t> counts;
    for (uint32_t y : h.labels()) ++counts[y];
    std::printf("  classes   : %d\n", std::max(h.class_names_size(), static_cast<int>(counts.size())));
    for (const auto& [k, n] : counts) {
      const std::string name = static_cast<int>(k) < h.class_names_size() ? h.class_names(static_cast<int>(k)) : std::to_string(k);
      std::printf("    %5u %-24s %llu\n", k, name.c_str(), static_cast<unsigned long long>(n));
    }
  } else {
    std::printf("  classes   : none (unlabelled)\n");
  }
  std::printf("  source    : %s\n", h.source().c_str());
  if (h.skipped() > 0) std::printf("  skipped   : %llu damaged images when packed\n", static_cast<unsigned long long>(h.skipped()));
  std::printf("  chunks    : %d of up to %llu items, each with a CRC-32\n", h.chunk_crc32_size(), static_cast<unsigned long long>(h.chunk_items()));
  std::printf("  written by: lockstep %s\n", h.lockstep_version().c_str());
  if (verify) {
    ProgressLine line("verify: chunks");
    f.verify_all(std::ref(line));
    std::printf("  verified  : every chunk's CRC-32 matches\n");
  }
  return kExitOk;
}

}  // namespace lockstep
