#include "common/model/flat_params.h"

#include "common/util/error.h"

namespace lockstep {

FlatParams::FlatParams(torch::nn::Module& module, const GradStorage& grad_storage) {
  int64_t total = 0;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    const torch::Tensor& p = item.value();
    LS_CHECK(p.scalar_type() == torch::kFloat32, "parameter " << item.key() << " is not float32");
    spans_.push_back({item.key(), p.sizes().vec(), total, p.numel()});
    params_.push_back(p);
    total += p.numel();
  }
  const torch::TensorOptions opts = params_.empty() ? torch::TensorOptions(torch::kFloat32) : params_[0].options();
  float* grads = grad_storage && opts.device().is_cpu() ? grad_storage(total) : nullptr;
  values_ = torch::empty({total}, opts);
  grads_ = grads != nullptr ? torch::from_blob(grads, {total}, opts).zero_() : torch::zeros({total}, opts);
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    const ParamSpan& s = spans_[i];
    torch::Tensor v = values_.narrow(0, s.offset, s.numel);
    v.copy_(params_[i].detach().reshape({-1}));
    params_[i].set_data(v.view(s.shape));
    params_[i].mutable_grad() = grads_.narrow(0, s.offset, s.numel).view(s.shape);
  }
}

bool FlatParams::views_intact() const {
  const float* vbase = values_.data_ptr<float>();
  const float* gbase = grads_.data_ptr<float>();
  for (size_t i = 0; i < params_.size(); ++i) {
    if (params_[i].data_ptr<float>() != vbase + spans_[i].offset) return false;
    if (!params_[i].grad().defined() || params_[i].grad().data_ptr<float>() != gbase + spans_[i].offset) return false;
  }
  return true;
}

}  // namespace lockstep
