// Source distributions and couplings (issue 11): the assignment solver against brute force, Sinkhorn's plan
// tending to the assignment as epsilon -> 0, the coupled batch identical for any slicing (so on any number of
// ranks) and cheaper in transport cost than independent pairs, the same training on 1 and 3 MPI ranks with the
// global-batch coupling, data-to-data transport (moons -> checkerboard), and config refusals.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <numeric>

#include "common/coupling/assignment.h"
#include "common/coupling/coupling.h"
#include "common/data/batch.h"
#include "common/data/dataset.h"
#include "common/io/npy.h"
#include "common/metrics/energy_distance.h"
#include "common/util/fs.h"
#include "common/proto/config.pb.h"
#include "common/rng/philox.h"
#include "tests/proc.h"

using namespace lockstep;
using namespace lockstep::test;

namespace {

std::vector<double> random_costs(int64_t n, uint64_t seed) {
  std::vector<double> c(static_cast<size_t>(n * n));
  CounterRng rng(seed, 0, 0, Stream::kEvalData);
  for (double& v : c) v = rng.uniform();
  return c;
}

double total(const std::vector<double>& c, const std::vector<int64_t>& p) {
  double s = 0;
  const int64_t n = static_cast<int64_t>(p.size());
  for (int64_t i = 0; i < n; ++i) s += c[i * n + p[i]];
  return s;
}

ProcResult mpi_lockstep(int ranks, const std::string& args) { return run_shell(mpi_lockstep_command(ranks) + " " + args); }

}  // namespace

TEST_CASE("the assignment solver finds the optimal permutation of small random problems (brute force)", "[coupling]") {
  for (int64_t n = 1; n <= 8; ++n) {
    for (uint64_t seed = 0; seed < 6; ++seed) {
      const std::vector<double> c = random_costs(n, 100 * n + seed);
      const std::vector<int64_t> got = assignment_solve(c, n);
      std::vector<int64_t> perm(static_cast<size_t>(n)), sorted = got;
      std::sort(sorted.begin(), sorted.end());
      std::iota(perm.begin(), perm.end(), 0);
      REQUIRE(sorted == perm);  // a permutation
      double best = 1e300;
      do best = std::min(best, total(c, perm));
      while (std::next_permutation(perm.begin(), perm.end()));
      INFO("n " << n << " seed " << seed);
      CHECK(total(c, got) == Approx(best).epsilon(1e-12));
    }
  }
}

TEST_CASE("Sinkhorn's plan has the right marginals and tends to the optimal assignment as epsilon goes to 0", "[coupling]") {
  const int64_t n = 12;
  const std::vector<double> c = random_costs(n, 7);
  const std::vector<int64_t> best = assignment_solve(c, n);
  const double ot = total(c, best) / static_cast<double>(n);  // the optimal plan puts mass 1/n on each pair
  double previous_gap = 1e300, previous_mass = 0;
  for (double eps : {0.5, 0.1, 0.03, 0.01}) {
    const SinkhornResult r = sinkhorn_plan(c, n, eps, 20000, 1e-12);
    INFO("epsilon " << eps << " iterations " << r.iterations << " marginal error " << r.marginal_error);
    CHECK(r.marginal_error < (eps < 0.02 ? 1e-5 : 1e-8));  // convergence slows as epsilon shrinks
    double cost = 0, mass_on_best = 0;
    for (int64_t i = 0; i < n; ++i) {
      double col = 0;
      for (int64_t j = 0; j < n; ++j) cost += r.plan[i * n + j] * c[i * n + j], col += r.plan[j * n + i];
      CHECK(col == Approx(1.0 / n).margin(1e-10));  // the last update fits the columns exactly
      mass_on_best += r.plan[i * n + best[i]];
    }
    const double gap = cost - ot;
    CHECK(gap >= -1e-12);  // no plan beats the optimum
    CHECK(gap < previous_gap);
    CHECK(mass_on_best > previous_mass);
    INFO("gap " << gap << " of " << ot << ", mass on the optimal pairs " << mass_on_best);
    previous_gap = gap;
    previous_mass = mass_on_best;
    if (eps == 0.01) {
      CHECK(gap < 1e-2 * ot);
      CHECK(mass_on_best > 0.85);
    }
  }
}

TEST_CASE("a coupled global batch is the same for any slicing and costs less transport than independent pairs", "[coupling]") {
  DataConfig dc;  // the checkerboard
  const auto data = make_dataset(dc, 1);
  const uint64_t B = 96;
  for (int kind : {1, 2}) {
    INFO("coupling kind " << kind);
    CouplingSpec cs;
    cs.kind = kind;
    BatchMaker whole(*data, 5, TimeSpec{}, nullptr, cs), parts(*data, 5, TimeSpec{}, nullptr, cs), plain(*data, 5, TimeSpec{});
    TrainBatch all, piece, independent;
    whole.make(4, B, 0, B, &all);
    plain.make(4, B, 0, B, &independent);
    CHECK(torch::equal(all.z, independent.z));  // the data and times stay; only the partners move
    CHECK(torch::equal(all.t, independent.t));
    for (auto [begin, end] : std::vector<std::pair<uint64_t, uint64_t>>{{0, 32}, {32, 64}, {64, 96}, {10, 11}, {0, 48}, {48, 96}}) {
      parts.make(4, B, begin, end, &piece);
      CHECK(torch::equal(piece.eps, all.eps.narrow(0, static_cast<int64_t>(begin), static_cast<int64_t>(end - begin))));
    }
    const double ot = (all.z - all.eps).pow(2).sum(1).mean().item<double>();
    const double ind = (independent.z - independent.eps).pow(2).sum(1).mean().item<double>();
    INFO("mean squared distance OT " << ot << " independent " << ind);
    CHECK(ot < 0.5 * ind);
  }
  // OT_EXACT pairs are a permutation of the independent draws
  CouplingSpec exact;
  exact.kind = 1;
  BatchMaker m(*data, 5, TimeSpec{}, nullptr, exact), p(*data, 5, TimeSpec{});
  TrainBatch a, b;
  m.make(4, B, 0, B, &a);
  p.make(4, B, 0, B, &b);
  const auto sorted_rows = [](const torch::Tensor& x) { return std::get<0>(x.select(1, 0).sort()); };
  CHECK(torch::equal(sorted_rows(a.eps), sorted_rows(b.eps)));
}

TEST_CASE("with the coupling solved on rank 0 the other ranks take the broadcast pairs and the root sends its own", "[coupling]") {
  DataConfig dc;
  const auto data = make_dataset(dc, 1);
  const uint64_t B = 8;
  CouplingSpec cs;
  cs.kind = 1;
  cs.coordinator = true;
  BatchMaker plain(*data, 5, TimeSpec{}), solver(*data, 5, TimeSpec{}, nullptr, cs), root(*data, 5, TimeSpec{}, nullptr, cs),
      other(*data, 5, TimeSpec{}, nullptr, cs);
  TrainBatch drawn, solved, sent, got;
  plain.make(2, B, 0, B, &drawn);
  solver.make(2, B, 0, B, &solved);
  // the root: solves, broadcasts its pairs (as int64 bytes) and uses them
  std::string bytes;
  root.share_coupling(true, [&bytes](std::string* b) { bytes = *b; });
  root.make(2, B, 0, B, &sent);
  REQUIRE(bytes.size() == B * sizeof(int64_t));
  CHECK(torch::equal(sent.eps, solved.eps));
  std::vector<int64_t> pairs(B);
  std::memcpy(pairs.data(), bytes.data(), bytes.size());
  for (uint64_t j = 0; j < B; ++j) CHECK(torch::equal(solved.eps[static_cast<int64_t>(j)], drawn.eps[pairs[j]]));
  // another rank: does not solve, takes the pairs it is sent (here the reversed order) for its slice [2, 6)
  const std::vector<int64_t> reversed = {7, 6, 5, 4, 3, 2, 1, 0};
  other.share_coupling(false, [&reversed](std::string* b) {
    CHECK(b->empty());
    b->assign(reinterpret_cast<const char*>(reversed.data()), reversed.size() * sizeof(int64_t));
  });
  other.make(2, B, 2, 6, &got);
  for (int64_t i = 0; i < 4; ++i) CHECK(torch::equal(got.eps[i], drawn.eps[reversed[static_cast<size_t>(i + 2)]]));
  // a broadcast of the wrong size (a failed root) is an error, not a hang or garbage
  BatchMaker bad(*data, 5, TimeSpec{}, nullptr, cs);
  bad.share_coupling(false, [](std::string* b) { b->clear(); });
  CHECK_THROWS_WITH(bad.make(2, B, 0, B, &got), Catch::Contains("coupling broadcast"));
}

TEST_CASE("training with the global-batch OT coupling gives the same losses on 1 2 and 3 ranks solved on every rank or on rank 0", "[coupling][mpi][long]") {
  const std::string dir = temp_dir("coupling-mpi");
  const std::string args = " --steps 15 --set train.coupling.kind=OT_EXACT --set train.batch_size=90 --set train.log_every=1"
                           " --set train.eval_every=0 --set sample.num=20 --set model.mlp.width=64";
  ProcResult r = run_lockstep("train" + args + " --out " + dir + "/one");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  r = mpi_lockstep(3, "train" + args + " --out " + dir + "/three");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::vector<double> a = metric_values(dir + "/one", "loss"), b = metric_values(dir + "/three", "loss");
  REQUIRE(a.size() == 15);
  REQUIRE(b.size() == 15);
  for (size_t i = 0; i < a.size(); ++i) CHECK(b[i] == Approx(a[i]).epsilon(1e-5));
  r = mpi_lockstep(2, "train" + args + " --out " + dir + "/two");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::vector<double> c = metric_values(dir + "/two", "loss");
  REQUIRE(c.size() == 15);
  for (size_t i = 0; i < a.size(); ++i) CHECK(c[i] == Approx(a[i]).epsilon(1e-5));
  // rank 0 solving and broadcasting the pairs: the very same run, bit for bit, also with Sinkhorn's drawn partners
  for (const char* kind : {"OT_EXACT", "OT_SINKHORN"}) {
    INFO(kind);
    const std::string k = std::string(" --set train.coupling.kind=") + kind;
    r = mpi_lockstep(3, "train" + args + k + " --out " + dir + "/every-" + kind);
    REQUIRE(r.exit_code == 0);
    r = mpi_lockstep(3, "train" + args + k + " --set train.coupling.solve_on=COORDINATOR --out " + dir + "/coord-" + kind);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(metric_values(dir + "/coord-" + kind, "loss") == metric_values(dir + "/every-" + kind, "loss"));
    CHECK(read_file(dir + "/coord-" + kind + "/samples.npy") == read_file(dir + "/every-" + kind + "/samples.npy"));
  }
  // a global batch of 2 on 3 ranks: one rank has an empty slice and must still take part in the broadcast
  const std::string tiny = " --steps 3 --set train.coupling.kind=OT_EXACT --set train.batch_size=2 --set train.eval_every=0"
                           " --set sample.num=4 --set model.mlp.width=16 --set train.log_every=1";
  r = mpi_lockstep(3, "train" + tiny + " --set train.coupling.solve_on=COORDINATOR --set engine.collective_timeout_s=30 --out " + dir + "/tiny-coord");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  r = run_lockstep("train" + tiny + " --out " + dir + "/tiny-one");
  REQUIRE(r.exit_code == 0);
  const std::vector<double> t3 = metric_values(dir + "/tiny-coord", "loss"), t1 = metric_values(dir + "/tiny-one", "loss");
  REQUIRE(t3.size() == 3);
  for (size_t i = 0; i < t1.size(); ++i) CHECK(t3[i] == Approx(t1[i]).epsilon(1e-5));
  // per_rank solves within each slice: other pairs on 3 ranks (what the global coupling avoids)
  r = mpi_lockstep(3, "train" + args + " --set train.coupling.per_rank=true --out " + dir + "/per-rank");
  REQUIRE(r.exit_code == 0);
  CHECK(metric_values(dir + "/per-rank", "loss")[0] != Approx(a[0]).epsilon(1e-5));
}

TEST_CASE("data to data: a flow from two moons to the checkerboard carries the moons onto the board", "[coupling][long]") {
  const std::string dir = temp_dir("moons-to-board");
  const ProcResult r = run_lockstep("train --steps 1500 --out " + dir + "/run --set source.name=data --set source.data.name=moons"
                                    " --set sample.num=2000 --set sample.steps=20"
                                    " --set train.eval_every=0 --set train.log_every=500");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const NpyArray a = read_npy(dir + "/run/samples.npy");
  REQUIRE(a.shape == std::vector<int64_t>({2000, 2}));
  const torch::Tensor samples = torch::from_blob(const_cast<float*>(a.data.data()), {2000, 2}, torch::kFloat32).clone();
  // fresh checkerboard points and fresh moons (the source), 2000 each
  DataConfig board_cfg, moons_cfg;
  moons_cfg.set_name("moons");
  const auto board = make_dataset(board_cfg, 1), moons = make_dataset(moons_cfg, 1);
  torch::Tensor b = torch::empty({2000, 2}), m = torch::empty({2000, 2});
  for (int64_t i = 0; i < 2000; ++i) {
    CounterRng rb(77, 1, static_cast<uint64_t>(i), Stream::kEvalData), rm(78, 1, static_cast<uint64_t>(i), Stream::kEvalData);
    board->fresh(rb, b.data_ptr<float>() + 2 * i);
    moons->fresh(rm, m.data_ptr<float>() + 2 * i);
  }
  const double moved = energy_distance(samples, b), start = energy_distance(m, b);
  INFO("energy distance to the board: samples " << moved << ", the moons themselves " << start);
  CHECK(start > 0.1);
  CHECK(moved < 0.05 * start);
}

TEST_CASE("source and coupling refusals name the field", "[coupling]") {
  const std::string dir = temp_dir("coupling-refusals");
  struct Case {
    const char* set;
    const char* field;
  };
  for (const Case& c : {Case{"--set source.name=data --set source.data.name=moons --set path.name=vp_cosine --set path.t_min=1e-3", "path.name"},
                        Case{"--set source.name=data --set source.data.name=moons --set model.prediction=EPSILON --set path.t_min=1e-3", "model.prediction"},
                        Case{"--set source.name=data --set source.data.name=moons --set sample.sampler=ddim", "sample.sampler"},
                        Case{"--set source.name=uniform", "source.name"},
                        Case{"--set train.coupling.kind=OT_SINKHORN --set train.coupling.epsilon=0", "train.coupling.epsilon"},
                        Case{"--set train.coupling.kind=OT_EXACT --set train.coupling.per_rank=true --set train.coupling.solve_on=COORDINATOR",
                             "train.coupling.solve_on"}}) {
    INFO(c.set);
    const ProcResult r = run_lockstep(std::string("train --steps 2 --out ") + dir + "/x " + c.set);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains(c.field));
  }
  // a source whose items have another shape than the data's
  {
    std::ofstream f(dir + "/three_d.textproto");
    f << "source { name: \"data\" data { name: \"gaussian_mixture\" mixture { mean: 0 mean: 0 mean: 0 } } }\n";
  }
  const ProcResult r = run_lockstep("train " + dir + "/three_d.textproto --steps 2 --out " + dir + "/y");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("source.data (gaussian_mixture): items of shape [3], the training data's are [2]"));
}
