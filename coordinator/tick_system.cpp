#include "coordinator/tick_system.h"

namespace lockstep {

std::vector<std::unique_ptr<TickSystem>> make_tick_systems(Run& run) {
  std::vector<std::unique_ptr<TickSystem>> systems;
  systems.push_back(make_progress_system(run));
  systems.push_back(make_trace_system(run));
  systems.push_back(make_desync_probe(run));
  systems.push_back(make_nonfinite_guard(run));
  systems.push_back(make_sample_eval_system(run));
  systems.push_back(make_checkpoint_system(run));
  systems.push_back(make_preemption_system(run));
  return systems;
}

}  // namespace lockstep
