// The --device flag of `lockstep sample` and `lockstep eval`: where the network runs.
//
// Contract:
// - check_device_flag(text) accepts "auto", "cpu" and "cuda", and throws BadInput naming --device otherwise (called
//   before anything is loaded).
// - pick_device(flag, local_rank): "cpu" is the CPU; "cuda" is the GPU of this rank, local_rank modulo the GPUs
//   LibTorch sees (CUDA_VISIBLE_DEVICES and SLURM's GPU binding decide which those are), and BadInput when it sees
//   none; "auto" is that GPU when there is one, else the CPU.
// - place_net(net, device) moves the network there; a network without parameters (the closed-form oracle, which
//   holds the data) stays on the CPU, where the samplers then run it.
// - where_text(device): how the summary lines name it, "the CPU" or "GPUs (one a rank)".
#pragma once

#include <c10/core/Device.h>

#include <string>

namespace lockstep {

class Net;

void check_device_flag(const std::string& flag);
c10::Device pick_device(const std::string& flag, int local_rank);
void place_net(Net& net, const c10::Device& device);
std::string where_text(const c10::Device& device);

}  // namespace lockstep
