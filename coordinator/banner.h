// The start-up banner of `lockstep train`, on stderr (rank 0), in two parts: the run before anything is built, then
// the model once the worker exists.
//
// Contract: describe_hosts() is collective (every rank sends its hostname) and returns, on rank 0, "node1 (ranks
// 0-3), node2 (ranks 4-7)". print_run_banner() names the version, config source, run directory, the checkpoint a
// resumed run continues from, the world (ranks, backend, threads, hosts), where gradients are summed, the BLAS
// library, the bf16 convolution choice, and the effective config. print_model_banner() names the model, its
// parameter count and gradient buckets, the data set and path, where the gradient buffer lives, and the CPU fast
// paths that are active (common/kernels/fast_paths.h).
#pragma once

#include <string>

#include "common/comm/comm.h"
#include "common/config/config.h"
#include "coordinator/train_loop.h"
#include "worker/worker.h"

namespace lockstep {

std::string describe_hosts(Comm& comm);
void print_run_banner(const LoadedConfig& loaded, const std::string& run_dir, const std::string& config_text, Comm& comm,
                      const std::string& hosts, const std::string& threads, const ResumePoint* resume);
void print_model_banner(const Config& cfg, Worker& worker);

}  // namespace lockstep
