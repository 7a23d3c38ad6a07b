#include "common/model/classifier.h"

#include "common/model/conv.h"

#include "common/proto/config.pb.h"
#include "common/util/error.h"

namespace lockstep {
namespace {

namespace nn = torch::nn;

nn::Conv2d conv3(int64_t in, int64_t out) { return nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1)); }

}  // namespace

Classifier::Classifier(const ClassifierConfig& cfg, const std::vector<int64_t>& item_shape, int64_t num_classes)
    : shape_(item_shape), num_classes_(num_classes), feature_size_(cfg.features()) {
  LS_CHECK_INPUT(item_shape.size() == 3, "model \"classifier\" needs image data (items [C, H, W]); this data has items of "
                                              << item_shape.size() << " dimension(s)");
  LS_CHECK_INPUT(item_shape[1] >= 4 && item_shape[2] >= 4,
                 "model \"classifier\" needs images of at least 4x4 pixels, got " << item_shape[1] << "x" << item_shape[2]);
  LS_CHECK_INPUT(num_classes >= 2, "model \"classifier\" needs labelled data with at least 2 classes, got " << num_classes);
  const int64_t c = cfg.channels(), in = item_shape[0];
  const int64_t h = item_shape[1] / 4, w = item_shape[2] / 4;  // after two 2x2 max-pools (floor)
  conv1_ = register_module("conv1", conv3(in, c));
  conv2_ = register_module("conv2", conv3(c, c));
  conv3_ = register_module("conv3", conv3(c, 2 * c));
  conv4_ = register_module("conv4", conv3(2 * c, 2 * c));
  fc_ = register_module("fc", nn::Linear(2 * c * h * w, feature_size_));
  out_ = register_module("out", nn::Linear(feature_size_, num_classes));
}

torch::Tensor Classifier::features(const torch::Tensor& x) {
  torch::Tensor h = x.view({x.size(0), shape_[0], shape_[1], shape_[2]});
  h = torch::relu(run_conv(conv2_, torch::relu(run_conv(conv1_, h))));
  h = torch::max_pool2d(h, 2);
  h = torch::relu(run_conv(conv4_, torch::relu(run_conv(conv3_, h))));
  h = torch::max_pool2d(h, 2);
  return torch::relu(fc_->forward(h.flatten(1))).to(torch::kFloat32);
}

torch::Tensor Classifier::logits_from_features(const torch::Tensor& f) { return out_->forward(f).to(torch::kFloat32); }

torch::Tensor Classifier::forward(const torch::Tensor& x, const torch::Tensor&, const torch::Tensor&) {
  return logits_from_features(features(x));
}

Classifier* as_classifier(Net& net) { return dynamic_cast<Classifier*>(&net); }

}  // namespace lockstep
