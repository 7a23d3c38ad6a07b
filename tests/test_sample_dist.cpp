// Distributed sampling: the same bytes on 1, 2 and 3 ranks, streamed .npy output equal to the in-memory
// array, the stream writer's atomicity, and progress output.
#include <catch2/catch.hpp>

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "common/checkpoint/checkpoint.h"
#include "common/io/npy.h"
#include "common/io/npy_stream.h"
#include "common/util/error.h"
#include "common/util/fs.h"
#include "tests/proc.h"

using namespace lockstep;
using namespace lockstep::test;

namespace {

// A short training run whose checkpoint the sampling tests share; its samples.npy (5,000 samples in two chunks, generated
// in memory at the end of training) is the in-memory reference.
const std::string& trained_run() {
  static const std::string run = [] {
    const std::string d = temp_dir("sample-dist") + "/run";
    const ProcResult r = run_lockstep("train --steps 30 --set model.mlp.width=64 --set train.eval_every=0 --set sample.num=5000 "
                                      "--set sample.steps=10 --out " + d);
    if (r.exit_code != 0) throw std::runtime_error("training failed:\n" + r.output);
    return d;
  }();
  return run;
}

}  // namespace

TEST_CASE("sampling under mpiexec gives the same bytes on 1 2 and 3 ranks", "[sample][mpi]") {
  const std::string run = trained_run();
  const std::string dir = temp_dir("sample-world");
  const ProcResult one = run_lockstep("sample " + run + " --num 20000 --steps 10 --sampler heun --out " + dir + "/w1.npy");
  INFO(one.output);
  REQUIRE(one.exit_code == 0);
  CHECK_THAT(one.output, Catch::Contains("samples/s") && Catch::Contains("eta"));  // 5 chunks: progress lines
  const std::string ref = read_file(dir + "/w1.npy");
  for (int n : {2, 3}) {
    const std::string out = dir + "/w" + std::to_string(n) + ".npy";
    const ProcResult r = run_shell(mpi_lockstep_command(n) + " sample " +
                                   run + " --num 20000 --steps 10 --sampler heun --out " + out);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains(std::to_string(n) + " ranks"));
    CHECK(read_file(out) == ref);
  }
  // the SDE sampler's noise also depends only on (seed, step, i); 5,000 samples on 2 ranks are 2 chunks of 2,500
  // (a small request is split among the ranks), on 1 rank chunks of 4,096 and 904: the same bytes
  const ProcResult em1 = run_lockstep("sample " + run + " --num 5000 --steps 8 --sampler euler_maruyama --out " + dir + "/em1.npy");
  REQUIRE(em1.exit_code == 0);
  const ProcResult em2 = run_shell(mpi_lockstep_command(2) + " sample " + run +
                                   " --num 5000 --steps 8 --sampler euler_maruyama --out " + dir + "/em2.npy");
  REQUIRE(em2.exit_code == 0);
  CHECK(read_file(dir + "/em1.npy") == read_file(dir + "/em2.npy"));
}

TEST_CASE("streamed sample output equals the in-memory samples of the training run", "[sample]") {
  const std::string run = trained_run();
  const std::string out = temp_dir("sample-stream") + "/s.npy";
  const ProcResult r = run_lockstep("sample " + run + " --out " + out);  // the run's own sample settings and seed
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(read_file(out) == read_file(run + "/samples.npy"));
  const NpyArray a = read_npy(out);
  CHECK(a.shape == std::vector<int64_t>{5000, 2});
}

TEST_CASE("the .npy stream writer writes the final header and renames only when complete", "[sample][io]") {
  const std::string dir = temp_dir("npy-stream");
  std::vector<float> x(7 * 3);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i) * 0.5f;
  {
    NpyStreamWriter w(dir + "/a.npy", {7, 3});
    w.append(x.data(), 2);
    CHECK(!is_file(dir + "/a.npy"));  // nothing at the final name before finish()
    w.append(x.data() + 6, 5);
    w.finish();
  }
  CHECK(read_file(dir + "/a.npy") == npy_bytes(x.data(), {7, 3}));
  {
    NpyStreamWriter w(dir + "/b.npy", {7, 3});
    w.append(x.data(), 3);
    CHECK_THROWS_AS(w.finish(), InternalError);  // 3 of 7 items
    CHECK_THROWS_AS(w.append(x.data(), 5), InternalError);  // more than 7
  }
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) files += e.path().filename() != "a.npy";
  CHECK(files == 0);  // the unfinished writer removed its temporary file
  const ProcResult bad = run_lockstep("sample " + trained_run() + " --num 4 --out " + dir + "/missing/x.npy");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.output, Catch::Contains("no such directory"));
}

TEST_CASE("lockstep eval under mpiexec reports what one process reports", "[sample][mpi]") {
  const std::string run = trained_run();
  const std::string dir = temp_dir("eval-world");
  const ProcResult one = run_lockstep("eval " + run + " --num 600 --likelihood --steps 10 --report " + dir + "/one.json");
  INFO(one.output);
  REQUIRE(one.exit_code == 0);
  const ProcResult two = run_shell(mpi_lockstep_command(2) + " eval " + run +
                                   " --num 600 --likelihood --steps 10 --report " + dir + "/two.json");
  INFO(two.output);
  REQUIRE(two.exit_code == 0);
  auto value = [](const std::string& json, const std::string& key) {
    const size_t at = json.find("\"" + key + "\": ");
    REQUIRE(at != std::string::npos);
    return std::stod(json.substr(at + key.size() + 4));
  };
  const std::string a = read_file(dir + "/one.json"), b = read_file(dir + "/two.json");
  for (const char* key : {"energy_distance", "nll_nats", "nfe"}) {
    INFO(key);
    CHECK(value(b, key) == Approx(value(a, key)).epsilon(1e-9));  // only the order of float64 sums differs
  }
  CHECK(value(b, "ranks") == 2);
  CHECK(value(a, "energy_distance") > 0);  // a 30-tick model is far from the data
  CHECK_THAT(read_file(dir + "/one.md"), Catch::Contains("| MMD² (RBF, h = "));
}

TEST_CASE("periodic sample evaluation during training uses every rank and leaves training untouched", "[sample][mpi]") {
  const std::string dir = temp_dir("sample-eval-train");
  const std::string args = " train --steps 30 --set model.mlp.width=64 --set train.batch_size=128 --set train.eval_every=0 "
                           "--set sample.num=64 --set sample.steps=5 --set engine.threads=1 ";
  const std::string with = "--set train.sample_eval_every=10 --set train.sample_eval_num=300 ";
  REQUIRE(run_lockstep(args + "--out " + dir + "/plain").exit_code == 0);
  const ProcResult one = run_lockstep(args + with + "--out " + dir + "/one");
  INFO(one.output);
  REQUIRE(one.exit_code == 0);
  const ProcResult two = run_shell(mpi_lockstep_command(2) + args + with + "--out " + dir + "/two");
  INFO(two.output);
  REQUIRE(two.exit_code == 0);
  const std::vector<double> a = metric_values(dir + "/one", "sample_energy_distance"), b = metric_values(dir + "/two", "sample_energy_distance");
  REQUIRE(a.size() == 3);  // ticks 10, 20, 30
  REQUIRE(b.size() == 3);
  for (size_t i = 0; i < a.size(); ++i) CHECK(b[i] == Approx(a[i]).epsilon(1e-3));  // 2 ranks train within 1e-5 of 1
  CHECK(a.front() > a.back());  // the model improves
  const std::string p = checkpoint_path(dir + "/plain", 30), q = checkpoint_path(dir + "/one", 30);
  CHECK(torch::equal(load_checkpoint(p).tensor("params", p), load_checkpoint(q).tensor("params", q)));
}

TEST_CASE("eval --sweep measures every sampler at 1 to 64 NFE with a table and a plot", "[sample]") {
  const std::string dir = temp_dir("eval-sweep");
  const ProcResult r = run_lockstep("eval " + trained_run() + " --num 300 --sweep --report " + dir + "/r.json");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::string json = read_file(dir + "/r.json");
  size_t rows = 0;
  for (size_t at = json.find("\"sweep\": ["); at != std::string::npos; at = json.find("{\"model\": \"this\", \"sampler\": ", at + 1)) ++rows;
  CHECK(rows == 1 + 7 + 6 + 5 + 7 + 7);  // the array, then euler, heun (2..64), rk4 (4..64), ddim, euler_maruyama
  CHECK_THAT(json, Catch::Contains("{\"model\": \"this\", \"sampler\": \"rk4\", \"steps\": 16, \"nfe\": 64, \"guidance\": 1, \"seed\": 1, \"energy_distance\": "));
  CHECK_THAT(read_file(dir + "/r.md"), Catch::Contains("| this | heun | 32 | 64 |"));
  CHECK(read_file(dir + "/r.sweep.png").compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
}

TEST_CASE("sample --device: cpu gives the default's bytes, cuda is refused without a GPU, and a GPU's samples are the CPU's to float rounding", "[sample][cuda]") {
  const std::string run = trained_run();
  const std::string dir = temp_dir("sample-device");
  const std::string args = "sample " + run + " --num 3000 --steps 10 --sampler heun ";
  const ProcResult cpu = run_lockstep(args + "--device cpu --out " + dir + "/cpu.npy");
  INFO(cpu.output);
  REQUIRE(cpu.exit_code == 0);
  CHECK_THAT(cpu.output, Catch::Contains("on the CPU, 1 rank, "));
  const ProcResult bad = run_lockstep(args + "--device gpu --out " + dir + "/bad.npy");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.output, Catch::Contains("--device must be auto, cpu or cuda, got 'gpu'"));
  const ProcResult eval_bad = run_lockstep("eval " + run + " --num 100 --device tpu --report " + dir + "/e.json");
  CHECK(eval_bad.exit_code == 2);
  CHECK_THAT(eval_bad.output, Catch::Contains("--device must be auto, cpu or cuda"));
  const bool gpu = torch::cuda::is_available();
  const ProcResult cuda = run_lockstep(args + "--device cuda --out " + dir + "/cuda.npy");
  INFO(cuda.output);
  if (!gpu) {
    WARN("no CUDA device: --device cuda checked for its refusal only");
    CHECK(cuda.exit_code == 2);
    CHECK_THAT(cuda.output, Catch::Contains("--device cuda: LibTorch sees no CUDA device"));
    CHECK(!std::filesystem::exists(dir + "/cuda.npy"));
    const ProcResult autod = run_lockstep(args + "--out " + dir + "/auto.npy");  // auto: the CPU here
    REQUIRE(autod.exit_code == 0);
    CHECK(read_file(dir + "/auto.npy") == read_file(dir + "/cpu.npy"));
    return;
  }
  REQUIRE(cuda.exit_code == 0);
  CHECK_THAT(cuda.output, Catch::Contains("on GPUs (one a rank), 1 rank, "));
  const NpyArray a = read_npy(dir + "/cpu.npy"), b = read_npy(dir + "/cuda.npy");
  REQUIRE(a.data.size() == b.data.size());
  float scale = 0, diff = 0;
  for (size_t i = 0; i < a.data.size(); ++i) {
    scale = std::max(scale, std::abs(a.data[i]));
    diff = std::max(diff, std::abs(a.data[i] - b.data[i]));
  }
  CHECK(diff <= 1e-4f * scale);  // float32 on another device: another summation order, 10 Heun steps
  // 2 ranks on GPUs: the bytes of 1 rank on a GPU
  const ProcResult two = run_shell(mpi_lockstep_command(2) + " " + args + "--device cuda --out " + dir + "/cuda2.npy");
  INFO(two.output);
  REQUIRE(two.exit_code == 0);
  CHECK(read_file(dir + "/cuda2.npy") == read_file(dir + "/cuda.npy"));
}
