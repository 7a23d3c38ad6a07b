#include "coordinator/run_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/comm/on_root.h"
#include "common/util/error.h"
#include "common/util/fs.h"
#include "common/util/strings.h"

namespace lockstep {
namespace {

namespace fs = std::filesystem;

// The files of a run: a directory that holds one of them holds a run.
const char* const kRunFiles[] = {"metrics.jsonl", "config.textproto", "run_id", "checkpoints", "samples.npy", "data.npy", "samples.png", "trace.json"};

// A directory that is ours: a real directory (not a link), owned by this user, not writable by every user.
void check_own_dir(const std::string& dir, const std::string& what) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return;  // it will be made
  LS_CHECK_INPUT(!S_ISLNK(st.st_mode), clip(dir, 300) << ": " << what << " is a symbolic link; give the directory itself");
  LS_CHECK_INPUT(S_ISDIR(st.st_mode), clip(dir, 300) << ": " << what << " exists and is not a directory");
  LS_CHECK_INPUT(st.st_uid == ::geteuid(), clip(dir, 300) << ": " << what << " belongs to another user (uid " << st.st_uid
                                                          << "); files there could be links planted to redirect Lockstep's writes; use a directory of your own");
  LS_CHECK_INPUT((st.st_mode & S_IWOTH) == 0, clip(dir, 300) << ": " << what << " can be written by every user; files there could be links "
                                                                "planted to redirect Lockstep's writes (chmod o-w, or use another directory)");
}

std::string read_run_id(const std::string& run_dir) {
  const std::string path = run_dir + "/run_id";
  if (!exists_nofollow(path)) return "";
  LS_CHECK_INPUT(!is_symlink(path), clip(path, 300) << ": is a symbolic link");
  std::string id = read_file(path);
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
  return id;
}

}  // namespace

void cut_metrics(const std::string& path, uint64_t tick) {
  if (!exists_nofollow(path)) return;
  LS_CHECK_INPUT(!is_symlink(path), clip(path, 300) << ": is a symbolic link; Lockstep rewrites its own metrics only");
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

void check_run_dir(Comm& comm, const std::string& run_dir, const ResumeInfo* resume) {
  on_root(comm, [&] {
    check_own_dir(run_dir, "the run directory");
    if (!resume) {
      for (const char* name : kRunFiles) {
        LS_CHECK_INPUT(!exists_nofollow(run_dir + "/" + name),
                       clip(run_dir, 300) << ": already holds files of a run (" << name << "); choose another --out, or continue that run with --resume "
                                          << clip(run_dir, 300) << "; nothing was changed");
      }
      return;
    }
    const fs::path ckpt(resume->checkpoint);
    LS_CHECK_INPUT(ckpt.parent_path().filename() == "checkpoints",
                   "--resume " << clip(resume->checkpoint, 300) << ": not in the checkpoints/ folder of a run directory; resume a run by its "
                                  "directory (or a checkpoint in its checkpoints/), or copy the whole run directory first");
    LS_CHECK_INPUT(exists_nofollow(run_dir + "/config.textproto") && !is_symlink(run_dir + "/config.textproto"),
                   clip(run_dir, 300) << ": holds no run (config.textproto); nothing was changed");
    check_own_dir(run_dir + "/checkpoints", "its checkpoints folder");
    const std::string dir_id = read_run_id(run_dir);
    LS_CHECK_INPUT(dir_id == resume->run_id,
                   "--resume " << clip(resume->checkpoint, 300) << ": the checkpoint belongs to run "
                               << (resume->run_id.empty() ? std::string("(none: written before run ids)") : resume->run_id) << ", the run directory "
                               << clip(run_dir, 300) << " to run " << (dir_id.empty() ? std::string("(none: made before run ids)") : clip(dir_id, 64))
                               << "; a checkpoint continues only its own run; nothing was changed");
  });
}

std::string run_identity(Comm& comm, const std::string& run_dir, const ResumeInfo* resume) {
  std::string id;
  if (comm.rank() == 0) id = resume && !resume->run_id.empty() ? resume->run_id : random_hex(16);
  comm.broadcast(&id, 0);
  return id;
}

void prepare_run_dir(Comm& comm, const std::string& run_dir, const std::string& config_text, const std::string& run_id,
                     const ResumeInfo* resume) {
  on_root(comm, [&] {
    make_dirs(run_dir);
    check_own_dir(run_dir, "the run directory");  // again, now that it exists
    if (read_run_id(run_dir).empty()) write_file_atomic(run_dir + "/run_id", run_id + "\n");
    if (resume) cut_metrics(run_dir + "/metrics.jsonl", resume->tick);
    write_file_atomic(run_dir + "/config.textproto", config_text);
  });
}

}  // namespace lockstep
