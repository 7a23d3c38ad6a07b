#include "common/loss/tvm.h"

#include <torch/csrc/autograd/autograd.h>

#include "common/model/activation_checkpoint.h"
#include "common/util/error.h"

namespace lockstep {
namespace {

// Leaves a forward-mode level however the forward pass ends.
class DualLevel {
 public:
  DualLevel() : level_(torch::autograd::forward_ad::enter_dual_level()) {}
  ~DualLevel() { torch::autograd::forward_ad::exit_dual_level(level_); }
  DualLevel(const DualLevel&) = delete;
  DualLevel& operator=(const DualLevel&) = delete;
  int64_t level() const { return static_cast<int64_t>(level_); }

 private:
  uint64_t level_;
};

torch::Tensor col(const torch::Tensor& v) { return v.view({-1, 1}); }

}  // namespace

std::pair<torch::Tensor, torch::Tensor> flow_map_jvp(Net& net, const torch::Tensor& x, const torch::Tensor& t,
                                                     const torch::Tensor& s, const torch::Tensor& y, const torch::Tensor& w,
                                                     JvpMethod method) {
  // checkpointed blocks have no forward-mode derivative and are differentiated only once: this pass runs them whole
  const NoCheckpointScope whole_blocks;
  if (method == JvpMethod::kForward) {
    torch::Tensor primal, tangent;
    {
      const DualLevel level;
      const torch::Tensor dual_s = at::_make_dual(s.detach(), torch::ones_like(s), level.level());
      const torch::Tensor out = net.forward_map(x, t, dual_s, y, w);
      std::tie(primal, tangent) = at::_unpack_dual(out, level.level());
      // clones: the unpacked tensors are views of the dual, which stops being dual when the level ends
      primal = primal.clone();
      tangent = tangent.defined() ? tangent.clone() : torch::zeros_like(primal);
    }
    return {primal, tangent};
  }
  const torch::AutoGradMode grad_on(true);
  const torch::Tensor leaf_s = s.detach().requires_grad_(true);
  const torch::Tensor out = net.forward_map(x, t, leaf_s, y, w);
  const torch::Tensor u = torch::zeros_like(out).requires_grad_(true);
  // g_i = sum_k u_ik dF_ik/ds_i (rows are independent), linear in u; its gradient in u is dF/ds.
  const torch::Tensor g = torch::autograd::grad({out}, {leaf_s}, {u}, /*retain_graph=*/true, /*create_graph=*/true)[0];
  const torch::Tensor tangent = torch::autograd::grad({g}, {u}, {torch::ones_like(g)}, true, true)[0];
  return {out, tangent};
}

TvmTerms tvm_terms(Net& net, Net& target, const TrainBatch& b, JvpMethod method, int64_t null_class) {
  LS_CHECK(b.s.defined() && b.r.defined() && b.w.defined(), "tvm_terms: the batch has no TVM times (TimeSpec.tvm)");
  const torch::Tensor &z = b.z, &eps = b.eps;
  const torch::Tensor x_t = col(b.t) * z + (1 - col(b.t)) * eps;
  auto [F, dF] = flow_map_jvp(net, x_t, b.t, b.s, b.y, b.w, method);
  const torch::Tensor gap = col(b.s - b.t);
  const torch::Tensor f = x_t + gap * F;
  const torch::Tensor dfds = F + gap * dF;
  torch::Tensor terminal_target, fm_target = z - eps;
  const bool guided = (b.w != 1).any().item<bool>();
  const torch::Tensor x_r = col(b.r) * z + (1 - col(b.r)) * eps;
  {
    const torch::NoGradGuard no_grad;
    terminal_target = target.forward_map(f.detach(), b.s, b.s, b.y, b.w);
    if (guided) {
      const torch::Tensor null_labels = torch::full_like(b.y, null_class);
      const torch::Tensor unconditional = target.forward_map(x_r, b.r, b.r, null_labels, torch::ones_like(b.w));
      fm_target = col(b.w) * fm_target + (1 - col(b.w)) * unconditional;
    }
  }
  const torch::Tensor inv_w2 = b.w.pow(-2);
  TvmTerms out;
  out.terminal = (dfds - terminal_target).pow(2).sum(1) * inv_w2;
  out.fm = (net.forward_map(x_r, b.r, b.r, b.y, b.w) - fm_target).pow(2).sum(1) * inv_w2;
  return out;
}

torch::Tensor tvm_loss_per_sample(Net& net, Net& target, const TrainBatch& b, JvpMethod method, double fm_weight,
                                  int64_t null_class) {
  const TvmTerms terms = tvm_terms(net, target, b, method, null_class);
  return terms.terminal + fm_weight * terms.fm;
}

}  // namespace lockstep
