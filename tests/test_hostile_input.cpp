// Hostile and careless input through the binary, one test per class of failure: long input, the sealed checkpoint,
// refused resumes that must not change the run, checkpoints tied to their run, symbolic links and shared
// directories, arithmetic on untrusted shapes, non-finite values, signals during the final sampling, upper bounds,
// and outputs that must not be overwritten. Every refusal must exit 2 (4 or 75 where stated) with a message naming
// the file or field, and leave every run directory byte for byte as it was.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>

#include "common/checkpoint/checkpoint.h"
#include "common/io/npy.h"
#include "common/util/fs.h"
#include "tests/proc.h"

using namespace lockstep;
using namespace lockstep::test;
namespace fs = std::filesystem;

namespace {

const std::string kSmall = " --steps 12 --set model.mlp.width=32 --set train.batch_size=32 --set train.log_every=4 --set train.eval_every=0 "
                           "--set train.checkpoint_every=4 --set train.keep_last=0 --set sample.num=16 --set sample.steps=2 --set engine.threads=1";

// Every entry under `dir` (recursively, links not followed) with its bytes or link target.
std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
    const std::string rel = fs::relative(it->path(), dir).string();
    if (it->is_symlink()) out[rel] = "-> " + fs::read_symlink(it->path()).string();
    else if (it->is_regular_file()) out[rel] = read_file(it->path().string());
    else out[rel] = "(dir)";
  }
  return out;
}

void write_bytes(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

std::string small_run(const std::string& name) {
  const std::string run = temp_dir(name) + "/run";
  const ProcResult r = run_lockstep("train" + kSmall + " --out " + run);
  if (r.exit_code != 0) throw std::runtime_error("run failed:\n" + r.output);
  return run;
}

}  // namespace

TEST_CASE("long input never crashes: run names, config values, .npy headers, LOCKSTEP_FAULT", "[hostile]") {
  const std::string dir = temp_dir("hostile-long");
  const ProcResult name = run_lockstep("train --steps 1 --set name=" + std::string(30000, 'x') + " --out " + dir + "/a");
  CHECK(name.exit_code == 2);
  CHECK_THAT(name.output, Catch::Contains("field 'name'") && Catch::Contains("(30000 characters)"));
  write_bytes(dir + "/spaces.textproto", "optim { lr:" + std::string(100000, ' ') + "\"fast\" }\n");
  const ProcResult spaces = run_lockstep("train " + dir + "/spaces.textproto --out " + dir + "/b");
  CHECK(spaces.exit_code == 2);
  CHECK_THAT(spaces.output, Catch::Contains("spaces.textproto:1:") && Catch::Contains("field 'lr'"));
  std::vector<float> v(4, 1.0f);
  std::string npy = npy_bytes(v.data(), {2, 2});
  npy.replace(npy.find("'descr'"), 7, "'descr'" + std::string(50000, ' '));
  npy[8] = '\xff';  // the header length (version 1: two bytes) no longer matches: refused either way
  write_bytes(dir + "/long.npy", npy);
  const ProcResult header = run_lockstep("train --steps 1 --set data.name=npy --set data.images=" + dir + "/long.npy --out " + dir + "/c");
  CHECK(header.exit_code == 2);
  CHECK_THAT(header.output, Catch::Contains("long.npy"));
  const ProcResult fault = run_shell("LOCKSTEP_FAULT=" + std::string(30000, '9') + " " + LOCKSTEP_BIN + " train --steps 1 --out " + dir + "/d");
  CHECK(fault.exit_code == 2);
  CHECK_THAT(fault.output, Catch::Contains("LOCKSTEP_FAULT="));
}

TEST_CASE("the checkpoint is sealed: an edited config or tick, a crafted offset or shape, is refused naming the file", "[hostile]") {
  const std::string run = small_run("hostile-sealed");
  const std::string good = read_file(checkpoint_path(run, 12)), dir = temp_dir("hostile-sealed-files");
  std::string lr = good;  // the stored config's optim.lr: one digit
  const size_t at = lr.find("lr: 0.002");
  REQUIRE(at != std::string::npos);
  lr[at + 8] = '9';
  fs::create_directories(dir + "/lr/checkpoints");
  write_bytes(dir + "/lr/checkpoints/tick-00000012.ckpt", lr);
  for (const std::string& cmd : {"train --resume " + dir + "/lr", "sample " + dir + "/lr --num 4 --out " + dir + "/s.npy"}) {
    const ProcResult r = run_lockstep(cmd);
    INFO(cmd << "\n" << r.output);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("tick-00000012.ckpt: damaged checkpoint manifest (CRC-32 mismatch)"));
  }
  CHECK(snapshot(dir + "/lr").size() == 2);  // nothing was added
  // a manifest length that wraps around
  std::string wrap = good;
  for (int i = 0; i < 8; ++i) wrap[8 + i] = '\xff';
  write_bytes(dir + "/wrap.ckpt", wrap);
  const ProcResult w = run_lockstep("sample " + dir + "/wrap.ckpt --num 4 --out " + dir + "/w.npy");
  CHECK(w.exit_code == 2);
  CHECK_THAT(w.output, Catch::Contains("wrap.ckpt: damaged checkpoint: the manifest claims"));
}

TEST_CASE("a refused resume leaves the run directory byte for byte as it was", "[hostile]") {
  const std::string run = small_run("hostile-refused");
  std::string bad = read_file(checkpoint_path(run, 12));
  bad[bad.size() - 5] ^= 1;  // the last payload
  write_bytes(checkpoint_path(run, 12), bad);
  const auto before = snapshot(run);
  const ProcResult damaged = run_lockstep("train --resume " + run + " --steps 20");
  CHECK(damaged.exit_code == 2);
  CHECK_THAT(damaged.output, Catch::Contains("is damaged (CRC-32 mismatch)"));
  const ProcResult model = run_lockstep("train --resume " + checkpoint_path(run, 8) + " --steps 20 --set model.mlp.width=16");
  CHECK(model.exit_code == 2);
  CHECK(snapshot(run) == before);
}

TEST_CASE("a checkpoint continues only its own run: foreign checkpoints, loose files and used directories are refused", "[hostile]") {
  const std::string a = small_run("hostile-own-a"), b = small_run("hostile-own-b");
  // b's checkpoint copied into a's folder, newer than a's own
  fs::copy_file(checkpoint_path(b, 12), a + "/checkpoints/tick-00000016.ckpt");
  const auto before = snapshot(a);
  const ProcResult foreign = run_lockstep("train --resume " + a + " --steps 20");
  INFO(foreign.output);
  CHECK(foreign.exit_code == 2);
  CHECK_THAT(foreign.output, Catch::Contains("the checkpoint belongs to run " + load_checkpoint(checkpoint_path(b, 12)).run_id) &&
                                 Catch::Contains("to run " + load_checkpoint(checkpoint_path(a, 12)).run_id));
  CHECK(snapshot(a) == before);
  // a checkpoint outside a run's checkpoints/ folder, beside unrelated files
  const std::string loose = temp_dir("hostile-own-loose");
  fs::copy_file(checkpoint_path(b, 12), loose + "/model.ckpt");
  write_bytes(loose + "/config.textproto", "mine");
  write_bytes(loose + "/notes.txt", "mine too");
  const auto loose_before = snapshot(loose);
  const ProcResult l = run_lockstep("train --resume " + loose + "/model.ckpt --steps 20");
  CHECK(l.exit_code == 2);
  CHECK_THAT(l.output, Catch::Contains("not in the checkpoints/ folder of a run directory"));
  CHECK(snapshot(loose) == loose_before);
  // a directory holding a run's checkpoints but no metrics.jsonl, as --out of a new run
  fs::remove(b + "/metrics.jsonl");
  const auto b_before = snapshot(b);
  const ProcResult used = run_lockstep("train" + kSmall + " --out " + b);
  CHECK(used.exit_code == 2);
  CHECK_THAT(used.output, Catch::Contains("already holds files of a run"));
  CHECK(snapshot(b) == b_before);
  // retention of a keeps a's own checkpoints only: b's copy survives a's continued run
  fs::remove(a + "/checkpoints/tick-00000016.ckpt");
  fs::copy_file(checkpoint_path(b, 4), a + "/checkpoints/tick-00000001.ckpt");
  const ProcResult cont = run_lockstep("train --resume " + a + " --steps 16 --set train.keep_last=1");
  INFO(cont.output);
  REQUIRE(cont.exit_code == 0);
  CHECK(is_file(a + "/checkpoints/tick-00000001.ckpt"));
  CHECK(is_file(checkpoint_path(a, 16)));
  CHECK(!is_file(checkpoint_path(a, 12)));
}

TEST_CASE("symbolic links are never followed: metrics, checkpoints folders, and directories of other users", "[hostile]") {
  const std::string dir = temp_dir("hostile-links");
  // a dangling metrics.jsonl link in the --out directory
  fs::create_directories(dir + "/out");
  fs::create_symlink(dir + "/outside.jsonl", dir + "/out/metrics.jsonl");
  const ProcResult dangling = run_lockstep("train" + kSmall + " --out " + dir + "/out");
  CHECK(dangling.exit_code == 2);
  CHECK(!exists_nofollow(dir + "/outside.jsonl"));
  // a run whose checkpoints folder became a link to a folder of another run's checkpoints
  const std::string run = small_run("hostile-links-run"), other = small_run("hostile-links-other");
  fs::rename(run + "/checkpoints", run + "/real-checkpoints");
  fs::create_symlink(fs::absolute(other + "/checkpoints"), run + "/checkpoints");
  const auto other_before = snapshot(other);
  const ProcResult linked = run_lockstep("train --resume " + run + " --steps 20");
  CHECK(linked.exit_code == 2);
  CHECK(snapshot(other) == other_before);
  // the run directory itself a link
  fs::create_symlink(fs::absolute(other), dir + "/link-run");
  CHECK(run_lockstep("train" + kSmall + " --out " + dir + "/link-run/x").exit_code == 0);  // a link above the run directory is fine
  const ProcResult self = run_lockstep("train" + kSmall + " --out " + dir + "/link-run");
  CHECK(self.exit_code == 2);
  CHECK_THAT(self.output, Catch::Contains("is a symbolic link"));
}

// As root, the way another user would: a directory owned by "nobody", with links planted by "nobody".
TEST_CASE("a shared directory of another user is refused, and links planted there redirect nothing", "[hostile]") {
  if (::geteuid() != 0) {
    WARN("skipped: needs root to act as another user");
    return;
  }
  const std::string base = temp_dir("hostile-shared");
  ::chmod(base.c_str(), 0755);
  const std::string shared = base + "/shared", victim = base + "/victim.txt";
  write_bytes(victim, "precious\n");
  const ProcResult setup = run_shell("mkdir -p " + shared + " && chown nobody " + shared + " && chmod 0777 " + shared +
                                     " && runuser -u nobody -- ln -s " + victim + " " + shared + "/config.textproto" +
                                     " && runuser -u nobody -- ln -s " + victim + " " + shared + "/metrics.jsonl");
  REQUIRE(setup.exit_code == 0);
  const ProcResult r = run_lockstep("train" + kSmall + " --out " + shared);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("belongs to another user"));
  CHECK(read_file(victim) == "precious\n");
  // a world-writable directory of our own, with a link in it
  const std::string open_dir = base + "/open";
  fs::create_directories(open_dir);
  ::chmod(open_dir.c_str(), 0777);
  const ProcResult o = run_lockstep("train" + kSmall + " --out " + open_dir);
  CHECK(o.exit_code == 2);
  CHECK_THAT(o.output, Catch::Contains("can be written by every user"));
  CHECK(read_file(victim) == "precious\n");
}

TEST_CASE("arithmetic on untrusted shapes: zero, negative and overflowing dimensions, and the wrong format", "[hostile]") {
  const std::string dir = temp_dir("hostile-shapes");
  std::vector<float> v(8, 0.5f);
  auto refused = [&](const std::string& file, const std::string& name, const std::string& want) {
    const ProcResult r = run_lockstep("train --steps 1 --set data.name=" + name + " --set data.images=" + file + " --out " + dir + "/run");
    INFO(file << "\n" << r.output);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains(want));
    CHECK(!is_dir(dir + "/run"));
  };
  write_bytes(dir + "/zero.npy", npy_bytes(v.data(), {0, 2}));
  refused(dir + "/zero.npy", "npy", "zero.npy: holds no items");
  write_bytes(dir + "/empty-items.npy", npy_bytes(v.data(), {4, 0}));
  refused(dir + "/empty-items.npy", "npy", "empty-items.npy: its items are empty");
  std::string negative = npy_bytes(v.data(), {4, 2});
  negative.replace(negative.find("(4,2)"), 5, "(-4,2)");
  write_bytes(dir + "/negative.npy", negative);
  refused(dir + "/negative.npy", "npy", "negative.npy: damaged header at byte");
  std::string huge = npy_bytes(v.data(), {4, 2});
  huge.replace(huge.find("(4,2)"), 5, "(4611686018427387904,4611686018427387904)");
  write_bytes(dir + "/huge.npy", huge);
  refused(dir + "/huge.npy", "npy", "huge.npy: truncated data");
  const std::string idx_zero("\0\0\x08\x02\0\0\0\0\0\0\0\x05", 12);
  write_bytes(dir + "/zero.idx", idx_zero);
  refused(dir + "/zero.idx", "idx", "zero.idx: holds no items");
  const std::string idx_huge("\0\0\x08\x03\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 16);
  write_bytes(dir + "/huge.idx", idx_huge);
  refused(dir + "/huge.idx", "idx", "huge.idx: the header's shape");
  write_bytes(dir + "/text.npy", "just some text\n");
  refused(dir + "/text.npy", "npy", "text.npy: not a .npy file (bad magic");
}

TEST_CASE("non-finite values are refused: data, config values, sampling options, labels", "[hostile]") {
  const std::string dir = temp_dir("hostile-nonfinite");
  std::vector<float> v(20, 0.25f);
  v[13] = std::numeric_limits<float>::quiet_NaN();
  write_bytes(dir + "/nan.npy", npy_bytes(v.data(), {10, 2}));
  ProcResult r = run_lockstep("train --steps 1 --set data.name=npy --set data.images=" + dir + "/nan.npy --out " + dir + "/a");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("nan.npy: item 6 holds a non-finite value"));
  for (const std::string& set : {"optim.lr=1e300", "path.beta_max=inf", "sample.guidance=nan", "train.logit_mean=-inf"}) {
    r = run_lockstep("train --steps 1 --set " + set + " --out " + dir + "/b");
    INFO(set << "\n" << r.output);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("field '" + set.substr(0, set.find('=')) + "'"));
  }
  write_bytes(dir + "/mixture.textproto", "data { name: \"gaussian_mixture\" mixture { weight: 1 mean: [0, nan] std: 1 } }\nmodel { name: \"oracle\" }\n");
  r = run_lockstep("sample " + dir + "/mixture.textproto --num 4 --out " + dir + "/m.npy");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("data.mixture[0].mean"));
  const std::string run = small_run("hostile-nonfinite-run");
  for (const std::string& opt : {"--guidance nan", "--guidance inf", "--class -5"}) {
    r = run_lockstep("sample " + run + " --num 4 " + opt + " --out " + dir + "/s.npy");
    INFO(opt);
    CHECK(r.exit_code == 2);
    CHECK(!exists_nofollow(dir + "/s.npy"));
  }
  std::vector<float> labels(10, 1.0f);
  labels[3] = 999999.0f;
  std::vector<float> items(20, 0.1f);
  write_bytes(dir + "/x.npy", npy_bytes(items.data(), {10, 2}));
  write_bytes(dir + "/y.npy", npy_bytes(labels.data(), {10}));
  r = run_lockstep("train --steps 1 --set data.name=npy --set data.images=" + dir + "/x.npy --set data.labels=" + dir +
                   "/y.npy --set model.class_conditional=true --out " + dir + "/c");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("y.npy: labels must be integers in [0, 65535], found 999999 (label 3)"));
}

TEST_CASE("a run whose every tick is skipped, or whose samples are not finite, exits 4", "[hostile]") {
  const std::string dir = temp_dir("hostile-diverge");
  std::vector<float> v(64, 3e38f);  // finite, but every loss overflows to infinity
  write_bytes(dir + "/big.npy", npy_bytes(v.data(), {32, 2}));
  const ProcResult r = run_lockstep("train --steps 5 --set data.name=npy --set data.images=" + dir +
                                    "/big.npy --set train.batch_size=8 --set sample.num=8 --set sample.steps=2 --out " + dir + "/run");
  INFO(r.output);
  CHECK(r.exit_code == 4);
  CHECK_THAT(r.output, Catch::Contains("every tick of the run (5) was skipped for non-finite gradients"));
  CHECK(is_file(checkpoint_path(dir + "/run", 5)));  // the checkpoint is kept
}

TEST_CASE("a stop signal during the final sampling stops every rank with exit code 75 and keeps the checkpoint", "[hostile]") {
  const std::string run = temp_dir("hostile-final-signal") + "/run";
  // 50,000 samples of 2,000 Euler steps take minutes: the signal arrives during them
  const std::string script = std::string(LOCKSTEP_BIN) + " train --steps 20 --set sample.num=50000 --set sample.steps=2000 --set sample.chunk=512 " +
                             "--set train.eval_every=0 --out " + run + " > " + run + ".log 2>&1 & pid=$!; " +
                             "for i in $(seq 600); do grep -q 'trained 20 ticks' " + run + ".log 2>/dev/null && break; sleep 0.1; done; " +
                             "sleep 1; kill -TERM $pid; wait $pid; echo exit=$?";
  const ProcResult r = run_shell(script);
  INFO(r.output << read_file(run + ".log"));
  CHECK_THAT(r.output, Catch::Contains("exit=75"));
  CHECK_THAT(read_file(run + ".log"), Catch::Contains("SIGTERM received during the final sampling"));
  CHECK(is_file(checkpoint_path(run, 20)));
  CHECK(!exists_nofollow(run + "/samples.npy"));
}

TEST_CASE("sizes are bounded before anything is allocated, naming the field", "[hostile]") {
  const std::string dir = temp_dir("hostile-bounds");
  struct Case {
    std::string set, field;
  };
  for (const Case& c : {Case{"train.eval_samples=4000000000", "train.eval_samples"}, Case{"train.batch_size=100000000000", "train.batch_size"},
                        Case{"sample.num=4000000000 --set data.name=fashion_mnist --set model.name=unet", "sample.num"},
                        Case{"model.mlp.width=65536 --set model.mlp.depth=64", "model.mlp.width"}}) {
    const ProcResult r = run_lockstep("train --steps 1 --set " + c.set + " --out " + dir + "/run");
    INFO(c.set << "\n" << r.output);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains(c.field));
    CHECK_THAT(r.output, !Catch::Contains("allocate"));
    CHECK(!is_dir(dir + "/run"));
  }
}

TEST_CASE("lockstep sample never replaces a file without --force", "[hostile]") {
  const std::string run = small_run("hostile-force");
  const std::string samples = read_file(run + "/samples.npy"), png = read_file(run + "/samples.png");
  ProcResult r = run_lockstep("sample " + run + " --num 8 --out " + run + "/samples.npy");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("samples.npy: exists; give another --out, or --force"));
  CHECK(read_file(run + "/samples.npy") == samples);
  CHECK(read_file(run + "/samples.png") == png);
  const std::string other = temp_dir("hostile-force-out");
  write_bytes(other + "/s.png", "a picture of mine");
  r = run_lockstep("sample " + run + " --num 8 --out " + other + "/s.npy");
  CHECK(r.exit_code == 2);
  CHECK(read_file(other + "/s.png") == "a picture of mine");
  r = run_lockstep("sample " + run + " --num 8 --force --out " + other + "/s.npy");
  CHECK(r.exit_code == 0);
  CHECK(read_file(other + "/s.png") != "a picture of mine");
}
