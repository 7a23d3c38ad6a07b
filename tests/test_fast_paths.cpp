// The one switch of the CPU fast paths (common/kernels/fast_paths.h): a few ticks and samples with the fast paths on
// and off agree within the tolerances each path is held to on its own, and the banner names what is active. (The
// U-Net's fused norms on and off: test_norm_act.cpp; Adam: test_flat_params.cpp; the kernels: test_kernels.cpp.)
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "common/io/npy.h"
#include "common/kernels/fast_paths.h"
#include "tests/proc.h"

using namespace lockstep;
using namespace lockstep::test;

TEST_CASE("training and sampling with the CPU fast paths on and off agree, and the banner says which are active", "[fast_paths]") {
  const std::string dir = temp_dir("fast-paths");
  const std::string args = "train --steps 40 --set model.mlp.width=64 --set train.log_every=10 --set train.eval_every=20 --set sample.num=500 ";
  const ProcResult on = run_lockstep(args + "--out " + dir + "/on");
  const ProcResult off = run_lockstep(args + "--set engine.cpu_fast_paths=false --out " + dir + "/off");
  INFO(on.output << "\n" << off.output);
  REQUIRE(on.exit_code == 0);
  REQUIRE(off.exit_code == 0);
  CHECK_THAT(on.output, Catch::Contains("fast paths    : fused MLP step, MLP inference, one-pass time embedding, one-pass Adam; ") &&
                            Catch::Contains(x86_kernels_built() ? "x86-64 kernels" : "portable kernels"));
  CHECK_THAT(off.output, Catch::Contains("fast paths    : off (engine.cpu_fast_paths is false)"));
  // the fused step against autograd, the one-pass Adam against LibTorch's operations: losses within 1e-4
  for (const char* key : {"loss", "eval_loss"}) {
    const std::vector<double> a = metric_values(dir + "/on", key), b = metric_values(dir + "/off", key);
    INFO(key);
    REQUIRE(a.size() >= 2);
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == Approx(b[i]).epsilon(1e-4));
  }
  // sampling the same checkpoint: the MLP's forward by hand against LibTorch's layers (1e-5 per call, 10 steps)
  REQUIRE(run_lockstep("sample " + dir + "/on --num 500 --steps 10 --out " + dir + "/fast.npy").exit_code == 0);
  const ProcResult slow = run_lockstep("sample " + dir + "/on --num 500 --steps 10 --no-fast-paths --out " + dir + "/slow.npy");
  REQUIRE(slow.exit_code == 0);
  const NpyArray a = read_npy(dir + "/fast.npy"), b = read_npy(dir + "/slow.npy");
  REQUIRE(a.shape == b.shape);
  double worst = 0.0, scale = 0.0;
  for (size_t i = 0; i < a.data.size(); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(a.data[i]) - b.data[i]));
    scale = std::max(scale, std::abs(static_cast<double>(b.data[i])));
  }
  CHECK(worst < 1e-4 * scale);
  CHECK(worst > 0.0);  // the two paths did differ: the switch reached the sampler
}
