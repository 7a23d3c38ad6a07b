// Shared memory for the ranks of one machine (common/comm/shm_team.h) and the sharded optimizer step built on it
// (worker/sharded_step.h), with threads as ranks: every rank sees every rank's arrays and the common ones, exchange
// returns every rank's value in rank order on skewed ranks many times over, shards cover the buffers in aligned
// pieces, a missing rank is named by the timeout, and the sharded step gives bit for bit what summing in rank order
// and a whole Adam step on every rank give, with clipping and the EMA. Assertions run on the main thread.
#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <cstring>
#include <random>
#include <thread>

#include "common/comm/shm_team.h"
#include "common/proto/config.pb.h"
#include "tests/thread_ranks.h"
#include "worker/sharded_step.h"

using namespace lockstep;
using lockstep::test::run_thread_ranks;

TEST_CASE("shm team: arrays of every rank and common arrays are shared; exchange is a barrier in rank order", "[comm]") {
  for (int n : {2, 3, 4}) {
    std::vector<std::string> bad(n);
    const auto errors = run_thread_ranks(n, [&](int r, Comm& comm) {
      std::string why;
      auto team = ShmTeam::create(comm, ShmTeamLayout{{5, 1001}, {777}}, &why);
      if (!team) throw std::runtime_error("ShmTeam::create: " + why);
      team->set_timeout(60);
      std::mt19937 rng(static_cast<unsigned>(r));
      for (int round = 0; round < 300 && bad[r].empty(); ++round) {
        for (size_t i = 0; i < 1001; ++i) team->mine(1)[i] = static_cast<float>(round * 10 + r);
        const auto part = team->shard(777, r);
        for (size_t i = part.first; i < part.second; ++i) team->common(0)[i] = static_cast<float>(round + r);
        if (rng() % 4 == 0) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 300));
        const std::vector<double> values = team->exchange(round * 100.0 + r, "test exchange");
        for (int q = 0; q < n; ++q) {
          if (values[q] != round * 100.0 + q) bad[r] = "round " + std::to_string(round) + ": value of rank " + std::to_string(q) + " is " + std::to_string(values[q]);
          for (size_t i = 0; i < 1001; ++i) {
            if (team->of(1, q)[i] != static_cast<float>(round * 10 + q)) bad[r] = "round " + std::to_string(round) + ": array of rank " + std::to_string(q);
          }
          const auto theirs = team->shard(777, q);
          for (size_t i = theirs.first; i < theirs.second; ++i) {
            if (team->common(0)[i] != static_cast<float>(round + q)) bad[r] = "round " + std::to_string(round) + ": common shard of rank " + std::to_string(q);
          }
        }
        team->exchange(0.0, "test barrier");  // nobody rewrites its arrays while another still reads them
      }
    });
    for (int r = 0; r < n; ++r) {
      INFO(n << " ranks, rank " << r << ": " << errors[r] << bad[r]);
      CHECK(errors[r].empty());
      CHECK(bad[r].empty());
    }
  }
}

TEST_CASE("shm team: shards are contiguous, in rank order, 64-byte aligned and cover the buffer", "[comm]") {
  for (int n : {2, 3, 4, 7}) {
    auto errors = run_thread_ranks(n, [&](int r, Comm& comm) {
      std::string why;
      auto team = ShmTeam::create(comm, ShmTeamLayout{{3}, {}}, &why);
      if (!team) throw std::runtime_error(why);
      if (r != 0) return;
      for (size_t total : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{100}, size_t{290001}}) {
        size_t at = 0;
        for (int q = 0; q < n; ++q) {
          const auto s = team->shard(total, q);
          if (s.first != at || s.second < s.first || (s.first % 16 != 0 && s.first != total))
            throw std::runtime_error("shard " + std::to_string(q) + " of " + std::to_string(total) + " is [" + std::to_string(s.first) + ", " + std::to_string(s.second) + ")");
          at = s.second;
        }
        if (at != total) throw std::runtime_error("shards of " + std::to_string(total) + " end at " + std::to_string(at));
      }
      if (reinterpret_cast<uintptr_t>(team->of(0, 1)) % 64 != 0) throw std::runtime_error("array not 64-byte aligned");
    });
    INFO(n << " ranks: " << errors[0]);
    CHECK(errors[0].empty());
  }
}

TEST_CASE("shm team: a rank that never arrives is named by the timeout", "[comm]") {
  const auto errors = run_thread_ranks(3, [&](int r, Comm& comm) {
    std::string why;
    auto team = ShmTeam::create(comm, ShmTeamLayout{{10}, {10}}, &why);
    if (!team) throw std::runtime_error(why);
    team->set_timeout(0.5);
    if (r == 1) return;
    team->exchange(1.0, "sharded optimizer step (gradients complete)");
  });
  for (int r : {0, 2}) {
    INFO("rank " << r << ": " << errors[r]);
    CHECK_THAT(errors[r], Catch::Contains("sharded optimizer step (gradients complete) (shared memory) waited " + std::to_string(r == 0 ? 0 : 5) +
                                          " s on rank " + std::to_string(r)) &&
                              Catch::Contains("ranks that did not arrive: 1"));
  }
  CHECK(errors[1].empty());
}

TEST_CASE("sharded optimizer step: the same bits as the rank-order sum and a whole Adam step on every rank", "[comm]") {
  const int64_t numel = 10007;
  OptimConfig oc;
  oc.set_weight_decay(0.01);
  auto grad_of = [](int q, int tick, int64_t i) {  // rank q's local gradient
    return std::sin(0.37f * static_cast<float>(i) + 1.3f * static_cast<float>(q) + 0.11f * static_cast<float>(tick)) * (1.0f + static_cast<float>(i % 13));
  };
  const std::vector<double> scales = {1.0, 0.5, 1.0, 0.25, 1.0};  // clipping on some ticks
  const double ema_weight = 0.1;
  for (int n : {2, 3}) {
    // the reference: sum in rank order, norm, scale, a whole Adam step with the EMA
    torch::Tensor p_ref = torch::linspace(-1, 1, numel), ema_ref = p_ref.clone();
    Adam ref(oc, numel);
    std::vector<double> ref_norms;
    for (int t = 0; t < static_cast<int>(scales.size()); ++t) {
      torch::Tensor g = torch::empty({numel});
      for (int64_t i = 0; i < numel; ++i) {
        float s = grad_of(0, t, i);
        for (int q = 1; q < n; ++q) s += grad_of(q, t, i);
        g.data_ptr<float>()[i] = s;
      }
      ref_norms.push_back(g.norm().item<double>());
      if (scales[t] != 1.0) g.mul_(scales[t]);
      ref.step(p_ref, g, 1e-2, &ema_ref, ema_weight);
    }
    std::vector<torch::Tensor> params(n), emas(n), ms(n);
    std::vector<std::vector<double>> norms(n);
    const auto errors = run_thread_ranks(n, [&](int r, Comm& comm) {
      std::string note;
      auto step = ShardedStep::create(comm, numel, true, 60, &note);
      if (!step) throw std::runtime_error(note);
      torch::Tensor p = torch::from_blob(step->values(), {numel}), g = torch::from_blob(step->grads(), {numel});
      torch::Tensor ema = torch::from_blob(step->ema(), {numel});
      p.copy_(torch::linspace(-1, 1, numel));
      ema.narrow(0, step->begin(), step->end() - step->begin()).copy_(p.narrow(0, step->begin(), step->end() - step->begin()));
      step->sync("test start");
      Adam adam(oc, numel, torch::kCPU, step->m(), step->v());
      for (int t = 0; t < static_cast<int>(scales.size()); ++t) {
        for (int64_t i = 0; i < numel; ++i) g.data_ptr<float>()[i] = grad_of(r, t, i);
        norms[r].push_back(step->reduce());
        step->update(adam, p, g, 1e-2, scales[t], &ema, ema_weight);
      }
      params[r] = p.clone();
      emas[r] = ema.clone();
      ms[r] = adam.exp_avg().clone();
    });
    for (int r = 0; r < n; ++r) {
      INFO(n << " ranks, rank " << r << ": " << errors[r]);
      REQUIRE(errors[r].empty());
      CHECK(torch::equal(params[r], p_ref));
      CHECK(torch::equal(emas[r], ema_ref));
      CHECK(torch::equal(ms[r], ref.exp_avg()));
      for (size_t t = 0; t < scales.size(); ++t) {
        CHECK(norms[r][t] == norms[0][t]);  // the same double on every rank
        CHECK(norms[r][t] == Approx(ref_norms[t]).epsilon(1e-6));
      }
    }
  }
}
