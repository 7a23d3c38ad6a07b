// One short training run through the real binary: outputs exist, samples beat the prior by a statistical
// margin, `lockstep sample` reproduces the samples, and a damaged checkpoint is refused.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/io/npy.h"
#include "common/metrics/energy_distance.h"
#include "common/util/fs.h"
#include "tests/proc.h"

using namespace lockstep;
using namespace lockstep::test;

namespace {

torch::Tensor load(const std::string& path) {
  NpyArray a = read_npy(path);
  return torch::from_blob(a.data.data(), a.shape, torch::kFloat32).clone();
}

// d = ED(y, data) - ED(x, data) on the whole sample, with its standard error from the delete-one-block jackknife
// over `blocks` blocks, so that the margin follows the sample size.
struct Comparison {
  double diff, std_err;
};
Comparison compare(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& data, int blocks) {
  auto diff = [&](const torch::Tensor& keep) {
    const torch::Tensor d = data.index_select(0, keep);
    return energy_distance(y.index_select(0, keep), d) - energy_distance(x.index_select(0, keep), d);
  };
  const int64_t n = data.size(0), block = n / blocks;
  const double full = diff(torch::arange(n));
  std::vector<double> loo;
  for (int b = 0; b < blocks; ++b) {
    const torch::Tensor idx = torch::arange(n);
    loo.push_back(diff(idx.masked_select((idx < b * block) | (idx >= (b + 1) * block))));
  }
  double mean = 0, ss = 0;
  for (double v : loo) mean += v / blocks;
  for (double v : loo) ss += (v - mean) * (v - mean);
  return {full, std::sqrt((blocks - 1.0) / blocks * ss)};
}

// Fraction of points on the checkerboard's 8 filled cells (row + column even on the 4 x 4 board on [-2, 2]^2).
double on_board(const torch::Tensor& p) {
  const torch::Tensor inside = (p.abs() < 2).all(1);
  const torch::Tensor cells = torch::floor(p + 2).to(torch::kLong);
  const torch::Tensor even = (cells.select(1, 0) + cells.select(1, 1)).remainder(2) == 0;
  return (inside & even).to(torch::kDouble).mean().item<double>();
}

}  // namespace

TEST_CASE("a short training run learns the checkerboard and sample reproduces its samples", "[e2e]") {
  const std::string dir = temp_dir("e2e") + "/run";
  ProcResult r = run_lockstep("train --steps 1200 --set train.log_every=200 --set engine.threads=1 --out " + dir);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  for (const char* f : {"config.textproto", "metrics.jsonl", "samples.npy", "data.npy", "samples.png", "checkpoints/tick-00001200.ckpt"}) {
    INFO(f);
    CHECK(std::filesystem::exists(dir + "/" + f));
  }
  CHECK_THAT(r.output, Catch::Contains("metrics: energy_distance="));

  // metrics.jsonl: one object per logged tick (1, 200, ..., 1200) plus the final quality line.
  std::ifstream metrics(dir + "/metrics.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(metrics, line)) {
    ++lines;
    CHECK_THAT(line, Catch::Contains("\"tick\": "));
  }
  CHECK(lines == 1 + 6 + 1);

  const torch::Tensor samples = load(dir + "/samples.npy");
  const torch::Tensor data = load(dir + "/data.npy");
  REQUIRE(samples.sizes() == torch::IntArrayRef({2000, 2}));
  REQUIRE(data.sizes() == torch::IntArrayRef({2000, 2}));
  REQUIRE(torch::isfinite(samples).all().item<bool>());

  // Samples must be closer to the data than the N(0, I) prior is, by 5 standard errors of the block estimate.
  torch::manual_seed(0);
  const torch::Tensor prior = torch::randn({2000, 2});
  const Comparison c = compare(samples, prior, data, 10);
  INFO("prior - samples energy distance: " << c.diff << " +- " << c.std_err);
  CHECK(c.diff > 5 * c.std_err);
  // ... and closer than the Gaussian with the data's mean and covariance: the energy distance is too blunt to
  // separate these two at n = 2000 (difference ~2.7 standard errors), the mass on the board's filled cells is
  // not. Two-proportion test, 5 standard errors of the difference sqrt((p1 q1 + p2 q2) / n).
  CHECK(on_board(data) == 1.0);
  const double ps = on_board(samples), pg = on_board(matched_gaussian(data, 2000, 3));
  const double se = std::sqrt((ps * (1 - ps) + pg * (1 - pg)) / 2000.0);
  INFO("on the board: samples " << ps << ", matched Gaussian " << pg << ", standard error " << se);
  CHECK(ps - pg > 5 * se);

  // `lockstep sample` on the run directory with the same seed gives bitwise the same samples.
  r = run_lockstep("sample " + dir + " --seed 1 --out " + dir + "/again.npy");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(torch::equal(load(dir + "/again.npy"), samples));
  CHECK(std::filesystem::exists(dir + "/again.png"));
  // --threads sets the threads per rank (the run's engine.threads otherwise); a bad count is refused
  r = run_lockstep("sample " + dir + " --seed 1 --threads 1 --out " + dir + "/one-thread.npy");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(torch::allclose(load(dir + "/one-thread.npy"), samples, 1e-5, 1e-5));
  r = run_lockstep("sample " + dir + " --threads -1 --out " + dir + "/x.npy");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("--threads must be in [0, 4096], got -1"));
  // Another seed gives other samples; fewer steps works.
  r = run_lockstep("sample " + dir + "/checkpoints/tick-00001200.ckpt --seed 2 --num 100 --steps 10 --out " + dir + "/other.npy");
  REQUIRE(r.exit_code == 0);
  const torch::Tensor other = load(dir + "/other.npy");
  CHECK(other.size(0) == 100);
  CHECK_FALSE(torch::equal(other, samples.narrow(0, 0, 100)));

  // Training into the same directory again is refused and overwrites nothing.
  const std::string before = read_file(dir + "/metrics.jsonl");
  r = run_lockstep("train --steps 5 --out " + dir);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("already holds files of a run"));
  CHECK(read_file(dir + "/metrics.jsonl") == before);

  // A damaged checkpoint is refused, naming the payload.
  std::string ckpt = read_file(dir + "/checkpoints/tick-00001200.ckpt");
  ckpt[ckpt.size() - 10] ^= 0x40;
  std::ofstream(dir + "/damaged.ckpt", std::ios::binary) << ckpt;
  r = run_lockstep("sample " + dir + "/damaged.ckpt --out " + dir + "/x.npy");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("payload 'ema' is damaged (CRC-32 mismatch)"));  // the last payload
  std::ofstream(dir + "/short.ckpt", std::ios::binary) << ckpt.substr(0, ckpt.size() / 2);
  r = run_lockstep("sample " + dir + "/short.ckpt --out " + dir + "/x.npy");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("truncated checkpoint"));
  CHECK_FALSE(std::filesystem::exists(dir + "/x.npy"));
}
