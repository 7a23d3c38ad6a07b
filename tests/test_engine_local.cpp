// Threads-as-ranks protocol tests (the "local" backend): the engine's collectives, the bucketed overlapped
// all-reduce against a plain one, and a whole training run on three thread-ranks against one rank.
#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <thread>

#include "common/comm/comm.h"
#include "common/config/config.h"
#include "common/data/batch.h"
#include "common/data/dataset.h"
#include "common/model/flat_params.h"
#include "common/model/net.h"
#include "common/proto/config.pb.h"
#include "coordinator/coordinator.h"
#include "coordinator/train_loop.h"
#include "tests/proc.h"
#include "tests/thread_ranks.h"
#include "worker/grad_reducer.h"

using namespace lockstep;

namespace {
template <class F>
void on_ranks(int n, F body) {
  const std::vector<std::string> errors = test::run_thread_ranks(n, [&](int, Comm& comm) { body(comm); });
  for (int r = 0; r < n; ++r) {
    INFO("rank " << r << ": " << errors[r]);
    CHECK(errors[r].empty());
  }
}
}  // namespace

TEST_CASE("local collectives: broadcast, gather, all-reduce filled with the rank", "[comm]") {
  on_ranks(4, [](Comm& c) {
    std::string b = c.rank() == 2 ? "from two" : "";
    c.broadcast(&b, 2);
    REQUIRE(b == "from two");
    const auto all = c.gather("r" + std::to_string(c.rank()), 0);
    if (c.rank() == 0) REQUIRE(all == std::vector<std::string>{"r0", "r1", "r2", "r3"});
    else REQUIRE(all.empty());
    std::vector<float> v(1000, static_cast<float>(c.rank() + 1));
    c.allreduce_sum(v.data(), v.size());
    for (float x : v) REQUIRE(x == 10.0f);  // 1 + 2 + 3 + 4
    c.barrier();
  });
}

TEST_CASE("a local collective that a rank never joins times out naming it", "[comm]") {
  auto comms = make_local_comms(2);
  comms[0]->set_timeout(0.3);
  std::vector<float> v(4, 1.0f);
  try {
    comms[0]->allreduce_sum(v.data(), v.size());
    FAIL("no timeout");
  } catch (const CommError& e) {
    CHECK_THAT(e.what(), Catch::Contains("allreduce timed out") && Catch::Contains("ranks that did not arrive: 1"));
  }
}

TEST_CASE("the bucketed overlapped all-reduce equals one plain all-reduce of the whole gradient", "[comm]") {
  ModelConfig mcfg;
  mcfg.mutable_mlp()->set_width(48);
  mcfg.mutable_mlp()->set_depth(3);
  const int ranks = 3;
  std::vector<torch::Tensor> bucketed(ranks), plain(ranks);
  std::vector<size_t> buckets(ranks), overlapped(ranks);
  on_ranks(ranks, [&](Comm& c) {
    for (int mode = 0; mode < 2; ++mode) {
      auto net = make_net(mcfg, {2}, 7);  // the same initialisation on every rank
      FlatParams flat(*net);
      GradReducer reducer(flat, c, mode == 0 ? 64 : size_t{1} << 30);  // a bucket per parameter, or one bucket
      // each rank its own data, without torch's global generator (shared by the thread-ranks)
      const double k = c.rank() + 1.0;
      const torch::Tensor x = torch::sin(k * torch::arange(32, torch::kFloat32)).reshape({16, 2});
      const torch::Tensor t = 0.5 + 0.4 * torch::cos(k * torch::arange(16, torch::kFloat32));
      flat.zero_grad();
      reducer.begin();
      net->forward(x, t).pow(2).sum().backward();
      reducer.finish();
      if (mode == 0) {
        bucketed[c.rank()] = flat.grads().clone();
        buckets[c.rank()] = reducer.bucket_count();
        overlapped[c.rank()] = reducer.started_in_backward();
      } else {
        // the reference: hooks start the single bucket at the end; compare with a plain reduce of local grads
        flat.zero_grad();
        net->forward(x, t).pow(2).sum().backward();  // reducer inactive: hooks do nothing
        c.allreduce_sum(flat.grads().data_ptr<float>(), static_cast<size_t>(flat.numel()));
        plain[c.rank()] = flat.grads().clone();
      }
    }
  });
  CHECK(buckets[0] == 7);  // 4 layers x (weight, bias); the 8-byte output bias joins the output weight
  CHECK(overlapped[0] >= buckets[0] - 1);  // all but possibly the first layer's bucket started inside backward
  for (int r = 0; r < ranks; ++r) {
    CHECK(torch::equal(bucketed[r], plain[r]));
    CHECK(torch::equal(bucketed[r], bucketed[0]));
  }
}

TEST_CASE("slices follow the weights and always cover the global batch", "[engine]") {
  Config cfg = load_config("", {}).config;
  cfg.mutable_engine()->set_balance(EngineConfig::MANUAL);
  for (uint32_t w : {10u, 30u, 24u}) cfg.mutable_engine()->add_slice_weights(w);
  Coordinator c(cfg, 3);
  CHECK(c.slice_bounds(64) == std::vector<uint64_t>{0, 10, 40, 64});
  const Frame f = c.plan(0);
  CHECK(f.slices_size() == 3);
  CHECK(f.slices(1).begin() == 80);  // of the default B = 512
  CHECK(f.slices(2).begin() == 320);
  CHECK(f.slices(2).end() == 512);
  Config eq = load_config("", {}).config;
  CHECK(Coordinator(eq, 3).slice_bounds(10) == std::vector<uint64_t>{0, 3, 6, 10});
  CHECK(Coordinator(eq, 4).slice_bounds(2) == std::vector<uint64_t>{0, 0, 1, 1, 2});  // empty slices are allowed
  cfg.mutable_engine()->add_slice_weights(1);
  CHECK_THROWS_WITH(Coordinator(cfg, 3), Catch::Contains("engine.slice_weights has 4 weights for 3 ranks"));
}

TEST_CASE("every data item appears exactly once per epoch across ranks, also across epoch boundaries", "[engine][data]") {
  DataConfig d;
  d.set_size(96);
  auto data = make_dataset(d, 3);
  BatchMaker maker(*data, 11, TimeSpec{});
  const uint64_t B = 40;  // does not divide 96: batches straddle epochs
  const std::vector<uint64_t> bounds = {0, 7, 29, 40};  // three ranks, uneven
  std::vector<std::multiset<uint64_t>> epochs(5);
  for (uint64_t tick = 0; tick < 12; ++tick) {  // 480 samples = 5 epochs
    for (int r = 0; r < 3; ++r)
      for (uint64_t j = bounds[r]; j < bounds[r + 1]; ++j) epochs[(tick * B + j) / 96].insert(maker.item_of(tick, B, j));
  }
  for (const auto& e : epochs) {
    REQUIRE(e.size() == 96);
    CHECK(std::set<uint64_t>(e.begin(), e.end()).size() == 96);
  }
  // the points themselves: the same item gives the same point whoever draws it
  TrainBatch a, b;
  maker.make(3, B, 0, 40, &a);
  maker.make(3, B, 29, 40, &b);
  CHECK(torch::equal(a.z.narrow(0, 29, 11), b.z));
  CHECK(torch::equal(a.t.narrow(0, 29, 11), b.t));
  CHECK(torch::equal(a.eps.narrow(0, 29, 11), b.eps));
}

TEST_CASE("training on three thread-ranks equals training on one", "[engine]") {
  auto cfg = load_config("", set_overrides({"train.steps=12", "train.log_every=1", "sample.num=50", "engine.check_every=4",
                                            "train.eval_every=6"}));
  const std::string one = test::temp_dir("local-one"), three = test::temp_dir("local-three");
  auto self = make_self_comm();
  run_training(cfg, one + "/run", *self);
  on_ranks(3, [&](Comm& c) { run_training(cfg, three + "/run", c); });
  const auto a = test::metric_values(one + "/run", "loss"), b = test::metric_values(three + "/run", "loss");
  REQUIRE(a.size() == 12);
  REQUIRE(b.size() == 12);
  for (size_t i = 0; i < a.size(); ++i) CHECK(b[i] == Approx(a[i]).epsilon(1e-5));
  const auto ea = test::metric_values(one + "/run", "eval_loss"), eb = test::metric_values(three + "/run", "eval_loss");
  REQUIRE(ea.size() == 2);  // ticks 6 and 12
  REQUIRE(eb.size() == 2);
  for (size_t i = 0; i < ea.size(); ++i) CHECK(eb[i] == Approx(ea[i]).epsilon(1e-5));
}
