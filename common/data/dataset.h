// Data sets behind one random-access interface, so that a rank reads only the items of its slice.
//
// Contract: a DataSource either has a finite size N (item(i) for i < N, the same bytes on every rank) or is
// infinite (size() == 0: every sample draws a fresh point from its own counter-based generator). Items are
// float32 vectors of dim() numbers with a class label; item_shape() tells how the numbers are laid out
// ([dim] for points, [C, H, W] row-major for images, whose product is dim()). Construction may read files and throws BadInput on bad ones. No torch.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/rng/philox.h"

namespace lockstep {

class DataConfig;

class DataSource {
 public:
  virtual ~DataSource() = default;
  virtual std::string name() const = 0;
  virtual int64_t dim() const = 0;
  virtual std::vector<int64_t> item_shape() const { return {dim()}; }
  // Number of items; 0 for an infinite source.
  virtual uint64_t size() const = 0;
  // Number of classes (labels 0 .. num_classes - 1).
  virtual int64_t num_classes() const = 0;
  // A name for class k (for pictures): the data set's own (Fashion-MNIST's garments) or the number.
  virtual std::string class_name(int64_t k) const { return std::to_string(k); }
  // The spacing of the values the items can take, for discrete data (uint8 images scaled to [-1, 1]: 1/127.5),
  // 0 for continuous data. Likelihoods of discrete data are reported for uniformly dequantized items.
  virtual double quantization_step() const { return 0.0; }
  // Item i of a finite source; returns its label.
  virtual int64_t item(uint64_t index, float* out) const = 0;
  // The label of item i alone (a source that stores labels apart from its items answers without reading the item).
  virtual int64_t label(uint64_t index) const;
  // Throws BadInput when the files behind the source changed since it was opened (asked every tick; most sources
  // hold their items in memory and have nothing to check).
  virtual void check_unchanged() const {}
  // A fresh draw from the distribution (every source can do this); returns its label.
  virtual int64_t fresh(CounterRng& rng, float* out) const = 0;
  // Sources of uint8 images (packed files): true, and item_bytes(i, out) copies item i's dim() bytes, whose floats
  // item() gives as byte_value() of each (a GPU then receives a quarter of the bytes and converts them there).
  virtual bool has_bytes() const { return false; }
  virtual int64_t item_bytes(uint64_t index, uint8_t* out) const;
};

// The float of a uint8 image value in [-1, 1], as every source of uint8 images converts it: b / 127.5 - 1.
inline float byte_value(uint8_t b) { return static_cast<float>(b) / 127.5f - 1.0f; }

// `seed` fixes the points of a finite toy data set.
std::unique_ptr<DataSource> make_dataset(const DataConfig& cfg, uint64_t seed);
// A class of `data` by its index ("7") or its name as class_name() gives it, ignoring case ("sneaker"); `what`
// names the option or field for the BadInput that lists the classes when there is no such class.
int64_t find_class(const DataSource& data, const std::string& text, const std::string& what);
// The held-out set of a data set with a real split (data.eval_images, or Fashion-MNIST's other split);
// nullptr when there is none (the held-out loss then uses fresh draws from the training data).
std::unique_ptr<DataSource> make_eval_dataset(const DataConfig& cfg, uint64_t seed);

}  // namespace lockstep
