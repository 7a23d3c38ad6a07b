// Checkpoints and resume: exact resume (same world size bitwise, another world size within 1e-5), SIGTERM
// preemption, a crash during a checkpoint write, retention, EMA, corrupt checkpoints, configs that do not fit,
// and non-finite losses (skip or stop).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/checkpoint/checkpoint.h"
#include "common/proto/checkpoint.pb.h"
#include "common/util/fs.h"
#include "tests/proc.h"

using namespace lockstep;
using namespace lockstep::test;
namespace fs = std::filesystem;

namespace {

// 60 ticks of a small MLP on the checkerboard, checkpoints every 20, all kept.
const std::string kRun = " --steps 60 --set model.mlp.width=64 --set train.batch_size=64 --set train.log_every=5 "
                         "--set train.checkpoint_every=20 --set train.keep_last=0 --set train.eval_every=0 "
                         "--set sample.num=64 --set sample.steps=4 --set engine.threads=1 --set engine.check_every=10";

CheckpointData final_state(const std::string& run) { return load_checkpoint(checkpoint_path(run, 60)); }

void require_bitwise(const CheckpointData& a, const CheckpointData& b) {
  REQUIRE(a.tensors.size() == b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    INFO("payload " << a.tensors[i].first);
    CHECK(a.tensors[i].first == b.tensors[i].first);
    CHECK(torch::equal(a.tensors[i].second, b.tensors[i].second));
  }
  CHECK(a.optimizer_step == b.optimizer_step);
}

// The uninterrupted reference run, made once for all tests of this file.
const std::string& reference_run() {
  static const std::string dir = [] {
    const std::string d = temp_dir("resume-ref") + "/run";
    const ProcResult r = run_lockstep("train" + kRun + " --out " + d);
    if (r.exit_code != 0) throw std::runtime_error("reference run failed:\n" + r.output);
    return d;
  }();
  return dir;
}

// A copy of the reference run as it stood at `tick`: its identity, config and that checkpoint (no metrics).
std::string fresh_run_from(const std::string& name, uint64_t tick) {
  const std::string run = temp_dir(name) + "/run";
  fs::create_directories(run + "/checkpoints");
  fs::copy_file(checkpoint_path(reference_run(), tick), checkpoint_path(run, tick));
  for (const char* file : {"run_id", "config.textproto"}) fs::copy_file(reference_run() + "/" + file, run + "/" + file);
  return run;
}

std::vector<double> ticks_of(const std::string& run) { return metric_values(run, "tick"); }

}  // namespace

TEST_CASE("a resumed run ends bitwise identical to the run that never stopped", "[resume]") {
  const std::string run = fresh_run_from("resume-same", 20);
  const ProcResult r = run_lockstep("train --resume " + run);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("resuming      : " + checkpoint_path(run, 20) + " at tick 20"));
  require_bitwise(final_state(run), final_state(reference_run()));
  const CheckpointData s = final_state(run);
  CHECK(s.tick == 60);
  CHECK(s.seed == 0);
  CHECK(s.data_epoch == 0);  // infinite data: no permutation
  CHECK(!s.version.empty());
  CHECK(has_payload(s, "ema"));
}

// (engine.shard_optimizer, a removed feature, is still accepted and ignored with a warning)
TEST_CASE("resume on another world size stays within 1e-5 of the uninterrupted run", "[resume][mpi]") {
  const std::string run = fresh_run_from("resume-world", 20);
  const ProcResult r = run_shell(mpi_lockstep_command(2) + " train --resume " + run + " --set engine.shard_optimizer=true");
  CHECK_THAT(r.output, Catch::Contains("engine.shard_optimizer was removed"));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const CheckpointData a = final_state(run), b = final_state(reference_run());
  CHECK(a.world_size == 2);
  for (const char* name : {"params", "ema", "adam.exp_avg"}) {
    const torch::Tensor x = a.tensor(name, run), y = b.tensor(name, "reference");
    const double rel = ((x - y).norm() / y.norm()).item<double>();
    INFO(name << ": relative difference " << rel);
    CHECK(rel < 1e-5);
  }
}

TEST_CASE("SIGTERM finishes the tick and writes a checkpoint and exits 75 and resuming reproduces the run", "[resume]") {
  const std::string run = temp_dir("resume-term") + "/run";
  const ProcResult r = run_shell("LOCKSTEP_FAULT=term:0:32 " + std::string(LOCKSTEP_BIN) + " train" + kRun + " --out " + run);
  INFO(r.output);
  REQUIRE(r.exit_code == 75);
  CHECK_THAT(r.output, Catch::Contains("SIGTERM received: stopped after tick 33"));
  REQUIRE(is_file(checkpoint_path(run, 33)));
  CHECK(ticks_of(run).back() <= 33);
  const ProcResult q = run_lockstep("train --resume " + run);
  INFO(q.output);
  REQUIRE(q.exit_code == 0);
  require_bitwise(final_state(run), final_state(reference_run()));
  // metrics.jsonl continues: ticks rise without repeats
  const std::vector<double> ticks = ticks_of(run);
  for (size_t i = 1; i + 1 < ticks.size(); ++i) CHECK(ticks[i] > ticks[i - 1]);
  CHECK(ticks.back() == 60);
}

TEST_CASE("a real SIGTERM from outside stops a long run with a checkpoint and exit code 75", "[resume]") {
  const std::string run = temp_dir("resume-kill-term") + "/run";
  const std::string script =
      std::string(LOCKSTEP_BIN) + " train --steps 1000000 --set train.log_every=5 --set engine.threads=1 --out " + run + " > " + run + ".log 2>&1 & pid=$!; " +
      "for i in $(seq 600); do grep -q '\"tick\": 10' " + run + "/metrics.jsonl 2>/dev/null && break; sleep 0.1; done; " +
      "kill -TERM $pid; wait $pid; echo exit=$?";
  const ProcResult r = run_shell(script);
  INFO(r.output);
  CHECK_THAT(r.output, Catch::Contains("exit=75"));
  CHECK_THAT(read_file(run + ".log"), Catch::Contains("SIGTERM received: stopped after tick"));
  const std::string ckpt = resolve_checkpoint(run);
  const CheckpointData s = load_checkpoint(ckpt);
  CHECK(s.tick >= 10);
  CHECK(s.tick < 1000000);
}

TEST_CASE("a crash during a checkpoint write leaves the previous checkpoint loadable", "[resume]") {
  const std::string run = temp_dir("resume-ckpt-kill") + "/run";
  const ProcResult r = run_shell("LOCKSTEP_FAULT=ckpt_kill:0:39 " + std::string(LOCKSTEP_BIN) + " train" + kRun + " --out " + run);
  CHECK(r.exit_code != 0);
  CHECK(!is_file(checkpoint_path(run, 40)));
  bool leftover = false;
  for (const auto& e : fs::directory_iterator(run + "/checkpoints")) leftover = leftover || e.path().string().find(".tmp-") != std::string::npos;
  CHECK(leftover);  // the half-written temporary file
  CHECK(resolve_checkpoint(run) == checkpoint_path(run, 20));
  CHECK(load_checkpoint(checkpoint_path(run, 20)).tick == 20);
  const ProcResult q = run_lockstep("train --resume " + run);
  INFO(q.output);
  REQUIRE(q.exit_code == 0);
  require_bitwise(final_state(run), final_state(reference_run()));
  for (const auto& e : fs::directory_iterator(run + "/checkpoints")) CHECK(e.path().string().find(".tmp-") == std::string::npos);
}

TEST_CASE("retention keeps the last K and every M-th checkpoint", "[resume]") {
  const std::string run = temp_dir("resume-keep") + "/run";
  const ProcResult r = run_lockstep("train --steps 60 --set model.mlp.width=16 --set train.batch_size=16 --set train.checkpoint_every=10 "
                                    "--set train.keep_last=2 --set train.keep_every=30 --set train.eval_every=0 --set sample.num=16 "
                                    "--set sample.steps=2 --out " + run);
  REQUIRE(r.exit_code == 0);
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(run + "/checkpoints")) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"tick-00000030.ckpt", "tick-00000050.ckpt", "tick-00000060.ckpt"});
}

TEST_CASE("sampling uses the EMA weights by default and the raw ones with --raw", "[resume]") {
  const std::string run = reference_run();
  const std::string dir = temp_dir("resume-ema");
  REQUIRE(run_lockstep("sample " + run + " --num 32 --steps 4 --out " + dir + "/ema.npy").exit_code == 0);
  const ProcResult raw = run_lockstep("sample " + run + " --num 32 --steps 4 --raw --out " + dir + "/raw.npy");
  REQUIRE(raw.exit_code == 0);
  CHECK_THAT(raw.output, Catch::Contains("raw weights"));
  CHECK(read_file(dir + "/ema.npy") != read_file(dir + "/raw.npy"));
  const CheckpointData s = final_state(run);
  CHECK(!torch::equal(s.tensor("ema", run), s.tensor("params", run)));
  const std::string plain = dir + "/no-ema";
  REQUIRE(run_lockstep("train --steps 5 --set train.ema_decay=0 --set sample.num=16 --set train.eval_every=0 --out " + plain).exit_code == 0);
  CHECK(!has_payload(load_checkpoint(resolve_checkpoint(plain)), "ema"));
}

TEST_CASE("damaged checkpoints are refused naming the damaged payload", "[resume]") {
  const std::string good = read_file(checkpoint_path(reference_run(), 20));
  const std::string dir = temp_dir("resume-damaged");
  uint64_t len = 0;
  for (int i = 7; i >= 0; --i) len = (len << 8) | static_cast<unsigned char>(good[8 + i]);
  Manifest m;  // after the magic (8 bytes), the length (8) and the manifest's CRC (4)
  REQUIRE(m.ParseFromArray(good.data() + 20, static_cast<int>(len)));
  REQUIRE(m.payloads_size() == 4);  // params, adam.exp_avg, adam.exp_avg_sq, ema
  for (const Payload& p : m.payloads()) {
    std::string bad = good;
    bad[20 + len + p.offset() + p.size() / 2] ^= 0x10;  // one bit in the middle of the payload
    const std::string path = dir + "/" + p.name() + ".ckpt";
    std::ofstream(path, std::ios::binary) << bad;
    const ProcResult r = run_lockstep("train --resume " + path);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("payload '" + p.name() + "' is damaged (CRC-32 mismatch)"));
    CHECK(run_lockstep("sample " + path + " --num 4").exit_code == 2);
  }
  std::ofstream(dir + "/cut.ckpt", std::ios::binary) << good.substr(0, good.size() - 100);
  const ProcResult cut = run_lockstep("train --resume " + dir + "/cut.ckpt");
  CHECK(cut.exit_code == 2);
  CHECK_THAT(cut.output, Catch::Contains("truncated checkpoint: payload 'ema'"));
  std::ofstream(dir + "/junk.ckpt", std::ios::binary) << "not a checkpoint at all";
  CHECK_THAT(run_lockstep("train --resume " + dir + "/junk.ckpt").output, Catch::Contains("not a Lockstep checkpoint"));
}

TEST_CASE("resume refuses config changes that leave the run's trajectory and lists the fields", "[resume]") {
  const std::string run = fresh_run_from("resume-refuse", 20);
  const ProcResult r = run_lockstep("train --resume " + run + " --set model.mlp.width=32 --set optim.lr=0.01 --set train.log_every=7");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("model.mlp.width: checkpoint 64, now 32") && Catch::Contains("optim.lr: checkpoint 0.002, now 0.01"));
  CHECK_THAT(r.output, !Catch::Contains("train.log_every:"));
  CHECK_THAT(run_lockstep("train --resume " + run + " --steps 20").output,
             Catch::Contains("already at tick 20; --steps is the total number of ticks"));
  CHECK_THAT(run_lockstep("train configs/checkerboard.textproto --resume " + run).output, Catch::Contains("--resume takes the config stored"));
  CHECK_THAT(run_lockstep("train --resume " + run + "/nothing").output, Catch::Contains("no such checkpoint file or run directory"));
  CHECK(!exists_nofollow(run + "/metrics.jsonl"));  // nothing was started
}

TEST_CASE("a NaN loss skips the tick and counts it or stops the run naming tick and rank", "[resume]") {
  const std::string dir = temp_dir("resume-nan");
  const std::string args = " train --steps 30 --set model.mlp.width=32 --set train.batch_size=32 --set train.log_every=5 "
                           "--set train.eval_every=0 --set sample.num=16 --set sample.steps=2 --set engine.threads=1 ";
  const ProcResult skip = run_shell("LOCKSTEP_FAULT=nan:0:10 " + std::string(LOCKSTEP_BIN) + args + "--out " + dir + "/skip");
  INFO(skip.output);
  REQUIRE(skip.exit_code == 0);
  CHECK_THAT(skip.output, Catch::Contains("tick 10: non-finite gradients (the loss of rank 0 is NaN or Inf); the tick is skipped (1 so far)"));
  CHECK(metric_values(dir + "/skip", "skipped_ticks").back() == 1);
  const CheckpointData s = load_checkpoint(resolve_checkpoint(dir + "/skip"));
  CHECK(s.skipped_ticks == 1);
  CHECK(s.optimizer_step == 29);
  CHECK(torch::isfinite(s.tensor("params", "skip")).all().item<bool>());
  const ProcResult stop = run_shell("LOCKSTEP_FAULT=nan:0:10 " + std::string(LOCKSTEP_BIN) + args + "--set train.nonfinite=STOP --out " + dir + "/stop");
  CHECK(stop.exit_code == 4);
  CHECK_THAT(stop.output, Catch::Contains("tick 10: non-finite gradients (the loss of rank 0 is NaN or Inf); stopped (train.nonfinite: STOP)"));
}

TEST_CASE("SIGUSR1 to mpirun reaches every rank: a checkpoint and exit code 75", "[resume][mpi]") {
  const std::string run = temp_dir("resume-usr1") + "/run";
  const std::string script = mpi_lockstep_command(2) +
                             " train --steps 1000000 --set train.log_every=5 --out " + run + " > " + run + ".log 2>&1 & pid=$!; " +
                             "for i in $(seq 600); do grep -q '\"tick\": 10' " + run + "/metrics.jsonl 2>/dev/null && break; sleep 0.1; done; " +
                             "kill -USR1 $pid; wait $pid; echo exit=$?";
  const ProcResult r = run_shell(script);
  INFO(r.output << read_file(run + ".log"));
  CHECK_THAT(r.output, Catch::Contains("exit=75"));
  CHECK_THAT(read_file(run + ".log"), Catch::Contains("SIGUSR1 received: stopped after tick"));
  const CheckpointData s = load_checkpoint(resolve_checkpoint(run));
  CHECK(s.world_size == 2);
  CHECK(s.tick >= 10);
}

// Checkpoints of Lockstep before 2026-12-03 (format 1: no manifest CRC, no run id) still load, sample and resume
// in a run directory of that time (no run_id file).
TEST_CASE("a checkpoint of format 1 still loads, samples and resumes, said to be unsealed", "[resume]") {
  const std::string v2 = read_file(checkpoint_path(reference_run(), 20));
  uint64_t len = 0;
  for (int i = 7; i >= 0; --i) len = (len << 8) | static_cast<unsigned char>(v2[8 + i]);
  Manifest m;
  REQUIRE(m.ParseFromArray(v2.data() + 20, static_cast<int>(len)));
  m.clear_run_id();
  std::string manifest;
  REQUIRE(m.SerializeToString(&manifest));
  std::string v1 = "LSCKPT01";
  for (int i = 0; i < 8; ++i) v1 += static_cast<char>((manifest.size() >> (8 * i)) & 0xff);
  v1 += manifest + v2.substr(20 + len);
  const std::string run = temp_dir("resume-format1") + "/run";
  fs::create_directories(run + "/checkpoints");
  std::ofstream(checkpoint_path(run, 20), std::ios::binary) << v1;
  fs::copy_file(reference_run() + "/config.textproto", run + "/config.textproto");
  const CheckpointData d = load_checkpoint(checkpoint_path(run, 20));
  CHECK_FALSE(d.sealed);
  CHECK(d.run_id.empty());
  const ProcResult s = run_lockstep("sample " + run + " --num 8 --steps 2 --out " + run + "/s.npy");
  CHECK(s.exit_code == 0);
  CHECK_THAT(s.output, Catch::Contains("checkpoint format 1"));
  const ProcResult r = run_lockstep("train --resume " + run);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  require_bitwise(final_state(run), final_state(reference_run()));
  CHECK(final_state(run).sealed);
  CHECK(read_file(run + "/run_id").size() == 33);  // a run id now, for the checkpoints to come
}
