// The input pipeline and the GPU-facing settings of training: data.prefetch (the next tick's slice drawn on a background
// thread) gives the batches, losses and samples of drawing each slice at its tick's start, bit for bit, also when the
// slices change under it (engine.balance AUTO); uint8 batches turned into floats where they go are the CPU's floats;
// the path's precomputed coefficients are the ones a loss computes; engine.device and engine.cuda_graphs are refused
// where they cannot work, with exit 2 and a message naming the field; and on a GPU (skipped without one) the graph's
// replays train like eager ticks.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <stdexcept>

#include "common/data/batch.h"
#include "common/data/dataset.h"
#include "common/data/packed_file.h"
#include "common/loss/losses.h"
#include "common/path/gaussian_path.h"
#include "common/proto/config.pb.h"
#include "common/util/fs.h"
#include "tests/proc.h"
#include "worker/slice_prefetch.h"

using namespace lockstep;
using namespace lockstep::test;

namespace {

// A packed file of `n` 3 x 6 x 8 images with two classes, its bytes a fixed pattern.
std::string write_pack(const std::string& dir, uint32_t n) {
  const std::string path = dir + "/items.pack";
  PackedWriter w(path, 3, 6, 8, {"even", "odd"}, true, n, "test");
  std::vector<uint8_t> item(3 * 6 * 8);
  for (uint32_t i = 0; i < n; ++i) {
    for (size_t k = 0; k < item.size(); ++k) item[k] = static_cast<uint8_t>((i * 37 + k * 11 + (k * k) % 13) & 0xFF);
    w.append(item.data(), i % 2);
  }
  w.finish(1);
  return path;
}

// A tiny class-conditional U-Net on the packed file, mirrored at random (xflip).
std::string unet_flags(const std::string& pack) {
  return " --set data.name=packed --set data.path=" + pack + " --set data.xflip=true --set model.name=unet --set model.class_conditional=true "
         "--set model.unet.channels=8 --set model.unet.groups=4 --set model.unet.attention=false --set train.batch_size=12 "
         "--set train.log_every=1 --set train.eval_every=3 --set train.eval_samples=8 --set train.checkpoint_every=0 --set sample.num=6 "
         "--set sample.steps=2 --set engine.threads=1 --set optim.warmup_ticks=0";
}

}  // namespace

TEST_CASE("a uint8 batch made floats where it goes equals the float batch, flips included", "[data]") {
  const std::string dir = temp_dir("pipeline-bytes");
  DataConfig dc;
  dc.set_name("packed");
  dc.set_path(write_pack(dir, 40));
  const auto data = make_dataset(dc, 1);
  REQUIRE(data->has_bytes());
  TimeSpec times;
  times.xflip = true;
  times.label_dropout = 0.25;
  BatchMaker floats(*data, 7, times), bytes(*data, 7, times);
  bytes.set_host(/*pinned=*/false, /*bytes=*/true);
  for (uint64_t tick : {0, 1, 5}) {  // (tick 5 is in the second epoch)
    TrainBatch a, b;
    floats.make(tick, 16, 3, 14, &a);
    bytes.make(tick, 16, 3, 14, &b);
    REQUIRE(!b.z.defined());
    REQUIRE(b.z_bytes.scalar_type() == torch::kUInt8);
    const TrainBatch c = to_device(b, torch::kCPU);
    CHECK(torch::equal(c.z, a.z));
    CHECK(torch::equal(c.eps, a.eps));
    CHECK(torch::equal(c.t, a.t));
    CHECK(torch::equal(c.y, a.y));
    const TrainBatch part = narrow_batch(b, 2, 5);  // chunks of a uint8 batch are uint8 too
    CHECK(torch::equal(to_device(part, torch::kCPU).z, a.z.narrow(0, 2, 5)));
  }
  // a source without uint8 items, or a coupling, cannot give bytes
  DataConfig toy;
  const auto points = make_dataset(toy, 1);
  CHECK_FALSE(points->has_bytes());
  BatchMaker p(*points, 7, TimeSpec{});
  CHECK_THROWS(p.set_host(false, true));
}

TEST_CASE("the slice prefetch hands over what it drew for the same key, and drops a wrong guess and its error", "[engine]") {
  SlicePrefetch prefetch;
  std::atomic<int> runs{0};
  const SliceKey a{3, 64, 0, 32}, b{4, 64, 0, 32}, other{4, 64, 0, 30};
  CHECK(prefetch.take(a) < 0);  // nothing started
  prefetch.start(a, [&] { ++runs; });
  CHECK(prefetch.take(a) >= 0);
  CHECK(runs == 1);
  CHECK(prefetch.take(a) < 0);  // taken once
  prefetch.start(b, [&] { throw std::runtime_error("damaged chunk"); });
  CHECK(prefetch.take(other) < 0);  // the guess did not come true: result and error dropped
  prefetch.start(b, [&] { throw std::runtime_error("damaged chunk"); });
  CHECK_THROWS_WITH(prefetch.take(b), "damaged chunk");  // the slice it was for: the error comes out
  prefetch.start(a, [&] { ++runs; });
  prefetch.start(b, [&] { ++runs; });  // waits for the job before it
  CHECK(prefetch.take(b) >= 0);
  CHECK(runs == 3);
}

TEST_CASE("the path's precomputed columns are the coefficients the loss computes from the times", "[math]") {
  PathConfig pc;
  pc.set_name("vp_cosine");
  const auto schedule = make_schedule(pc);
  torch::manual_seed(3);
  const torch::Tensor t = torch::rand({9}) * 0.98 + 0.01;
  const PathTensors a = path_tensors(*schedule, t), b = path_from_columns(path_columns(*schedule, t));
  CHECK(torch::equal(a.alpha, b.alpha));
  CHECK(torch::equal(a.beta, b.beta));
  CHECK(torch::equal(a.d_alpha, b.d_alpha));
  CHECK(torch::equal(a.d_beta, b.d_beta));
  CHECK(b.alpha.sizes() == torch::IntArrayRef({9, 1}));
}

TEST_CASE("data.prefetch trains the same bits as drawing each slice at its tick, and times the wait apart from the drawing", "[engine]") {
  const std::string dir = temp_dir("pipeline-prefetch");
  const std::string flags = unet_flags(write_pack(dir, 40)) + " --steps 7";
  const ProcResult on = run_lockstep("train" + flags + " --out " + dir + "/on");
  INFO(on.output);
  REQUIRE(on.exit_code == 0);
  CHECK_THAT(on.output, Catch::Contains("input         : the next tick's slice drawn during each tick (data.prefetch)"));
  const ProcResult off = run_lockstep("train" + flags + " --set data.prefetch=false --out " + dir + "/off");
  REQUIRE(off.exit_code == 0);
  CHECK_THAT(off.output, Catch::Contains("each slice drawn when its tick starts (data.prefetch false)"));
  CHECK(metric_values(dir + "/on", "loss") == metric_values(dir + "/off", "loss"));
  CHECK(metric_values(dir + "/on", "eval_loss") == metric_values(dir + "/off", "eval_loss"));
  CHECK(read_file(dir + "/on/samples.npy") == read_file(dir + "/off/samples.npy"));
  // every tick after the first found its slice drawn; without prefetching nothing is drawn ahead
  const std::vector<std::vector<double>> ahead_on = metric_arrays(dir + "/on", "time_data_ahead_s"), ahead_off = metric_arrays(dir + "/off", "time_data_ahead_s");
  REQUIRE(ahead_on.size() == 7);
  CHECK(ahead_on[0][0] == 0.0);
  for (size_t k = 1; k < ahead_on.size(); ++k) CHECK(ahead_on[k][0] > 0.0);
  for (const std::vector<double>& v : ahead_off) CHECK(v[0] == 0.0);
}

TEST_CASE("data.prefetch on 2 ranks with engine.balance AUTO, whose slices change under the guess, trains like 1 rank drawing at each tick", "[engine][mpi]") {
  const std::string dir = temp_dir("pipeline-auto");
  const std::string flags = unet_flags(write_pack(dir, 40)) + " --steps 8 --set train.batch_size=32";
  const ProcResult one = run_lockstep("train" + flags + " --set data.prefetch=false --out " + dir + "/one");
  REQUIRE(one.exit_code == 0);
  // rank 1 slowed by 4 ms a sample, 64 ms a tick, more than this U-Net's whole tick and its noise on a loaded
  // machine (200 us was lost in it): AUTO moves samples to rank 0, so the prefetch's guesses miss when it does
  const ProcResult two = run_shell("LOCKSTEP_FAULT=slow:1:0:4000 " + mpi_lockstep_command(2) + " train" + flags + " --set engine.balance=AUTO --out " + dir + "/two");
  INFO(two.output);
  REQUIRE(two.exit_code == 0);
  const std::vector<std::vector<double>> split = metric_arrays(dir + "/two", "slice_samples");
  REQUIRE(split.size() == 8);
  CHECK(split.front() == std::vector<double>{16, 16});
  CHECK(std::any_of(split.begin(), split.end(), [](const std::vector<double>& s) { return s[1] < 16; }));  // it moved
  const std::vector<double> a = metric_values(dir + "/one", "loss"), b = metric_values(dir + "/two", "loss");
  REQUIRE(a.size() == b.size());
  // (the sums of the other split round otherwise: the MPI tests' bound)
  for (size_t k = 0; k < a.size(); ++k) CHECK(b[k] == Approx(a[k]).epsilon(1e-5));
}

TEST_CASE("engine.device and engine.cuda_graphs are refused where they cannot work, naming the field", "[config]") {
  const std::string dir = temp_dir("pipeline-refusals");
  auto refused = [&](const std::string& args, const std::string& message) {
    const ProcResult r = run_lockstep("train --steps 2 " + args + " --out " + dir + "/run");
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains(message));
    CHECK_FALSE(std::filesystem::exists(dir + "/run/metrics.jsonl"));
  };
  refused("--set engine.device=tpu", "engine.device");
  refused("--device gpu", "--device must be auto, cpu or cuda, got 'gpu'");
  if (!torch::cuda::is_available()) {
    refused("--set engine.device=cuda", "engine.device cuda: LibTorch sees no CUDA device");
    refused("--device cuda", "engine.device cuda: LibTorch sees no CUDA device");
    refused("--set engine.cuda_graphs=true", "engine.cuda_graphs: this run trains on the CPU");
  }
  refused("--set engine.cuda_graphs=true --set engine.device=cpu", "captures CUDA kernels; engine.device is cpu");
  refused("--set engine.cuda_graphs=true --set engine.balance=AUTO", "engine.balance AUTO changes every rank's slice");
  refused("--set engine.cuda_graphs=true --set train.batch_size=10 --set train.micro_batch=4",
          "rank 0's slice of 10 samples ends in a partial micro-batch of 2 (train.micro_batch 4)");
  refused("--set engine.cuda_graphs=true --set train.loss=TVM", "engine.cuda_graphs");
  // more ranks than one sum gradients on GPUs only over NCCL
  const ProcResult two = run_shell(mpi_lockstep_command(2) + " train --steps 2 --set engine.backend=mpi --set engine.device=cuda --out " + dir + "/two");
  CHECK(two.exit_code == 2);
  CHECK_THAT(two.output, Catch::Contains("engine.device cuda: 2 ranks sum their gradients on GPUs only with engine.backend nccl"));
}

TEST_CASE("on a GPU: prefetched uint8 slices train like the CPU's floats, and CUDA graphs like eager ticks (skipped without a CUDA device)", "[engine][cuda]") {
  if (!torch::cuda::is_available()) {
    WARN("skipped: no CUDA device (LibTorch " << TORCH_VERSION << " sees none)");
    return;
  }
  const std::string dir = temp_dir("pipeline-gpu");
  const std::string flags = unet_flags(write_pack(dir, 40)) + " --steps 9 --set train.eval_every=0";
  const ProcResult eager = run_lockstep("train" + flags + " --device cuda --out " + dir + "/eager");
  INFO(eager.output);
  REQUIRE(eager.exit_code == 0);
  CHECK_THAT(eager.output, Catch::Contains("pinned memory, copied on a side stream") && Catch::Contains("uint8 images made floats on the GPU"));
  const ProcResult sync = run_lockstep("train" + flags + " --device cuda --set data.prefetch=false --out " + dir + "/sync");
  REQUIRE(sync.exit_code == 0);
  // the same kernels on the same inputs (within cuDNN's choice of nondeterministic backward algorithms)
  const std::vector<double> ahead = metric_values(dir + "/eager", "loss"), drawn = metric_values(dir + "/sync", "loss");
  REQUIRE(ahead.size() == drawn.size());
  for (size_t k = 0; k < ahead.size(); ++k) CHECK(ahead[k] == Approx(drawn[k]).epsilon(1e-6));
  const ProcResult cpu = run_lockstep("train" + flags + " --device cpu --out " + dir + "/cpu");
  REQUIRE(cpu.exit_code == 0);
  const std::vector<double> c = metric_values(dir + "/cpu", "loss"), e = metric_values(dir + "/eager", "loss");
  REQUIRE(c.size() == e.size());
  CHECK(e[0] == Approx(c[0]).epsilon(1e-4));  // the first tick: the same inputs and weights, float32 on both
  const ProcResult graphs = run_lockstep("train" + flags + " --device cuda --set engine.cuda_graphs=true --out " + dir + "/graphs");
  INFO(graphs.output);
  REQUIRE(graphs.exit_code == 0);
  CHECK_THAT(graphs.output, Catch::Contains("replayed as a CUDA graph from tick 4"));
  const std::vector<double> g = metric_values(dir + "/graphs", "loss");
  REQUIRE(g.size() == e.size());
  for (size_t k = 0; k < g.size(); ++k) CHECK(g[k] == Approx(e[k]).epsilon(1e-5));
  // micro-batches replay the one captured chunk; bf16 autocast is captured too
  const ProcResult micro = run_lockstep("train" + flags + " --device cuda --set engine.cuda_graphs=true --set train.micro_batch=4 --out " + dir + "/micro");
  REQUIRE(micro.exit_code == 0);
  const std::vector<double> m = metric_values(dir + "/micro", "loss");
  for (size_t k = 0; k < m.size(); ++k) CHECK(m[k] == Approx(e[k]).epsilon(1e-4));
  const ProcResult bf16 = run_lockstep("train" + flags + " --device cuda --set engine.cuda_graphs=true --set train.precision=bf16_mixed --out " + dir + "/bf16");
  CHECK(bf16.exit_code == 0);
  const ProcResult fp16 = run_lockstep("train" + flags + " --device cuda --set engine.cuda_graphs=true --set train.precision=fp16_mixed --out " + dir + "/fp16");
  CHECK(fp16.exit_code == 0);
}
