// Where a network runs: the --device flag of `lockstep sample` and `lockstep eval`, and engine.device of training.
//
// Contract:
// - check_device_flag(text, what) accepts "auto", "cpu" and "cuda", and throws BadInput naming `what` (the flag or
//   the config field) otherwise (called before anything is loaded).
// - pick_device(flag, local_rank, what): "cpu" is the CPU; "cuda" is the GPU of this rank, local_rank modulo the GPUs
//   LibTorch sees (CUDA_VISIBLE_DEVICES and SLURM's GPU binding decide which those are), and BadInput when it sees
//   none; "auto" is that GPU when there is one, else the CPU.
// - training_device(setting, gpu_backend, world, local_rank): engine.device. Backend nccl (gpu_backend) trains on
//   this rank's GPU ("cpu" refused); so does a world of one with "cuda", or with "auto" when LibTorch sees a GPU;
//   more ranks with a CPU backend train on the CPU ("cuda" refused: their gradients are summed in host memory).
// - place_net(net, device) moves the network there; a network without parameters (the closed-form oracle, which
//   holds the data) stays on the CPU, where the samplers then run it.
// - where_text(device): how the summary lines name it, "the CPU" or "GPUs (one a rank)".
#pragma once

#include <c10/core/Device.h>

#include <string>

namespace lockstep {

class Net;

void check_device_flag(const std::string& flag, const std::string& what = "--device");
c10::Device pick_device(const std::string& flag, int local_rank, const std::string& what = "--device");
c10::Device training_device(const std::string& setting, bool gpu_backend, int world, int local_rank);
void place_net(Net& net, const c10::Device& device);
std::string where_text(const c10::Device& device);

}  // namespace lockstep
