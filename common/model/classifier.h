// An image classifier (model.classifier in config.proto, trained with train.loss: CLASSIFY): the feature network
// of the image metrics of `lockstep eval --classifier` (Fréchet distance, class accuracy of samples).
//
// Contract: forward(x [n, C*H*W], t, y) ignores t and y and returns the logits [n, K] (float32, also under
// autocast); features(x) returns the feature layer [n, F] (after its ReLU), logits_from_features() the rest.
// No normalisation across the batch, so a row's output does not depend on the other rows. Throws BadInput for
// item shapes other than [C, H, W] with H, W >= 4, or fewer than 2 classes.
#pragma once

#include <vector>

#include "common/model/net.h"

namespace lockstep {

class ClassifierConfig;

class Classifier : public Net {
 public:
  Classifier(const ClassifierConfig& cfg, const std::vector<int64_t>& item_shape, int64_t num_classes);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t = {}, const torch::Tensor& y = {}) override;
  torch::Tensor features(const torch::Tensor& x);
  torch::Tensor logits_from_features(const torch::Tensor& f);
  int64_t num_classes() const { return num_classes_; }
  int64_t feature_size() const { return feature_size_; }
  const std::vector<int64_t>& input_shape() const { return shape_; }

 private:
  std::vector<int64_t> shape_;
  int64_t num_classes_ = 0, feature_size_ = 0;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr}, conv4_{nullptr};
  torch::nn::Linear fc_{nullptr}, out_{nullptr};
};

// The network of `net` as a classifier, or nullptr (a generative model).
Classifier* as_classifier(Net& net);

}  // namespace lockstep
