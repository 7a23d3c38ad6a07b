#include "common/model/activation_checkpoint.h"

#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/autograd.h>

#include <memory>
#include <optional>

#include "common/model/autocast.h"
#include "common/util/error.h"

namespace lockstep {
namespace {

thread_local bool no_checkpoint = false;

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The block, its input count and the forward pass's autocast settings, carried to backward in the context.
struct Recompute : torch::CustomClassHolder {
  BlockFn fn;
  size_t inputs = 0;
  bool cpu_bf16 = false, cuda_bf16 = false, cuda_half = false;
  Bf16Convs convs = Bf16Convs::kNative;
};

class CheckpointFunction : public torch::autograd::Function<CheckpointFunction> {
 public:
  // args: the block's inputs, then its parameters
  // (a TensorList: Function::apply collects the variables of TensorList arguments, not of std::vector ones)
  static variable_list forward(AutogradContext* ctx, at::TensorList args, c10::intrusive_ptr<Recompute> r) {
    const std::vector<torch::Tensor> in(args.begin(), args.begin() + static_cast<std::ptrdiff_t>(r->inputs));
    // grad mode is off here (Function::apply); autocast's weight-cast cache off too, or it would keep casts without a
    // graph for the recomputation and for every later use of the weights in this scope
    const bool cache = at::autocast::is_autocast_cache_enabled();
    at::autocast::set_autocast_cache_enabled(false);
    torch::Tensor out;
    try {
      out = r->fn(in);
    } catch (...) {
      at::autocast::set_autocast_cache_enabled(cache);
      throw;
    }
    at::autocast::set_autocast_cache_enabled(cache);
    ctx->save_for_backward(args.vec());
    ctx->saved_data["recompute"] = c10::IValue::make_capsule(std::move(r));
    return {out};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    const auto r = c10::static_intrusive_pointer_cast<Recompute>(ctx->saved_data["recompute"].toCapsule());
    const variable_list saved = ctx->get_saved_variables();
    // the block again, with a graph, on leaves that stand for the inputs; under the forward's autocast (backward may
    // run on another thread, as it does on CUDA)
    std::vector<torch::Tensor> leaves, wrt;
    for (size_t i = 0; i < saved.size(); ++i) {
      if (i < r->inputs) {
        torch::Tensor leaf = saved[i].detach();
        if (leaf.is_floating_point()) leaf.requires_grad_(true);
        leaves.push_back(leaf);
        if (leaf.requires_grad()) wrt.push_back(leaf);
      } else {
        wrt.push_back(saved[i]);
      }
    }
    torch::Tensor out;
    {
      const torch::AutoGradMode grad_on(true);
      std::optional<AutocastScope> autocast;
      const bool want = r->cuda_bf16 || r->cuda_half || r->cpu_bf16;
      const bool cuda = r->cuda_bf16 || r->cuda_half;
      const bool have = cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
      if (want && !have) autocast.emplace(true, cuda, r->convs, r->cuda_half);
      out = r->fn(leaves);
    }
    LS_CHECK(grad_out.size() == 1 && grad_out[0].defined(), "checkpointed block: backward got " << grad_out.size() << " gradients");
    const variable_list grads = torch::autograd::grad({out}, wrt, {grad_out[0]}, /*retain_graph=*/false, /*create_graph=*/false,
                                                      /*allow_unused=*/true);
    variable_list result(saved.size() + 1);  // one for each tensor of args, one (undefined) for r
    size_t k = 0;
    for (size_t i = 0; i < saved.size(); ++i) {
      if (i >= r->inputs || leaves[i].requires_grad()) result[i] = grads[k++];
    }
    return result;
  }
};

}  // namespace

torch::Tensor checkpointed(BlockFn fn, const std::vector<torch::Tensor>& inputs, const std::vector<torch::Tensor>& params) {
  auto r = c10::make_intrusive<Recompute>();
  r->fn = std::move(fn);
  r->inputs = inputs.size();
  r->cpu_bf16 = at::autocast::is_cpu_enabled() && at::autocast::get_autocast_cpu_dtype() == at::kBFloat16;
  r->cuda_bf16 = at::autocast::is_enabled() && at::autocast::get_autocast_gpu_dtype() == at::kBFloat16;
  r->cuda_half = at::autocast::is_enabled() && at::autocast::get_autocast_gpu_dtype() == at::kHalf;
  r->convs = bf16_convs_in_float32() ? Bf16Convs::kFloat32 : Bf16Convs::kNative;
  variable_list args(inputs.begin(), inputs.end());
  args.insert(args.end(), params.begin(), params.end());
  return CheckpointFunction::apply(at::TensorList(args), std::move(r))[0];
}

bool checkpointing_allowed() { return torch::GradMode::is_enabled() && !no_checkpoint; }

NoCheckpointScope::NoCheckpointScope() : previous_(no_checkpoint) { no_checkpoint = true; }
NoCheckpointScope::~NoCheckpointScope() { no_checkpoint = previous_; }

}  // namespace lockstep
