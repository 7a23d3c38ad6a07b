// train.precision fp16_mixed: the dynamic loss scale (common/optim/loss_scaler.h) as PyTorch's GradScaler keeps it,
// overflow injected through the fault injector (LOCKSTEP_FAULT=overflow, overflow_from): skipped on every rank alike,
// counted, saved in checkpoints and resumed exactly. On the CPU the network runs in float32 under the scaling, so a
// run with power-of-two scales follows the fp32 run to float rounding.
#include <catch2/catch.hpp>

#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include "common/checkpoint/checkpoint.h"
#include "common/config/config.h"
#include "common/optim/loss_scaler.h"
#include "common/proto/config.pb.h"
#include "common/util/error.h"
#include "tests/proc.h"

using namespace lockstep;
using namespace lockstep::test;

namespace {

const std::string kArgs = " train --steps 24 --set model.mlp.width=32 --set train.batch_size=48 --set train.log_every=1 "
                          "--set train.eval_every=0 --set sample.num=16 --set sample.steps=2 --set engine.threads=1 "
                          "--set train.checkpoint_every=12 ";
const std::string kFp16 = "--set train.precision=fp16_mixed --set train.loss_scale.init_scale=1024 --set train.loss_scale.growth_interval=5 ";

ProcResult train(const std::string& fault, const std::string& extra, const std::string& out) {
  return run_shell((fault.empty() ? "" : "LOCKSTEP_FAULT=" + fault + " ") + std::string(LOCKSTEP_BIN) + kArgs + extra + "--out " + out);
}

}  // namespace

TEST_CASE("the loss scale grows after growth_interval finite ticks, backs off on overflow and restores exactly", "[loss_scale]") {
  LossScaleConfig cfg;
  cfg.set_init_scale(1024);
  cfg.set_growth_interval(3);
  LossScaler s(cfg);
  CHECK(s.update(true));
  CHECK(s.update(true));
  CHECK(s.scale() == 1024);
  CHECK(s.update(true));
  CHECK(s.scale() == 2048);  // the third finite tick in a row
  CHECK(s.good_ticks() == 0);
  CHECK(s.update(true));
  CHECK_FALSE(s.update(false));  // overflow: no step, half the scale, the count restarts
  CHECK(s.scale() == 1024);
  CHECK(s.good_ticks() == 0);
  CHECK(s.update(true));
  LossScaler t(cfg);
  t.restore(s.scale(), s.good_ticks());
  for (bool finite : {true, true, false, true, true, true}) CHECK(s.update(finite) == t.update(finite));
  CHECK(s.scale() == t.scale());
  for (int i = 0; i < 40; ++i) s.update(false);
  CHECK(loss_scale_exhausted(s.scale()));
  // validation: the scale's settings
  auto refused = [](const std::string& text) {
    try {
      parse_config_text("model { name: \"mlp\" } " + text, "test");
    } catch (const BadInput& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK_THAT(refused("train { precision: \"fp16_mixed\" loss_scale { backoff_factor: 1.5 } }"), Catch::Contains("train.loss_scale.backoff_factor"));
  CHECK_THAT(refused("train { precision: \"fp16_mixed\" loss_scale { growth_factor: 1 } }"), Catch::Contains("train.loss_scale.growth_factor"));
  CHECK_THAT(refused("train { precision: \"fp16_mixed\" loss_scale { init_scale: 0 } }"), Catch::Contains("train.loss_scale.init_scale"));
  CHECK_THAT(refused("train { precision: \"fp8\" }"), Catch::Contains("train.precision"));
  CHECK(refused("train { precision: \"fp16_mixed\" }").empty());
}

TEST_CASE("fp16_mixed on the CPU: an injected overflow skips the tick and halves the scale, the run follows fp32 and resumes exactly", "[loss_scale]") {
  const std::string dir = temp_dir("loss-scale");
  const ProcResult fp32 = train("", "", dir + "/fp32");
  const ProcResult clean = train("", kFp16, dir + "/clean");
  const ProcResult over = train("overflow:0:7", kFp16, dir + "/over");
  INFO(clean.output << over.output);
  REQUIRE(fp32.exit_code == 0);
  REQUIRE(clean.exit_code == 0);
  REQUIRE(over.exit_code == 0);
  CHECK_THAT(clean.output, Catch::Contains("fp16          : on the CPU the network runs in float32") && Catch::Contains("loss scale from 1024, x2 after 5 finite ticks"));
  // scales by power of two change no gradient: the losses of the fp32 run, to float rounding
  const std::vector<double> a = metric_values(dir + "/fp32", "loss"), b = metric_values(dir + "/clean", "loss");
  REQUIRE(a.size() == 24);
  REQUIRE(b.size() == 24);
  for (size_t i = 0; i < a.size(); ++i) CHECK(std::abs(a[i] - b[i]) <= 1e-5 * std::abs(a[i]));
  // the scale after each tick: x2 after every 5 finite ticks
  const std::vector<double> clean_scale = metric_values(dir + "/clean", "loss_scale");
  REQUIRE(clean_scale.size() == 24);
  for (size_t i = 0; i < clean_scale.size(); ++i) CHECK(clean_scale[i] == 1024.0 * std::pow(2.0, static_cast<double>((i + 1) / 5)));
  CHECK(metric_values(dir + "/clean", "overflow_ticks").back() == 0);
  // tick 7 (the 8th) overflows: skipped without a warning, counted, the scale halved and its count restarted
  CHECK_THAT(over.output, !Catch::Contains("warning"));
  const std::vector<double> s = metric_values(dir + "/over", "loss_scale"), o = metric_values(dir + "/over", "overflow_ticks");
  REQUIRE(s.size() == 24);
  CHECK(s[6] == 2048);
  CHECK(s[7] == 1024);
  CHECK(s[12] == 2048);  // five finite ticks after the overflow: ticks 8-12
  CHECK(o[6] == 0);
  CHECK(o.back() == 1);
  CHECK(metric_values(dir + "/over", "skipped_ticks").back() == 1);
  const CheckpointData end = load_checkpoint(resolve_checkpoint(dir + "/over"));
  CHECK(end.optimizer_step == 23);
  CHECK(end.overflow_ticks == 1);
  CHECK(end.loss_scale == s.back());
  // resumed from tick 12 (its scale and count in the checkpoint): bitwise the run that never stopped
  std::filesystem::create_directories(dir + "/resumed/checkpoints");
  for (const char* file : {"run_id", "config.textproto", "checkpoints/tick-00000012.ckpt"})
    std::filesystem::copy_file(dir + "/over/" + file, dir + "/resumed/" + file);
  const ProcResult resumed = run_lockstep("train --resume " + dir + "/resumed");
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);
  const CheckpointData r = load_checkpoint(resolve_checkpoint(dir + "/resumed"));
  CHECK(r.loss_scale == end.loss_scale);
  CHECK(r.loss_scale_good_ticks == end.loss_scale_good_ticks);
  CHECK(r.overflow_ticks == 1);
  CHECK(torch::equal(r.tensor("params", "resumed"), end.tensor("params", "over")));
  const std::vector<double> rs = metric_values(dir + "/resumed", "loss_scale");
  REQUIRE(rs.size() == 12);
  for (size_t i = 0; i < rs.size(); ++i) CHECK(rs[i] == s[12 + i]);
}

TEST_CASE("fp16_mixed: gradients that are not finite at any scale stop the run with exit code 4", "[loss_scale]") {
  const std::string dir = temp_dir("loss-scale-exhausted");
  const ProcResult r = run_shell("LOCKSTEP_FAULT=overflow_from:0:2 " + std::string(LOCKSTEP_BIN) +
                                 " train --steps 40 --set model.mlp.width=16 --set train.batch_size=16 --set train.eval_every=0 "
                                 "--set engine.threads=1 --set train.precision=fp16_mixed --set train.loss_scale.init_scale=1 --out " + dir + "/run");
  INFO(r.output);
  CHECK(r.exit_code == 4);
  // 1 halves to 2^-25 at the 25th overflow: tick 26
  CHECK_THAT(r.output, Catch::Contains("tick 26: the gradients are not finite at any loss scale") && Catch::Contains("after 25 overflowing ticks"));
}

TEST_CASE("fp16_mixed on 2 ranks: an overflow on one rank skips the tick on both, and the replicas stay equal", "[loss_scale][mpi]") {
  const std::string dir = temp_dir("loss-scale-mpi");
  const ProcResult r = run_shell("LOCKSTEP_FAULT=overflow:1:4 " + mpi_lockstep_command(2) + kArgs + kFp16 +
                                 "--set engine.check_every=1 --out " + dir + "/run");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);  // engine.check_every=1 compares every state tensor of the ranks after every tick
  const std::vector<double> s = metric_values(dir + "/run", "loss_scale");
  REQUIRE(s.size() == 24);
  CHECK(s[3] == 1024);
  CHECK(s[4] == 512);
  CHECK(metric_values(dir + "/run", "overflow_ticks").back() == 1);
  const CheckpointData end = load_checkpoint(resolve_checkpoint(dir + "/run"));
  CHECK(end.optimizer_step == 23);
}
