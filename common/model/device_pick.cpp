#include "common/model/device_pick.h"

#include <torch/torch.h>

#include <cstdlib>

#include "common/model/net.h"
#include "common/util/error.h"
#include "common/util/strings.h"

namespace lockstep {

void check_device_flag(const std::string& flag, const std::string& what) {
  LS_CHECK_INPUT(flag == "auto" || flag == "cpu" || flag == "cuda", what << " must be auto, cpu or cuda, got '" << clip(flag, 40) << "'");
}

c10::Device pick_device(const std::string& flag, int local_rank, const std::string& what) {
  check_device_flag(flag, what);
  if (flag == "cpu") return c10::Device(c10::kCPU);
  const int64_t gpus = torch::cuda::is_available() ? static_cast<int64_t>(torch::cuda::device_count()) : 0;
  if (gpus == 0) {
    const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
    LS_CHECK_INPUT(flag == "auto", what << " cuda: LibTorch sees no CUDA device ("
                                       << (visible ? "CUDA_VISIBLE_DEVICES=" + clip(visible, 60) + "; " : std::string())
                                       << "a LibTorch built without CUDA, such as Debian's, never does); use " << what << " cpu or auto");
    return c10::Device(c10::kCPU);
  }
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(std::max(local_rank, 0) % gpus));
}

c10::Device training_device(const std::string& setting, bool gpu_backend, int world, int local_rank) {
  const std::string what = "engine.device";
  check_device_flag(setting, what);
  LS_CHECK_INPUT(!(gpu_backend && setting == "cpu"), "engine.device cpu: engine.backend nccl sums gradients on GPUs; choose another "
                                                     "engine.backend to train on the CPU");
  LS_CHECK_INPUT(gpu_backend || world == 1 || setting != "cuda",
                 "engine.device cuda: " << world << " ranks sum their gradients on GPUs only with engine.backend nccl (this run's backend "
                                        << "sums them in host memory)");
  if (gpu_backend) return pick_device("cuda", local_rank, what);
  if (world > 1) return c10::Device(c10::kCPU);
  return pick_device(setting, local_rank, what);
}

void place_net(Net& net, const c10::Device& device) {
  if (net.parameters().empty()) return;
  net.to(device);
}

std::string where_text(const c10::Device& device) { return device.is_cuda() ? "GPUs (one a rank)" : "the CPU"; }

}  // namespace lockstep
