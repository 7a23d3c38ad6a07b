// The binary's exit codes and messages for bad command lines and configs (exit 2, nothing written).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <torch/version.h>

#include "tests/proc.h"

using namespace lockstep::test;

TEST_CASE("version output names LibTorch MPI protobuf and the loaded BLAS", "[cli]") {
  const ProcResult r = run_lockstep("--version");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains(std::string("LibTorch ") + TORCH_VERSION) && Catch::Contains("Open MPI") &&
                           Catch::Contains("protobuf 3.") && Catch::Contains("BLAS"));
  // Debian's LibTorch multiplies through libblas.so.3, which setup.sh points at OpenBLAS (the reference BLAS is
  // ~15x slower); a LibTorch with its own BLAS built in (PyTorch's wheels: MKL) loads none
  if (TORCH_VERSION_MAJOR == 1) CHECK_THAT(r.output, Catch::Contains("openblas"));
  CHECK_THAT(r.output, Catch::Contains("heap     "));
  // huge pages are the user's to turn off (common/util/heap_pages.h)
  const ProcResult off = run_shell("LOCKSTEP_HUGE_PAGES=0 " + std::string(LOCKSTEP_BIN) + " --version");
  CHECK(off.exit_code == 0);
  CHECK_THAT(off.output, Catch::Contains("4 KiB pages (LOCKSTEP_HUGE_PAGES=0)") || Catch::Contains("the system's pages"));
}

TEST_CASE("OpenBLAS never runs its generic Prescott kernels on a CPU with AVX2, and a user's OPENBLAS_CORETYPE is kept", "[cli]") {
  // Debian 12's OpenBLAS takes CPUs it does not know (Intel's Xeons after Sapphire Rapids) for Prescott; lockstep
  // then runs itself again with OPENBLAS_CORETYPE set (common/util/blas_core.h)
  const ProcResult plain = run_shell("env -u OPENBLAS_CORETYPE " + std::string(LOCKSTEP_BIN) + " --version");
  REQUIRE(plain.exit_code == 0);
#if defined(__x86_64__)
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  const bool avx2 = false;
#endif
  if (plain.output.find("OpenBLAS") != std::string::npos && avx2) CHECK_THAT(plain.output, !Catch::Contains(" Prescott MAX_THREADS"));
  const ProcResult forced = run_shell("OPENBLAS_CORETYPE=Prescott " + std::string(LOCKSTEP_BIN) + " --version");
  REQUIRE(forced.exit_code == 0);
  if (forced.output.find("OpenBLAS") != std::string::npos) CHECK_THAT(forced.output, Catch::Contains(" Prescott MAX_THREADS"));
  CHECK_THAT(forced.output, !Catch::Contains("set by Lockstep"));
}

TEST_CASE("help works on every subcommand", "[cli]") {
  for (const char* args : {"--help", "train --help", "sample --help"}) {
    INFO(args);
    const ProcResult r = run_lockstep(args);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains("Usage"));
  }
  CHECK_THAT(run_lockstep("train --help").output, Catch::Contains("--set") && Catch::Contains("--steps"));
}

TEST_CASE("bad command lines exit 2", "[cli]") {
  CHECK(run_lockstep("").exit_code == 2);
  CHECK(run_lockstep("fly").exit_code == 2);
  CHECK(run_lockstep("train --steps").exit_code == 2);
  CHECK(run_lockstep("train --bogus").exit_code == 2);
  CHECK(run_lockstep("sample").exit_code == 2);
}

TEST_CASE("bad configs exit 2 with file line and field before any work", "[cli]") {
  const std::string dir = temp_dir("cli-bad-config");
  struct Case {
    const char* text;
    const char* expect;
  };
  const Case cases[] = {
      {"optim {\n  lr: -1\n}\n", "bad.textproto:2:3: field 'optim.lr': must be a finite number > 0, got -1"},
      {"train { batch_size: 0 }\n", "bad.textproto:1:9: field 'train.batch_size': must be >= 1, got 0"},
      {"path { name: \"zigzag\" }\n", "bad.textproto:1:8: field 'path.name': unknown name 'zigzag'"},
      {"model { name: \"resnet\" }\n", "bad.textproto:1:9: field 'model.name': unknown name 'resnet'; allowed: mlp, unet, dit, classifier, oracle"},
      {"optim { learning_rate: 1 }\n", "bad.textproto:1:9: unknown field 'learning_rate' in OptimConfig"},
      {"train { steps: \"many\" }\n", "bad.textproto:1:16:"},
      {"train { loss: CLASSIFY }\n", "field 'model.name': train.loss CLASSIFY trains model \"classifier\", got \"mlp\""},
      {"model { name: \"classifier\" }\n", "field 'train.loss': model \"classifier\" is trained with train.loss: CLASSIFY"},
      {"train { sample_eval_classifier: \"runs/c\" }\n", "field 'train.sample_eval_classifier': is used by the periodic sample evaluation"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    std::ofstream(dir + "/bad.textproto") << c.text;
    const ProcResult r = run_lockstep("train " + dir + "/bad.textproto --out " + dir + "/run");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains(c.expect));
    CHECK_FALSE(std::filesystem::exists(dir + "/run"));  // nothing started
  }
}

TEST_CASE("bad overrides exit 2 and name the argument", "[cli]") {
  const std::string dir = temp_dir("cli-bad-set");
  ProcResult r = run_lockstep("train --steps 0 --out " + dir + "/run");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("--steps 0: field 'train.steps': must be >= 1, got 0"));
  r = run_lockstep("train --set optim.lr=0 --out " + dir + "/run");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("--set optim.lr=0: field 'optim.lr'"));
  r = run_lockstep("train --set model.mlp.widht=3 --out " + dir + "/run");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("unknown field 'widht' in model.mlp"));
  r = run_lockstep("train /nonexistent.textproto");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("/nonexistent.textproto: no such file"));
  CHECK_FALSE(std::filesystem::exists(dir + "/run"));
}

TEST_CASE("sample refuses a missing or non-checkpoint file with exit 2", "[cli]") {
  const std::string dir = temp_dir("cli-bad-ckpt");
  ProcResult r = run_lockstep("sample " + dir + "/none.ckpt");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("none.ckpt: no such checkpoint file or run directory"));
  std::ofstream(dir + "/junk.ckpt") << "not a checkpoint";
  r = run_lockstep("sample " + dir + "/junk.ckpt");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("junk.ckpt: not a Lockstep checkpoint (bad magic)"));
  r = run_lockstep("sample " + dir);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("no checkpoint (tick-*.ckpt)"));
}
