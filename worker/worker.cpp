#include "worker/worker.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "common/comm/on_root.h"
#include "common/data/source.h"
#include "common/kernels/fast_paths.h"
#include "common/loss/losses.h"
#include "common/loss/tvm.h"
#include "common/model/device_memory.h"
#include "common/model/device_pick.h"
#include "common/path/gaussian_path.h"
#include "common/model/model_size.h"
#include "common/util/memory.h"
#include "common/util/error.h"
#include "common/util/hash.h"
#include "common/util/stop_signal.h"
#include "common/util/strings.h"

namespace lockstep {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
constexpr uint64_t kHeldOutSeedSalt = 0x4E1D0C7A5EEDull;

}  // namespace

Worker::Worker(const Config& cfg, Comm& comm, bool init_weights) : cfg_(cfg), comm_(comm), faults_(comm.rank()) {
  data_ = make_dataset(cfg.data(), cfg.seed());
  schedule_ = make_schedule(cfg.path());
  // sizes checked before anything large is allocated: the model and one rank's slice of the batch
  uint64_t slice = (cfg.train().batch_size() + static_cast<uint64_t>(comm.size()) - 1) / static_cast<uint64_t>(comm.size());
  if (cfg.train().micro_batch() > 0) slice = std::min<uint64_t>(slice, cfg.train().micro_batch());  // played at once
  samples_at_once_ = slice;
  memory_estimate_ = check_training_memory(cfg, data_->item_shape(), cfg.model().class_conditional() || cfg.model().name() == "classifier" ? data_->num_classes() : 0,
                        slice);
  // the end of training holds sample.num samples and as many data points twice (data.npy, the Gaussian's fit) on rank 0;
  // the periodic sample evaluation train.sample_eval_num samples and data points
  const uint64_t item_bytes = static_cast<uint64_t>(data_->dim()) * sizeof(float);
  if (cfg.train().loss() != TrainConfig::CLASSIFY) {
    check_fits_in_memory(3 * cfg.sample().num() * item_bytes, "sample.num = " + std::to_string(cfg.sample().num()) + " samples at the end of training",
                         "reduce sample.num; lockstep sample streams any number to a file");
  }
  if (cfg.train().sample_eval_every() > 0) {
    check_fits_in_memory(2 * cfg.train().sample_eval_num() * item_bytes, "train.sample_eval_num = " + std::to_string(cfg.train().sample_eval_num()),
                         "reduce train.sample_eval_num");
  }
  net_ = make_model(cfg, *data_, init_seed_of(cfg));
  // engine.device: nccl trains on this rank's GPU (the backend chose it by local rank and made it current), a world of
  // one where LibTorch sees a GPU too
  device_ = training_device(cfg.engine().device(), comm.device_buffers(), comm.size(), comm.local_rank());
  if (device_.is_cuda()) net_->to(device_);
  // the gradient buffer where the backend sums it most cheaply (the shm backend: in shared memory, no copies)
  params_ = std::make_unique<FlatParams>(*net_, [&](int64_t numel) { return comm.reduce_buffer(static_cast<size_t>(numel), &grad_buffer_note_); });
  // model.init_from: rank 0 reads the file into its parameters (all ranks learn whether it could), the broadcast below
  // gives them to every rank
  if (init_weights && !cfg.model().init_from().empty()) {
    on_root(comm, [&] {
      const std::vector<std::string> exclude(cfg.model().init_exclude().begin(), cfg.model().init_exclude().end());
      init_load_ = load_init_weights(*params_, cfg.model().init_from(), exclude);
    });
  }
  // Every replica starts from rank 0's parameters, whatever each rank's initialiser did.
  if (comm.size() > 1) {
    const torch::Tensor host = params_->values().to(torch::kCPU).contiguous();
    std::string bytes(static_cast<const char*>(host.data_ptr()), static_cast<size_t>(host.numel()) * sizeof(float));
    comm.broadcast(&bytes, 0);
    LS_CHECK(bytes.size() == static_cast<size_t>(host.numel()) * sizeof(float),
             "rank 0 sent " << bytes.size() << " bytes of initial parameters, this rank's model has " << host.numel() * 4);
    torch::NoGradGuard no_grad;
    params_->values().copy_(torch::from_blob(bytes.data(), {host.numel()}, torch::kFloat32));
  }
  if (cfg.train().ema_decay() > 0) {
    torch::NoGradGuard no_grad;
    ema_ = params_->values().clone();
  }
  tvm_ = cfg.train().loss() == TrainConfig::TVM;
  if (tvm_) {
    target_net_ = make_model(cfg, *data_, init_seed_of(cfg));
    target_net_->to(device_);
    for (torch::Tensor& p : target_net_->parameters()) p.requires_grad_(false);
    target_params_ = std::make_unique<FlatParams>(*target_net_);
    torch::NoGradGuard no_grad;
    target_params_->values().copy_(params_->values());
  }
  adam_ = std::make_unique<Adam>(cfg.optim(), params_->numel(), device_);
  reducer_ = std::make_unique<GradReducer>(*params_, comm, size_t{cfg.engine().bucket_kb()} * 1024);
  TimeSpec times{cfg.path().t_min(), cfg.path().t_max(), cfg.train().time_sampling(), cfg.train().logit_mean(),
                 cfg.train().logit_std(), cfg.model().class_conditional() ? cfg.train().label_dropout() : 0.0};
  const TvmConfig& tc = cfg.train().tvm();
  times.tvm = tvm_;
  times.s_mean = tc.s_mean();
  times.s_std = tc.s_std();
  times.gap_mean = tc.gap_mean();
  times.gap_std = tc.gap_std();
  times.guidance_max = cfg.model().class_conditional() ? tc.guidance_max() : 1.0;
  times.xflip = cfg.data().xflip();
  LS_CHECK_INPUT(!times.xflip || data_->item_shape().size() == 3,
                 "data.xflip: flips images [C, H, W]; the items of " << data_->name() << " have shape " << shape_text(data_->item_shape()));
  source_ = make_source(cfg, data_->item_shape());
  const CouplingConfig& cc = cfg.train().coupling();
  const CouplingSpec coupling{cc.kind(), cc.epsilon(), static_cast<int>(cc.iterations()), cc.per_rank(),
                              cc.solve_on() == CouplingConfig::COORDINATOR};
  batches_ = std::make_unique<BatchMaker>(*data_, cfg.seed(), times, source_.get(), coupling);
  // rank 0 solves the coupling and broadcasts the pairs: making the batch is then collective, even for an empty slice
  shared_coupling_ = coupling.coordinator && !coupling.per_rank && coupling.kind != CouplingConfig::INDEPENDENT;
  if (shared_coupling_) batches_->share_coupling(comm.rank() == 0, [&comm](std::string* bytes) { comm.broadcast(bytes, 0); });
  // to a GPU: pinned host buffers, and packed uint8 images as bytes (a quarter of the copy; floats made there)
  feed_ = std::make_unique<DeviceFeed>(device_);
  batches_->set_host(feed_->pinned(), device_.is_cuda() && data_->has_bytes() && coupling.kind == CouplingConfig::INDEPENDENT);
  // making a shared coupling's batch is collective: it stays on this thread
  if (cfg.data().prefetch() && !shared_coupling_) prefetch_ = std::make_unique<SlicePrefetch>();
  // The held-out set: the data set's own held-out split when it has one (Fashion-MNIST's other split,
  // data.eval_images), else fresh draws from the training data; under a seed of its own, fixed for the run,
  // with stratified times so that every part of the path is weighted alike.
  eval_data_ = make_eval_dataset(cfg.data(), cfg.seed());
  if (eval_data_) {
    const std::string eval_file = cfg.data().eval_path().empty() ? "data.eval_images " + clip(cfg.data().eval_images(), 300)
                                                                  : "data.eval_path " + clip(cfg.data().eval_path(), 300);
    LS_CHECK_INPUT(eval_data_->item_shape() == data_->item_shape(), eval_file << ": its items have shape " << shape_text(eval_data_->item_shape())
                                                                              << ", the training items " << shape_text(data_->item_shape()));
    LS_CHECK_INPUT(eval_data_->num_classes() <= data_->num_classes() || !cfg.model().class_conditional(),
                   (cfg.data().eval_path().empty() ? "data.eval_labels " + clip(cfg.data().eval_labels(), 300) : eval_file)
                       << ": has labels up to " << eval_data_->num_classes() - 1 << ", the training labels only up to " << data_->num_classes() - 1);
    for (int64_t k = 0; k < std::min(eval_data_->num_classes(), data_->num_classes()) && cfg.model().class_conditional(); ++k) {
      LS_CHECK_INPUT(eval_data_->class_name(k) == data_->class_name(k), eval_file << ": its class " << k << " is '" << clip(eval_data_->class_name(k), 100)
                                                                                   << "', the training data's '" << clip(data_->class_name(k), 100)
                                                                                   << "' (pack both with the same class folders)");
    }
  }
  TimeSpec held_out_times{cfg.path().t_min(), cfg.path().t_max()};
  if (tvm_) {  // the TVM loss on held-out data: its own times, no label dropout
    held_out_times = times;
    held_out_times.label_dropout = 0.0;
    held_out_times.xflip = false;
  }
  // (pairs drawn independently: a coupling of the whole held-out set would cost O(N^3))
  held_out_ = std::make_unique<BatchMaker>(eval_data_ ? *eval_data_ : *data_, cfg.seed() ^ kHeldOutSeedSalt, held_out_times,
                                           source_.get());
  prediction_ = prediction_from_config(cfg.model().prediction());
  bf16_ = cfg.train().precision() == "bf16_mixed";
  fp16_ = cfg.train().precision() == "fp16_mixed";
  if (fp16_) scaler_ = std::make_unique<LossScaler>(cfg.train().loss_scale());
  bf16_convs_ = bf16_convs_from_config(cfg.train().bf16_convolutions());
  classify_ = cfg.train().loss() == TrainConfig::CLASSIFY;
  fused_step_ = net_->fused_step(cfg, *schedule_, device_.is_cuda());
  weight_ = LossWeight{cfg.train().loss_weighting(), cfg.train().min_snr_gamma()};
  if (cfg.engine().cuda_graphs()) {
    LS_CHECK_INPUT(device_.is_cuda(), "engine.cuda_graphs: this run trains on the CPU (engine.device " << cfg.engine().device()
                                                                                                       << ", backend " << comm.backend() << "); CUDA graphs need a GPU");
    graph_ = std::make_unique<TickGraph>([this](const TrainBatch& b) { return loss_of(b).sum(); }, device_);
  }
}

Worker::~Worker() { prefetch_.reset(); }  // its thread's job writes this worker's buffers

std::string Worker::input_note() const {
  std::string note = prefetch_ ? "the next tick's slice drawn during each tick (data.prefetch)"
                               : cfg_.data().prefetch() ? "each slice drawn when its tick starts (a shared coupling is collective)"
                                                        : "each slice drawn when its tick starts (data.prefetch false)";
  if (device_.is_cuda()) {
    note += feed_->pinned() ? "; pinned memory, copied on a side stream" : "; copied to the GPU";
    if (data_->has_bytes() && cfg_.train().coupling().kind() == CouplingConfig::INDEPENDENT) note += "; uint8 images made floats on the GPU";
  }
  return note;
}

std::vector<FastPath> Worker::fast_paths() const {
  std::vector<FastPath> out = net_->fast_paths(cfg_, device_.is_cuda());
  if (!device_.is_cuda()) out.push_back(FastPath::kAdam);
  return out;
}

Report Worker::play(const Frame& frame) {
  const auto t_start = Clock::now();
  const int rank = comm_.rank();
  faults_.at(FaultPhase::kTickStart, frame.tick());
  const Slice& slice = frame.slices(rank);
  LS_CHECK(slice.rank() == static_cast<uint32_t>(rank), "frame slice order");
  const uint64_t n = slice.end() - slice.begin();
  Report report;
  report.set_tick(frame.tick());
  report.set_rank(rank);
  Timings* tm = report.mutable_timings();
  tm->set_start_unix_s(unix_now());

  draw_slice(frame, n, tm);                              // 1. data
  const double loss_sum = forward_backward(frame, n, tm);  // 2. forward, 3. backward
  report.set_loss_sum(loss_sum);
  report.set_count(n);
  report.set_nonfinite_loss(!std::isfinite(loss_sum));
  report.set_signal(static_cast<uint32_t>(stop_signal()));
  tm->set_comm(reducer_->finish());                      // 4. comm: what backward did not already overlap
  tm->set_buckets(static_cast<uint32_t>(reducer_->bucket_count()));
  tm->set_buckets_overlapped(static_cast<uint32_t>(reducer_->started_in_backward()));
  optimizer_step(frame, &report, tm);                    // 5. optimizer
  tm->set_total(since(t_start));
  tm->set_peak_rss_mib(peak_resident_mib());
  if (device_.is_cuda()) tm->set_peak_device_mib(device_peak_mib(device_.index()));

  if (frame.evaluate()) {
    uint64_t count = 0;
    const EmaSwap swap(*this);  // the held-out loss of the EMA weights
    report.set_eval_loss_sum(held_out_loss_sum(&count));
    report.set_eval_count(count);
  }
  if (frame.check_hash()) {
    for (uint64_t h : state_hashes()) report.add_state_hash(h);
  }
  return report;
}

void Worker::draw_slice(const Frame& frame, uint64_t n, Timings* tm) {
  const auto t0 = Clock::now();
  const Slice& slice = frame.slices(comm_.rank());
  data_->check_unchanged();  // a packed file replaced or cut under the run: refused before this tick uses it
  const SliceKey key{frame.tick(), frame.global_batch(), slice.begin(), slice.end()};
  const double ahead = prefetch_ ? prefetch_->take(key) : -1.0;  // (rethrows what drawing it threw)
  if (ahead >= 0) {  // drawn during the tick before
    std::swap(batch_, batch_ahead_);
    std::swap(batch_dev_, batch_dev_ahead_);
  } else if (n > 0 || shared_coupling_) {
    prepare(key, &batch_, &batch_dev_);
  }
  if (n > 0 && device_.is_cuda()) feed_->receive(batch_dev_);
  if (faults_.at(FaultPhase::kData, frame.tick(), n) && n > 0) (device_.is_cuda() ? batch_dev_ : batch_).z.fill_(std::numeric_limits<float>::quiet_NaN());
  // the next tick's slice, guessed to be this one's (the split changes only under engine.balance AUTO); not while a
  // graph is still to be captured: CUDA refuses a capture while another thread allocates or copies on the device
  if (prefetch_ && n > 0 && !(graph_ && !graph_->captured())) {
    const SliceKey next{frame.tick() + 1, frame.global_batch(), slice.begin(), slice.end()};
    prefetch_->start(next, [this, next] { prepare(next, &batch_ahead_, &batch_dev_ahead_); });
  }
  tm->set_data(since(t0));
  tm->set_data_ahead(std::max(ahead, 0.0));
}

void Worker::prepare(const SliceKey& key, TrainBatch* host, TrainBatch* dev) {
  feed_->bind_thread();
  batches_->make(key.tick, key.global_batch, key.begin, key.end, host);
  if (graph_) host->path = path_columns(*schedule_, host->t);  // a graph cannot read the times back to the host
  if (device_.is_cuda() && key.end > key.begin) feed_->send(*host, dev);
}

double Worker::forward_backward(const Frame& frame, uint64_t n, Timings* tm) {
  // A rank with an empty slice computes nothing but still takes part in the reduce. The fused step writes every
  // gradient instead of adding to it, so only autograd needs the buffer zeroed.
  if (!(n > 0 && fused_step_)) params_->zero_grad();
  const uint64_t micro = cfg_.train().micro_batch();
  const uint64_t chunk = micro > 0 ? std::min<uint64_t>(micro, n) : n;
  // the reducer's hooks go live before the backward that completes the buckets: chunked, the last chunk's; a graph's
  // replay runs no hooks, so with engine.cuda_graphs the buckets start after the chunks
  const bool begin_later = n > 0 && (chunk < n || graph_);
  if (!begin_later) reducer_->begin();
  if (n == 0) return 0.0;
  if (fused_step_) {  // the network's own step: loss and gradients by hand, no autograd
    double forward_s = 0, backward_s = 0;
    const double loss_sum = fused_step_->run(batch_, static_cast<int64_t>(frame.global_batch()), [this](size_t p) { reducer_->on_ready(p); },
                                             &forward_s, &backward_s);
    tm->set_forward(forward_s);
    tm->set_backward(backward_s);
    return loss_sum;
  }
  // gradient accumulation: chunks of at most train.micro_batch samples, gradients adding up in the flat buffer; the
  // reducer's hooks are live only in the last chunk's backward, so its buckets start as that backward fills them
  const TrainBatch& whole = device_.is_cuda() ? batch_dev_ : batch_;
  const AutocastScope autocast(autocast_on(), device_.is_cuda(), bf16_convs_, fp16_);
  // fp16_mixed: the loss times the scale, so that float16's gradients stay above its smallest numbers (a fault
  // "overflow" scales by Inf: gradients that are not finite, as float16 overflowing makes them)
  const double scale = !scaler_ ? 1.0
                       : faults_.at(FaultPhase::kBackward, frame.tick()) ? std::numeric_limits<double>::infinity()
                                                                         : scaler_->scale();
  double loss_sum = 0.0, forward_s = 0.0, backward_s = 0.0;
  for (uint64_t b = 0; b < n; b += chunk) {
    const uint64_t e = std::min(n, b + chunk);
    const TrainBatch part = chunk == n ? whole : narrow_batch(whole, static_cast<int64_t>(b), static_cast<int64_t>(e - b));
    auto t0 = Clock::now();
    if (graph_) {  // forward and backward in one replay
      loss_sum += graph_->run(part, scale / static_cast<double>(frame.global_batch())).item<double>();
      forward_s += since(t0);
      continue;
    }
    const torch::Tensor part_sum = loss_of(part).sum();
    const torch::Tensor loss = part_sum * (scale / static_cast<double>(frame.global_batch()));
    forward_s += since(t0);
    t0 = Clock::now();
    if (e == n && chunk < n) reducer_->begin();
    loss.backward();
    backward_s += since(t0);
    loss_sum += part_sum.item<double>();
  }
  if (graph_) reducer_->begin();  // (finish() starts every bucket)
  tm->set_forward(forward_s);
  tm->set_backward(backward_s);
  return loss_sum;
}

void Worker::optimizer_step(const Frame& frame, Report* report, Timings* tm) {
  const auto t0 = Clock::now();
  torch::NoGradGuard no_grad;
  if (scaler_) params_->grads().mul_(1.0 / scaler_->scale());  // unscaled (an Inf stays Inf); the scale of this tick
  const double norm = params_->grads().norm().item<double>();
  report->set_grad_norm(norm);
  bool step = std::isfinite(norm);  // the reduced gradient is the same on every rank: all decide alike
  if (scaler_) {
    step = scaler_->update(step);
    report->set_overflow(!step);
    report->set_loss_scale(scaler_->scale());  // for the next tick
  }
  if (step) {
    const double clip = cfg_.optim().grad_clip();
    if (clip > 0 && norm > clip) params_->grads().mul_(clip / (norm + 1e-6));
    const double ema_weight = next_ema_weight();  // the EMA in Adam's pass over memory
    adam_->step(params_->values(), params_->grads(), frame.lr(), ema_weight > 0 ? &ema_ : nullptr, ema_weight);
    if (faults_.at(FaultPhase::kStep, frame.tick())) params_->values()[0].add_(1e-3);
    update_target();
  } else {
    report->set_skipped(true);
  }
  tm->set_optimizer(since(t0));
}

torch::Tensor Worker::loss_of(const TrainBatch& b) {
  if (classify_) return classification_loss_per_sample(*net_, b);
  if (tvm_) {
    const TvmConfig& tc = cfg_.train().tvm();
    return tvm_loss_per_sample(*net_, *target_net_, b, tc.jvp() == TvmConfig::FORWARD ? JvpMethod::kForward : JvpMethod::kDoubleBackward,
                               tc.fm_weight(), data_->num_classes());
  }
  return loss_per_sample(*net_, *schedule_, prediction_, b, weight_);
}

double Worker::held_out_loss_sum(uint64_t* count) {
  const uint64_t total = cfg_.train().eval_samples();
  const uint64_t begin = total * comm_.rank() / comm_.size(), end = total * (comm_.rank() + 1) / comm_.size();
  *count = end - begin;
  if (begin == end) return 0.0;
  torch::NoGradGuard no_grad;
  double sum = 0.0;
  // at most 4096 points or 256 images through the network at once (an image transformer's attention weights grow with
  // the square of its tokens), and no more than train.micro_batch
  uint64_t chunk = data_->item_shape().size() == 3 ? 256 : 4096;
  if (cfg_.train().micro_batch() > 0) chunk = std::min<uint64_t>(chunk, cfg_.train().micro_batch());
  for (uint64_t b = begin; b < end; b += chunk) {
    held_out_->make(0, total, b, std::min(end, b + chunk), &eval_batch_);
    const TrainBatch on_device = to_device(eval_batch_, device_);
    const AutocastScope autocast(autocast_on(), device_.is_cuda(), bf16_convs_, fp16_);
    sum += loss_of(on_device).sum().item<double>();
  }
  return sum;
}

std::vector<std::string> Worker::state_tensor_names() const {
  std::vector<std::string> names;
  for (const char* buffer : {"params", "adam.exp_avg", "adam.exp_avg_sq", "ema", "target"}) {
    if (std::string(buffer) == "ema" && !ema_.defined()) continue;
    if (std::string(buffer) == "target" && !target_params_) continue;
    for (const ParamSpan& s : params_->spans()) names.push_back(std::string(buffer) + "/" + s.name);
  }
  return names;
}

std::vector<uint64_t> Worker::state_hashes() const {
  std::vector<uint64_t> out;
  const torch::Tensor none;
  const std::initializer_list<const torch::Tensor*> buffers = {&params_->values(), &adam_->exp_avg(), &adam_->exp_avg_sq(), &ema_,
                                                               target_params_ ? &target_params_->values() : &none};
  for (const torch::Tensor* buffer : buffers) {
    if (!buffer->defined()) continue;
    const torch::Tensor host = buffer->to(torch::kCPU).contiguous();
    const float* p = host.data_ptr<float>();
    for (const ParamSpan& s : params_->spans()) out.push_back(hash_bytes(p + s.offset, s.numel * sizeof(float)));
  }
  return out;
}

torch::Tensor Worker::state_tensor(const std::string& name) const {
  const size_t slash = name.find('/');
  const std::string buffer = name.substr(0, slash), param = name.substr(slash + 1);
  const torch::Tensor* flat = buffer == "params" ? &params_->values()
                              : buffer == "adam.exp_avg" ? &adam_->exp_avg()
                              : buffer == "ema" ? &ema_
                              : buffer == "target" ? &target_params_->values()
                              : &adam_->exp_avg_sq();
  for (const ParamSpan& s : params_->spans())
    if (s.name == param) return flat->narrow(0, s.offset, s.numel).to(torch::kCPU).contiguous();
  throw InternalError("no state tensor " + name);
}

CheckpointData Worker::state() const {
  CheckpointData d;
  d.params = params_->spans();
  d.optimizer_step = adam_->step_count();
  d.tensors = {{"params", params_->values().to(torch::kCPU).clone()},
               {"adam.exp_avg", adam_->exp_avg().to(torch::kCPU).clone()},
               {"adam.exp_avg_sq", adam_->exp_avg_sq().to(torch::kCPU).clone()}};
  if (ema_.defined()) d.tensors.emplace_back("ema", ema_.to(torch::kCPU).clone());
  if (target_params_) d.tensors.emplace_back("target", target_params_->values().to(torch::kCPU).clone());
  if (scaler_) {
    d.loss_scale = scaler_->scale();
    d.loss_scale_good_ticks = scaler_->good_ticks();
  }
  return d;
}

void Worker::restore(const CheckpointData& ckpt, const std::string& origin) {
  load_params(*params_, ckpt, origin);
  torch::NoGradGuard no_grad;
  auto copy = [&](torch::Tensor& into, const char* name) {
    const torch::Tensor& t = ckpt.tensor(name, origin);
    LS_CHECK_INPUT(t.numel() == into.numel(), origin << ": payload '" << name << "' has " << t.numel() << " numbers, the model " << into.numel());
    into.copy_(t.reshape({-1}));
  };
  copy(adam_->exp_avg(), "adam.exp_avg");
  copy(adam_->exp_avg_sq(), "adam.exp_avg_sq");
  adam_->set_step_count(ckpt.optimizer_step);
  if (ema_.defined()) {
    if (has_payload(ckpt, "ema")) copy(ema_, "ema");
    else ema_.copy_(params_->values());  // a checkpoint from a run without EMA: start the average here
  }
  // a checkpoint of a run in another precision (no scale): the scale starts at init_scale
  if (scaler_ && ckpt.loss_scale > 0) scaler_->restore(ckpt.loss_scale, ckpt.loss_scale_good_ticks);
  if (target_params_) {
    if (has_payload(ckpt, "target")) copy(target_params_->values(), "target");
    else target_params_->values().copy_(params_->values());  // a checkpoint without target weights: start them here
  }
}

void Worker::update_target() {
  if (!target_params_) return;
  const double d = cfg_.train().tvm().target_decay();
  if (d > 0) target_params_->values().lerp_(params_->values(), 1.0 - d);
  else target_params_->values().copy_(params_->values());
}

double Worker::next_ema_weight() const {
  const double n = static_cast<double>(adam_->step_count() + 1);  // the optimizer steps after this one
  double d = cfg_.train().ema_decay();
  if (d <= 0 || !ema_.defined()) return 0.0;
  if (cfg_.train().ema_warmup()) d = std::min(d, (1.0 + n) / (10.0 + n));
  return 1.0 - d;  // ema + (1 - d) (theta - ema)
}

Worker::EmaSwap::EmaSwap(Worker& w, bool active) : w_(w) {
  if (!active || !w_.ema_.defined()) return;
  torch::NoGradGuard no_grad;
  raw_ = w_.params_->values().clone();
  w_.params_->values().copy_(w_.ema_);
}

Worker::EmaSwap::~EmaSwap() {
  if (!raw_.defined()) return;
  torch::NoGradGuard no_grad;
  w_.params_->values().copy_(raw_);
}

}  // namespace lockstep
