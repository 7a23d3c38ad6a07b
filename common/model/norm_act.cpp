#include "common/model/norm_act.h"

#include <ATen/Parallel.h>

#include <vector>

#include "common/kernels/fast_paths.h"
#include "common/kernels/group_norm_silu.h"
#include "common/model/net.h"
#include "common/util/error.h"

namespace lockstep {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

NormActShape shape_of(const torch::Tensor& x, int64_t groups, double eps, bool silu) {
  NormActShape s;
  s.channels = x.size(1);
  s.hw = x.size(2) * x.size(3);
  s.groups = groups;
  s.eps = static_cast<float>(eps);
  s.silu = silu;
  return s;
}

const uint16_t* bits(const torch::Tensor& t) { return reinterpret_cast<const uint16_t*>(t.data_ptr<at::BFloat16>()); }
uint16_t* mutable_bits(torch::Tensor& t) { return reinterpret_cast<uint16_t*>(t.data_ptr<at::BFloat16>()); }

class NormActFn : public torch::autograd::Function<NormActFn> {
 public:
  // shift: [n, C] of any float type, or an empty tensor (no shift; autograd's Function takes no undefined inputs)
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& shift, const torch::Tensor& gamma,
                               const torch::Tensor& beta, int64_t groups, double eps, bool silu) {
    const NormActShape s = shape_of(x, groups, eps, silu);
    const bool shifted = shift.numel() > 0;
    LS_CHECK(!shifted || (shift.dim() == 2 && shift.size(0) == x.size(0) && shift.size(1) == x.size(1)),
             "norm_act: shift " << shift.sizes() << " for activations " << x.sizes());
    const torch::Tensor shift32 = shifted ? shift.to(torch::kFloat32).contiguous() : torch::empty({0}, torch::kFloat32);
    const float* sp = shifted ? shift32.data_ptr<float>() : nullptr;
    const int64_t n = x.size(0), item = s.channels * s.hw;
    torch::Tensor y = torch::empty_like(x);
    torch::Tensor mean = torch::empty({n, groups}, torch::kFloat32), rstd = torch::empty({n, groups}, torch::kFloat32);
    const uint16_t* xp = bits(x);
    uint16_t* yp = mutable_bits(y);
    const float *gp = gamma.data_ptr<float>(), *bp = beta.data_ptr<float>();
    float *mp = mean.data_ptr<float>(), *rp = rstd.data_ptr<float>();
    at::parallel_for(0, n, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        group_norm_silu_forward(s, xp + i * item, sp ? sp + i * s.channels : nullptr, gp, bp, yp + i * item, mp + i * groups, rp + i * groups);
    });
    ctx->save_for_backward({x, gamma, beta, mean, rstd, shift32});
    ctx->saved_data["shift_type"] = static_cast<int64_t>(shift.scalar_type());
    ctx->saved_data["groups"] = groups;
    ctx->saved_data["eps"] = eps;
    ctx->saved_data["silu"] = silu;
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const variable_list saved = ctx->get_saved_variables();
    const torch::Tensor &x = saved[0], &gamma = saved[1], &beta = saved[2], &mean = saved[3], &rstd = saved[4], &shift = saved[5];
    const int64_t shift_type = ctx->saved_data["shift_type"].toInt();
    const int64_t groups = ctx->saved_data["groups"].toInt();
    const NormActShape s = shape_of(x, groups, ctx->saved_data["eps"].toDouble(), ctx->saved_data["silu"].toBool());
    const int64_t n = x.size(0), item = s.channels * s.hw;
    const torch::Tensor dy = grads[0].to(torch::kBFloat16).contiguous();
    torch::Tensor dx = torch::empty_like(x);
    torch::Tensor dgamma_items = torch::empty({n, s.channels}, torch::kFloat32), dbeta_items = torch::empty({n, s.channels}, torch::kFloat32);
    const uint16_t *xp = bits(x), *dyp = bits(dy);
    uint16_t* dxp = mutable_bits(dx);
    const float *gp = gamma.data_ptr<float>(), *bp = beta.data_ptr<float>(), *mp = mean.data_ptr<float>(), *rp = rstd.data_ptr<float>();
    float *dgp = dgamma_items.data_ptr<float>(), *dbp = dbeta_items.data_ptr<float>();
    const bool shifted = shift.numel() > 0;
    torch::Tensor dshift = shifted ? torch::empty({n, s.channels}, torch::kFloat32) : torch::Tensor();
    const float* sp = shifted ? shift.data_ptr<float>() : nullptr;
    float* dsp = shifted ? dshift.data_ptr<float>() : nullptr;
    at::parallel_for(0, n, 1, [&](int64_t b, int64_t e) {
      std::vector<float> scratch(static_cast<size_t>(item / groups));
      for (int64_t i = b; i < e; ++i)
        group_norm_silu_backward(s, xp + i * item, sp ? sp + i * s.channels : nullptr, dyp + i * item, gp, bp, mp + i * groups,
                                 rp + i * groups, dxp + i * item, dsp ? dsp + i * s.channels : nullptr, dgp + i * s.channels,
                                 dbp + i * s.channels, scratch.data());
    });
    // the batch's sums, item by item in order (the same for any thread count)
    torch::Tensor dgamma = torch::zeros({s.channels}, torch::kFloat32), dbeta = torch::zeros({s.channels}, torch::kFloat32);
    float *dg = dgamma.data_ptr<float>(), *db = dbeta.data_ptr<float>();
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < s.channels; ++c) {
        dg[c] += dgp[i * s.channels + c];
        db[c] += dbp[i * s.channels + c];
      }
    if (shifted) dshift = dshift.to(static_cast<torch::ScalarType>(shift_type));
    return {dx, dshift, dgamma, dbeta, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

bool fusable(const torch::nn::GroupNorm& norm, const torch::Tensor& x) {
  return x.scalar_type() == torch::kBFloat16 && x.device().is_cpu() && x.dim() == 4 && x.is_contiguous() && norm->options.affine() &&
         norm->weight.scalar_type() == torch::kFloat32 && norm->weight.is_contiguous() && norm->bias.is_contiguous();
}

}  // namespace

torch::Tensor norm_act(torch::nn::GroupNorm& norm, const torch::Tensor& x, bool silu, bool allow_fused, const torch::Tensor& shift) {
  if (allow_fused && fast_path_on(FastPath::kGroupNormSilu) && fusable(norm, x))
    return NormActFn::apply(x, shift.defined() ? shift : torch::empty({0}, x.options()), norm->weight, norm->bias, norm->options.num_groups(), norm->options.eps(), silu);
  const torch::Tensor u = shift.defined() ? x + shift.unsqueeze(-1).unsqueeze(-1) : x;
  const torch::Tensor h = norm->forward(full_precision(u));
  return silu ? torch::silu(h) : h;
}

}  // namespace lockstep
