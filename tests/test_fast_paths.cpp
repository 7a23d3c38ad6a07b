// The one switch of the CPU fast paths (common/kernels/fast_paths.h): a few ticks and samples with the fast paths on
// and off agree within the tolerances each path is held to on its own, and the banner names what is active. (The
// U-Net's fused norms on and off: test_norm_act.cpp; Adam: test_flat_params.cpp; the kernels: test_kernels.cpp.)
#include <catch2/catch.hpp>

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "common/io/npy.h"
#include "common/kernels/fast_paths.h"
#include "common/util/heap_pages.h"
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
  CHECK_THAT(on.output, Catch::Contains("heap          : freed memory kept for reuse; "));
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

namespace {

// The VmFlags line of /proc/self/smaps for the mapping that holds `address`, or "" when none does.
std::string vm_flags_at(uintptr_t address) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find(':') > line.find('-')) {
      inside = address >= lo && address < hi;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line;
    }
  }
  return "";
}

}  // namespace

TEST_CASE("tune_heap asks for huge pages inside large CPU tensors, and the tensors stay correct", "[fast_paths]") {
  tune_heap();
  INFO(heap_note());
  const torch::Tensor big = torch::arange(int64_t{6} << 20, torch::kFloat32);  // 24 MiB
  const torch::Tensor small = torch::arange(1000, torch::kFloat32);
  CHECK(big[5 << 20].item<float>() == static_cast<float>(5 << 20));
  CHECK(small.sum().item<float>() == 499500.0f);
  const uintptr_t inside = (reinterpret_cast<uintptr_t>(big.data_ptr()) + (uintptr_t{2} << 20) - 1) & ~((uintptr_t{2} << 20) - 1);
  const std::string flags = vm_flags_at(inside);
  INFO(flags);
  if (huge_pages_on()) {
    CHECK_THAT(flags, Catch::Contains(" hg"));
    CHECK_THAT(heap_note(), Catch::Contains("2 MiB pages for blocks of 2 MiB or more"));
  } else {
    WARN("transparent huge pages are not offered here: " << heap_note());
    CHECK_THAT(heap_note(), Catch::Contains("4 KiB pages") || Catch::Contains("the system's pages"));
  }
}
