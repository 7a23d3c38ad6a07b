// Fault injection for the engine's negative tests: one injector, asked once per phase of a tick. No torch.
//
// LOCKSTEP_FAULT="KIND:RANK:TICK" (unset in normal use) arms one fault on one rank:
//   kill       at the start of tick TICK, the rank sends itself SIGKILL (a lost rank)
//   stall      at the start of tick TICK, the rank sleeps for an hour (a hung rank)
//   term       at the start of tick TICK, the rank sends itself SIGTERM and waits until its signal thread has it
//              (preemption at a known tick)
//   slow       from tick TICK on, the rank's data phase takes 200 µs more per sample of its slice (a slower core:
//              what engine.balance AUTO should move samples away from); slow:RANK:TICK:MICROS sets the microseconds
//              (at most 1,000,000), for models whose tick would hide 200 µs in its noise
//   nan        in the data phase of tick TICK, the rank's slice becomes NaN, and so its loss and gradients (a
//              diverging batch)
//   perturb    after the optimizer step of tick TICK, the rank adds 1e-3 to its first parameter (a desynchronised
//              replica)
//   ckpt_kill  when it writes the checkpoint after tick TICK, the rank writes half of the temporary file and sends
//              itself SIGKILL (a crash during a checkpoint write; the checkpoint is rank 0's, so RANK is 0)
//   overflow   in the backward of tick TICK, with train.precision fp16_mixed, the rank multiplies its loss by Inf
//              instead of the loss scale: its gradients are not finite, its loss is (what float16 does to
//              gradients under a too-large scale)
//   overflow_from  the same at every tick from TICK on (gradients that are not finite at any scale)
// Contract: FaultInjector(rank) reads the variable once (BadInput naming it when malformed). at(phase, tick,
// samples) is the one call per phase: faults that act alone act there (kill, stall, term, slow); it returns true
// when the caller must act (nan at kData, overflow and overflow_from at kBackward, perturb at kStep, ckpt_kill at
// kCheckpoint), false otherwise.
#pragma once

#include <cstdint>
#include <string>

namespace lockstep {

enum class FaultPhase { kTickStart, kData, kBackward, kStep, kCheckpoint };

class FaultInjector {
 public:
  explicit FaultInjector(int rank);
  bool at(FaultPhase phase, uint64_t tick, uint64_t samples = 0) const;
  bool armed() const { return !kind_.empty(); }

 private:
  std::string kind_;  // "" when no fault is armed for this rank
  uint64_t tick_ = 0;
  uint64_t slow_micros_ = 0;  // slow's delay per sample
};

}  // namespace lockstep
