#include "launch/device_flag.h"

#include <torch/torch.h>

#include <cstdlib>

#include "common/model/net.h"
#include "common/util/error.h"
#include "common/util/strings.h"

namespace lockstep {

void check_device_flag(const std::string& flag) {
  LS_CHECK_INPUT(flag == "auto" || flag == "cpu" || flag == "cuda", "--device must be auto, cpu or cuda, got '" << clip(flag, 40) << "'");
}

c10::Device pick_device(const std::string& flag, int local_rank) {
  check_device_flag(flag);
  if (flag == "cpu") return c10::Device(c10::kCPU);
  const int64_t gpus = torch::cuda::is_available() ? static_cast<int64_t>(torch::cuda::device_count()) : 0;
  if (gpus == 0) {
    const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
    LS_CHECK_INPUT(flag == "auto", "--device cuda: LibTorch sees no CUDA device ("
                                       << (visible ? "CUDA_VISIBLE_DEVICES=" + clip(visible, 60) + "; " : std::string())
                                       << "a LibTorch built without CUDA, such as Debian's, never does); use --device cpu or auto");
    return c10::Device(c10::kCPU);
  }
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(std::max(local_rank, 0) % gpus));
}

void place_net(Net& net, const c10::Device& device) {
  if (net.parameters().empty()) return;
  net.to(device);
}

std::string where_text(const c10::Device& device) { return device.is_cuda() ? "GPUs (one a rank)" : "the CPU"; }

}  // namespace lockstep
