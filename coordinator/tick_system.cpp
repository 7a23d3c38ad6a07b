#include "coordinator/tick_system.h"

namespace lockstep {

SampledSet sample_from_run(Run& run, const SampleSpec& spec, uint64_t num, const std::function<void(uint64_t, const torch::Tensor&)>& on_chunk,
                           bool stop_on_signal) {
  const Worker::EmaSwap ema(run.worker, run.cfg.sample().use_ema());
  return sample_distributed(run.comm, run.worker.net(), run.worker.schedule(), spec, num, run.cfg.sample().chunk(), num, nullptr, false,
                            on_chunk, stop_on_signal);
}

std::vector<std::unique_ptr<TickSystem>> make_tick_systems(Run& run) {
  std::vector<std::unique_ptr<TickSystem>> systems;
  systems.push_back(make_sample_eval_system(run));
  systems.push_back(make_progress_system(run));
  systems.push_back(make_trace_system(run));
  systems.push_back(make_desync_probe(run));
  systems.push_back(make_nonfinite_guard(run));
  systems.push_back(make_checkpoint_system(run));
  systems.push_back(make_preemption_system(run));
  return systems;
}

}  // namespace lockstep
