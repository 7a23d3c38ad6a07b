// The size of a config's network before it is built: its parameter count and a rough bound on the activation
// memory a training sample needs, so that a config too large for this machine is refused naming its fields instead
// of failing inside LibTorch's allocator. No torch.
//
// Contract: estimate_model() mirrors the constructors of common/model/{mlp,unet,dit,classifier}.cpp (the parameter
// count is theirs, exactly, for these architectures) and sizes the activations autograd keeps per sample (an upper
// estimate within a small factor). check_training_memory() throws BadInput when the parameters with their gradient,
// Adam's moments, EMA and TVM target, plus the activations of the samples a rank plays at once (its slice, or train.micro_batch), exceed the memory available; the
// message names the fields that size them.
#pragma once

#include <cstdint>
#include <vector>

namespace lockstep {

class Config;

struct ModelSize {
  uint64_t parameters = 0;
  uint64_t activation_bytes_per_sample = 0;
};

ModelSize estimate_model(const Config& cfg, const std::vector<int64_t>& item_shape, int64_t num_classes);
// What check_training_memory() weighs: the bytes of the parameters with gradient, Adam, EMA and TVM target, and those
// of the activations of the samples a rank plays at once.
struct TrainingMemory {
  double state_bytes = 0, activation_bytes = 0;
};
// Returns the estimate it checked (the start-up banner prints it).
TrainingMemory check_training_memory(const Config& cfg, const std::vector<int64_t>& item_shape, int64_t num_classes, uint64_t slice_samples);

}  // namespace lockstep
