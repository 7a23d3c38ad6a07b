// `lockstep data pack`: a data set packed once into a memory-mappable file of uint8 items (packed_file.h). No torch.
//
// Contract: pack_dataset() reads the sources in order and writes opts.out atomically (nothing under its name unless
// the whole pack succeeded; an existing file is refused unless opts.force). Sources:
// - a folder of images (PNG, JPEG, WebP; image_codec.h): with --labels folders, one subfolder per class, classes in
//   sorted order of their names (the union over the folders given), images found recursively inside each (as
//   torchvision's ImageFolder); with --labels none, every image below the folder, unlabelled. Files and folders
//   whose names start with '.' are skipped; other files that are not images are ignored and counted; empty class
//   folders are ignored (no class) and named.
// - CIFAR-10 and CIFAR-100 binary batches (data_batch_N.bin, test_batch.bin; train.bin, test.bin with the fine
//   labels), class names from batches.meta.txt / fine_label_names.txt beside them when present;
// - IDX files of uint8 images [N, H, W] (plain or gzip) and .npy files of uint8 images ([N, H, W], [N, C, H, W] or
//   [N, H, W, C] with C = 1 or 3), labelled by opts.label_file (IDX or .npy, one integer per item) when given.
// Images take opts.channels channels (1 or 3; 0: 3 for folders and CIFAR, the array's own for IDX and .npy) by
// the conversion rules of image_codec.h. With opts.resolution R each image is cut to its centred square
// (opts.crop "center") or not ("none", the aspect ratio is not kept) and resized to R x R; without it every image
// must have the size of the first (else BadInput naming both files). A damaged image is refused naming the file,
// or with opts.skip_bad skipped and counted. Items are decoded on opts.threads threads (0: every core) and written
// in source order: the same bytes for the same input whatever the thread count. progress(done, total) is called
// now and then.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace lockstep {

struct PackOptions {
  std::vector<std::string> sources;
  std::string out;
  int resolution = 0;
  std::string crop = "center";
  int channels = 0;
  std::string labels = "folders";
  std::string label_file;
  bool skip_bad = false;
  bool force = false;
  int threads = 0;
};

struct PackResult {
  uint64_t items = 0, skipped = 0, ignored_files = 0;
  std::vector<std::string> ignored_folders;  // empty class folders
  std::vector<std::string> skipped_files;    // the first few of them
  uint32_t channels = 0, height = 0, width = 0;
  uint64_t classes = 0;
  double seconds = 0;
};

PackResult pack_dataset(const PackOptions& opts, const std::function<void(uint64_t, uint64_t)>& progress = nullptr);

}  // namespace lockstep
