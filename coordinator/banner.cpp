#include "coordinator/banner.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

#include "common/kernels/fast_paths.h"
#include "common/model/autocast.h"
#include "common/model/device_memory.h"
#include "common/util/memory.h"
#include "common/util/blas_info.h"
#include "common/util/heap_pages.h"

namespace lockstep {

std::string describe_hosts(Comm& comm) {
  char name[256] = {0};
  if (::gethostname(name, sizeof name - 1) != 0) std::snprintf(name, sizeof name, "?");
  const std::vector<std::string> all = comm.gather(name, 0);
  std::vector<std::pair<std::string, std::vector<int>>> hosts;
  for (size_t r = 0; r < all.size(); ++r) {
    auto it = std::find_if(hosts.begin(), hosts.end(), [&](const auto& h) { return h.first == all[r]; });
    if (it == hosts.end()) it = hosts.insert(hosts.end(), {all[r], {}});
    it->second.push_back(static_cast<int>(r));
  }
  std::string out;
  for (const auto& [host, ranks] : hosts) {
    std::string list;  // runs of consecutive ranks as "a-b"
    for (size_t i = 0; i < ranks.size();) {
      size_t j = i;
      while (j + 1 < ranks.size() && ranks[j + 1] == ranks[j] + 1) ++j;
      list += (list.empty() ? "" : ", ") + std::to_string(ranks[i]) + (j > i ? "-" + std::to_string(ranks[j]) : "");
      i = j + 1;
    }
    out += (out.empty() ? "" : ", ") + host + (ranks.size() == 1 ? " (rank " : " (ranks ") + list + ")";
  }
  return out;
}

void print_run_banner(const LoadedConfig& loaded, const std::string& run_dir, const std::string& config_text, Comm& comm,
                      const std::string& hosts, const std::string& threads, const ResumePoint* resume) {
  const Config& cfg = loaded.config;
  const BlasInfo blas = loaded_blas();
  std::fprintf(stderr, "lockstep %s: training '%s' from %s\n", LOCKSTEP_VERSION, cfg.name().c_str(), loaded.source.c_str());
  std::fprintf(stderr, "  run directory : %s\n", run_dir.c_str());
  if (resume) {
    std::fprintf(stderr, "  resuming      : %s at tick %llu (written by lockstep %s on %u rank%s)\n", resume->path.c_str(),
                 static_cast<unsigned long long>(resume->state.tick), resume->state.version.c_str(), resume->state.world_size,
                 resume->state.world_size == 1 ? "" : "s");
  }
  std::fprintf(stderr, "  world         : %d rank%s (%s), %s\n", comm.size(), comm.size() == 1 ? "" : "s", comm.backend().c_str(),
               threads.c_str());
  std::fprintf(stderr, "  hosts         : %s\n", hosts.c_str());
  std::fprintf(stderr, "  all-reduce    : %s\n", comm.allreduce_path().c_str());
  std::fprintf(stderr, "  BLAS          : %s%s\n", blas.library.empty() ? "none found" : blas.library.c_str(),
               blas.config.empty() ? "" : (" (" + blas.config + ")").c_str());
  if (!blas.core_note.empty()) std::fprintf(stderr, "                  %s\n", blas.core_note.c_str());
  std::fprintf(stderr, "  heap          : %s\n", heap_note().c_str());
  if (cfg.train().precision() == "bf16_mixed") {
    const std::string& setting = cfg.train().bf16_convolutions();
    const bool native = bf16_convs_from_config(setting) == Bf16Convs::kNative;
    std::fprintf(stderr, "  bf16 (CPU)    : convolutions %s (train.bf16_convolutions %s)\n",
                 native ? "in oneDNN's bfloat16 kernels" : "in float32 arithmetic on bfloat16-rounded operands", setting.c_str());
  }
  if (cfg.engine().shard_optimizer()) {
    std::fprintf(stderr, "  warning: engine.shard_optimizer was removed (it measured no gain) and is ignored; every rank steps "
                         "the whole optimizer, with the same results\n");
  }
  if (blas.reference) {
    std::fprintf(stderr, "  warning: the reference BLAS is loaded; matrix products are ~15x slower than with OpenBLAS "
                         "(apt-get install libopenblas0-pthread)\n");
  }
  std::fprintf(stderr, "--- effective config ---\n%s------------------------\n", config_text.c_str());
}

void print_model_banner(const Config& cfg, Worker& worker) {
  const size_t buckets = worker.reducer().bucket_count();
  std::fprintf(stderr, "  model         : %s, %lld parameters in %zu gradient bucket%s; data: %s (dim %lld); path: %s\n",
               cfg.model().name().c_str(), static_cast<long long>(parameter_count(worker.net())), buckets, buckets == 1 ? "" : "s",
               worker.data().name().c_str(), static_cast<long long>(worker.data().dim()), worker.schedule().name().c_str());
  if (!worker.grad_buffer_note().empty()) std::fprintf(stderr, "  gradients     : %s\n", worker.grad_buffer_note().c_str());
  if (worker.init_load().loaded + worker.init_load().excluded > 0) {  // a new run that read model.init_from
    const InitLoad& l = worker.init_load();
    std::fprintf(stderr, "  init from     : %s (%lld tensors loaded%s)\n", cfg.model().init_from().c_str(), static_cast<long long>(l.loaded),
                 l.excluded > 0 ? (", " + std::to_string(l.excluded) + " left at their initialisation").c_str() : "");
  }
  const bool gpu = worker.device().is_cuda();
  std::fprintf(stderr, "  device        : %s (engine.device %s)%s\n", gpu ? ("GPU " + std::to_string(worker.device().index())).c_str() : "the CPU",
               cfg.engine().device().c_str(),
               cfg.engine().cuda_graphs() ? ("; forward and backward replayed as a CUDA graph from tick " + std::to_string(TickGraph::kWarmup + 1) +
                                             " (engine.cuda_graphs)").c_str()
                                          : "");
  std::fprintf(stderr, "  input         : %s\n", worker.input_note().c_str());
  if (cfg.train().precision() == "fp16_mixed") {
    const LossScaleConfig& ls = cfg.train().loss_scale();
    std::fprintf(stderr, "  fp16          : %s; loss scale from %g, x%g after %u finite ticks, x%g and the tick skipped on overflow\n",
                 gpu ? "float16 autocast on CUDA"
                     : "on the CPU the network runs in float32 (LibTorch has no float16 matrix products there), under the same loss scaling",
                 ls.init_scale(), ls.growth_factor(), ls.growth_interval(), ls.backoff_factor());
  }
  std::fprintf(stderr, "  fast paths    : %s\n", describe_fast_paths(worker.fast_paths()).c_str());
  const TrainingMemory& m = worker.memory_estimate();
  const std::string device = device_memory_source();
  std::fprintf(stderr, "  memory        : about %s a rank (weights and optimizer %s, activations of %llu samples at once %s%s%s); "
               "measured peaks: metrics.jsonl (peak_rss_mib%s), last lines\n",
               bytes_text(static_cast<uint64_t>(m.state_bytes + m.activation_bytes)).c_str(), bytes_text(static_cast<uint64_t>(m.state_bytes)).c_str(),
               static_cast<unsigned long long>(worker.samples_at_once()), bytes_text(static_cast<uint64_t>(m.activation_bytes)).c_str(),
               cfg.train().micro_batch() > 0 ? " (train.micro_batch)" : "", cfg.model().checkpoint_activations() ? ", checkpointed" : "",
               device.empty() ? "" : ", peak_device_mib");
}

}  // namespace lockstep
