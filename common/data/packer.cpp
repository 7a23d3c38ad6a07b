#include "common/data/packer.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <new>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "common/data/packed_file.h"
#include "common/io/idx.h"
#include "common/io/image_codec.h"
#include "common/io/npy.h"
#include "common/util/error.h"
#include "common/util/fs.h"
#include "common/util/strings.h"

namespace lockstep {
namespace {

namespace fs = std::filesystem;

// One item to pack: its name for messages, its label, and how to get its pixels (HWC, 1 or 3 channels).
struct Job {
  std::string name;
  int64_t label = 0;
  std::function<Image()> decode;
};

bool hidden(const fs::path& p) { return !p.filename().empty() && p.filename().string()[0] == '.'; }

bool image_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".webp";
}

// The image files below `dir` (recursively, sorted by path), counting the other files.
std::vector<fs::path> images_below(const fs::path& dir, uint64_t* ignored) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code type_ec;
    const bool dir = it->is_directory(type_ec);
    if (hidden(it->path())) {
      if (dir) it.disable_recursion_pending();
      continue;
    }
    if (dir) continue;
    if (image_file(it->path()) && it->is_regular_file(type_ec)) out.push_back(it->path());
    else ++*ignored;
  }
  LS_CHECK_INPUT(!ec, clip(dir.string(), 300) << ": cannot list (" << ec.message() << ")");
  std::sort(out.begin(), out.end());
  return out;
}

Job file_job(const fs::path& p, int64_t label, int channels) {
  const std::string name = p.string();
  return Job{name, label, [name, channels] { return decode_image(read_file(name), channels, clip(name, 300)); }};
}

// HWC pixels of one item stored channels first (CIFAR, [N, C, H, W] arrays), in `channels` channels.
Image from_planes(const uint8_t* planes, int c, int h, int w, int channels) {
  Image hwc;
  hwc.width = w;
  hwc.height = h;
  hwc.channels = c;
  hwc.pixels.resize(static_cast<size_t>(c) * static_cast<size_t>(h) * static_cast<size_t>(w));
  for (int k = 0; k < c; ++k)
    for (int i = 0; i < h * w; ++i) hwc.pixels[static_cast<size_t>(i) * static_cast<size_t>(c) + static_cast<size_t>(k)] = planes[static_cast<size_t>(k) * static_cast<size_t>(h * w) + static_cast<size_t>(i)];
  if (c != channels) {
    hwc.pixels = convert_channels(hwc.pixels.data(), static_cast<size_t>(h) * static_cast<size_t>(w), c, channels);
    hwc.channels = channels;
  }
  return hwc;
}

std::vector<std::string> read_names(const fs::path& file) {
  std::vector<std::string> names;
  if (!is_file(file.string())) return names;
  for (std::string& line : split(read_file(file.string()), '\n')) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) names.push_back(clip(line, 200));
  }
  return names;
}

// CIFAR-10 or CIFAR-100 binary batches: records of (label bytes, 3 x 32 x 32 pixels).
void cifar_jobs(const fs::path& file, int channels, std::vector<Job>* jobs, std::vector<std::string>* names) {
  const std::string base = file.filename().string();
  const bool hundred = base == "train.bin" || base == "test.bin";
  const size_t label_bytes = hundred ? 2 : 1, record = label_bytes + 3072;
  auto data = std::make_shared<std::string>(read_file(file.string()));
  LS_CHECK_INPUT(!data->empty() && data->size() % record == 0,
                 clip(file.string(), 300) << ": " << data->size() << " bytes, not a whole number of CIFAR-" << (hundred ? "100" : "10") << " records of "
                                          << record << " bytes");
  const std::vector<std::string> found = read_names(file.parent_path() / (hundred ? "fine_label_names.txt" : "batches.meta.txt"));
  if (names->empty()) {
    *names = found;
    if (names->empty()) for (int k = 0; k < (hundred ? 100 : 10); ++k) names->push_back(std::to_string(k));
  }
  const uint64_t n = data->size() / record;
  for (uint64_t i = 0; i < n; ++i) {
    const uint8_t* rec = reinterpret_cast<const uint8_t*>(data->data()) + i * record;
    const int64_t label = rec[label_bytes - 1];  // CIFAR-100: coarse, then fine
    LS_CHECK_INPUT(label < static_cast<int64_t>(names->size()), clip(file.string(), 300) << ": record " << i << " has label " << label << " of "
                                                                                           << names->size() << " classes");
    jobs->push_back(Job{file.string() + " record " + std::to_string(i), label,
                        [data, rec, label_bytes, channels] { return from_planes(rec + label_bytes, 3, 32, 32, channels); }});
  }
}

// IDX [N, H, W] or .npy uint8 images.
void array_jobs(const fs::path& file, int channels, std::vector<Job>* jobs, int* own_channels) {
  // the file's bytes, held once: a .npy's pixels are used where they lie, an IDX file's after gunzip
  auto bytes = std::make_shared<std::string>(read_maybe_gzip(file.string()));
  const uint8_t* pixels = nullptr;
  int n = 0, c = 1, h = 0, w = 0;
  bool nhwc = false;
  if (bytes->size() >= 6 && bytes->compare(0, 6, "\x93NUMPY") == 0) {
    const NpyView a = parse_npy_view(*bytes, clip(file.string(), 300));
    LS_CHECK_INPUT(a.dtype == "|u1", clip(file.string(), 300) << ": pack uint8 images; this array holds " << a.dtype);
    const auto& s = a.shape;
    LS_CHECK_INPUT(s.size() == 3 || (s.size() == 4 && (s[1] == 1 || s[1] == 3 || s[3] == 1 || s[3] == 3)),
                   clip(file.string(), 300) << ": an array of shape " << shape_text(s) << "; expected images [N, H, W], [N, C, H, W] or [N, H, W, C], C = 1 or 3");
    for (int64_t d : s) LS_CHECK_INPUT(d >= 0 && d <= INT32_MAX, clip(file.string(), 300) << ": an array of shape " << shape_text(s) << " (too large to pack)");
    n = static_cast<int>(s[0]);
    if (s.size() == 3) {
      h = static_cast<int>(s[1]), w = static_cast<int>(s[2]);
    } else if (s[1] == 1 || s[1] == 3) {
      c = static_cast<int>(s[1]), h = static_cast<int>(s[2]), w = static_cast<int>(s[3]);
    } else {
      nhwc = true;
      h = static_cast<int>(s[1]), w = static_cast<int>(s[2]), c = static_cast<int>(s[3]);
    }
    pixels = reinterpret_cast<const uint8_t*>(bytes->data() + a.offset);
  } else {
    const IdxArray a = parse_idx(*bytes, clip(file.string(), 300));
    LS_CHECK_INPUT(a.shape.size() == 3, clip(file.string(), 300) << ": IDX images of shape " << shape_text(a.shape) << "; expected [N, H, W]");
    for (int64_t d : a.shape) LS_CHECK_INPUT(d >= 0 && d <= INT32_MAX, clip(file.string(), 300) << ": IDX images of shape " << shape_text(a.shape) << " (too large to pack)");
    n = static_cast<int>(a.shape[0]), h = static_cast<int>(a.shape[1]), w = static_cast<int>(a.shape[2]);
    *bytes = std::string(a.data.begin(), a.data.end());
    pixels = reinterpret_cast<const uint8_t*>(bytes->data());
  }
  LS_CHECK_INPUT(n > 0 && h > 0 && w > 0, clip(file.string(), 300) << ": holds no images");
  LS_CHECK_INPUT(static_cast<uint64_t>(h) * static_cast<uint64_t>(w) <= kMaxImagePixels, clip(file.string(), 300) << ": images of " << h << " x " << w << " pixels");
  if (*own_channels == 0) *own_channels = c;
  const int want = channels > 0 ? channels : *own_channels;
  const size_t item = static_cast<size_t>(c) * static_cast<size_t>(h) * static_cast<size_t>(w);
  for (int i = 0; i < n; ++i) {
    const uint8_t* p = pixels + static_cast<size_t>(i) * item;
    jobs->push_back(Job{file.string() + " item " + std::to_string(i), 0, [bytes, p, c, h, w, want, nhwc] {
                          if (!nhwc) return from_planes(p, c, h, w, want);
                          Image img;  // already interleaved
                          img.width = w, img.height = h, img.channels = want;
                          img.pixels = convert_channels(p, static_cast<size_t>(h) * static_cast<size_t>(w), c, want);
                          return img;
                        }});
  }
}

// The item as packed: channels first, at the target size.
std::vector<uint8_t> to_item(const Image& img, int size, const std::string& crop) {
  Image resized;
  if (size > 0) {
    const int side = std::min(img.width, img.height);
    resized = resize_image(crop == "center" ? center_crop(img, side, side) : img, size, size);
  }
  const Image& x = size > 0 ? resized : img;
  std::vector<uint8_t> planes(x.pixels.size());
  const size_t hw = static_cast<size_t>(x.width) * static_cast<size_t>(x.height), c = static_cast<size_t>(x.channels);
  for (size_t k = 0; k < c; ++k)
    for (size_t i = 0; i < hw; ++i) planes[k * hw + i] = x.pixels[i * c + k];
  return planes;
}

}  // namespace

PackResult pack_dataset(const PackOptions& opts, const std::function<void(uint64_t, uint64_t)>& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  LS_CHECK_INPUT(!opts.sources.empty(), "data pack: name at least one source (a folder of images, CIFAR batches, IDX or .npy files)");
  LS_CHECK_INPUT(opts.channels == 0 || opts.channels == 1 || opts.channels == 3, "--channels must be 1 or 3, got " << opts.channels);
  LS_CHECK_INPUT(opts.resolution >= 0 && opts.resolution <= 8192, "--resolution must be in [1, 8192], got " << opts.resolution);
  LS_CHECK_INPUT(opts.crop == "center" || opts.crop == "none", "--crop must be center or none, got '" << clip(opts.crop, 40) << "'");
  LS_CHECK_INPUT(opts.labels == "folders" || opts.labels == "none", "--labels must be folders or none, got '" << clip(opts.labels, 40) << "'");
  LS_CHECK_INPUT(opts.threads >= 0 && opts.threads <= 1024, "--threads must be in [0, 1024] (0: every core), got " << opts.threads);
  LS_CHECK_INPUT(!opts.out.empty(), "data pack: --out FILE is required");
  LS_CHECK_INPUT(!is_dir(opts.out), clip(opts.out, 300) << ": is a directory; --out names the packed file");
  LS_CHECK_INPUT(opts.force || !exists_nofollow(opts.out), clip(opts.out, 300) << ": exists; give another --out, or --force to replace it");
  PackResult result;
  std::vector<Job> jobs;
  std::vector<std::string> names;
  bool labelled = false;
  int own_channels = 0;
  std::string kind;
  // folders: the union of their class folders, sorted
  std::vector<fs::path> folders;
  for (const std::string& s : opts.sources) {
    LS_CHECK_INPUT(exists_nofollow(s) || is_file(s), clip(s, 300) << ": no such file or folder");
    const std::string k = is_dir(s) ? "folder" : (fs::path(s).extension() == ".bin" ? "cifar" : "array");
    LS_CHECK_INPUT(kind.empty() || kind == k, clip(s, 300) << ": a " << k << " source among " << kind << " sources; pack one kind at a time");
    kind = k;
    if (k == "folder") folders.push_back(s);
  }
  const int channels = opts.channels > 0 ? opts.channels : 3;
  if (kind == "folder" && opts.labels == "folders") {
    std::set<std::string> classes;
    for (const fs::path& root : folders) {
      std::error_code ec;
      for (auto it = fs::directory_iterator(root, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
        std::error_code type_ec;
        if (it->is_directory(type_ec) && !hidden(it->path())) classes.insert(it->path().filename().string());
        else if (!hidden(it->path())) ++result.ignored_files;  // files beside the class folders
      }
      LS_CHECK_INPUT(!ec, clip(root.string(), 300) << ": cannot list (" << ec.message() << ")");
    }
    LS_CHECK_INPUT(!classes.empty(), clip(folders.front().string(), 300) << ": no class folders; put each class's images in a folder of its own, or "
                                                                            "give --labels none for a folder of unlabelled images");
    for (const std::string& c : classes) {
      std::vector<fs::path> files;
      for (const fs::path& root : folders) {
        if (!is_dir((root / c).string())) continue;
        for (fs::path& p : images_below(root / c, &result.ignored_files)) files.push_back(std::move(p));
      }
      if (files.empty()) {
        result.ignored_folders.push_back(c);
        continue;
      }
      const int64_t label = static_cast<int64_t>(names.size());
      names.push_back(clip(c, 200));
      for (const fs::path& p : files) jobs.push_back(file_job(p, label, channels));
    }
    labelled = true;
  } else if (kind == "folder") {
    for (const fs::path& root : folders)
      for (const fs::path& p : images_below(root, &result.ignored_files)) jobs.push_back(file_job(p, 0, channels));
  } else if (kind == "cifar") {
    for (const std::string& s : opts.sources) cifar_jobs(s, channels, &jobs, &names);
    labelled = opts.labels == "folders";
  } else {
    for (const std::string& s : opts.sources) array_jobs(s, opts.channels, &jobs, &own_channels);
    if (!opts.label_file.empty()) {
      const std::string bytes = read_maybe_gzip(opts.label_file);
      std::vector<double> labels;
      if (bytes.size() >= 6 && bytes.compare(0, 6, "\x93NUMPY") == 0) {
        for (float v : parse_npy(bytes, clip(opts.label_file, 300)).data) labels.push_back(v);
      } else {
        for (uint8_t v : parse_idx(bytes, clip(opts.label_file, 300)).data) labels.push_back(v);
      }
      LS_CHECK_INPUT(labels.size() == jobs.size(), clip(opts.label_file, 300) << ": " << labels.size() << " labels for " << jobs.size() << " images");
      int64_t classes = 0;
      for (size_t i = 0; i < labels.size(); ++i) {
        LS_CHECK_INPUT(labels[i] >= 0 && labels[i] <= 65535 && labels[i] == static_cast<double>(static_cast<int64_t>(labels[i])),
                       clip(opts.label_file, 300) << ": labels must be integers in [0, 65535], found " << labels[i] << " (label " << i << ")");
        jobs[i].label = static_cast<int64_t>(labels[i]);
        classes = std::max(classes, jobs[i].label + 1);
      }
      for (int64_t k = 0; k < classes; ++k) names.push_back(std::to_string(k));
      labelled = true;
    }
  }
  LS_CHECK_INPUT(!jobs.empty(), "data pack: the sources hold no images");
  LS_CHECK_INPUT(opts.label_file.empty() || kind == "array", "--label-file labels IDX or .npy images; folders are labelled by their class folders");
  const int out_channels = kind == "array" ? (opts.channels > 0 ? opts.channels : own_channels) : channels;

  const size_t threads = opts.threads > 0 ? static_cast<size_t>(opts.threads) : std::max<size_t>(1, std::thread::hardware_concurrency());
  std::unique_ptr<PackedWriter> writer;
  std::string first_name;
  int height = opts.resolution, width = opts.resolution;
  // Items are decoded a batch at a time: 64 per thread, fewer for large items (about 256 MiB of items in flight);
  // the first batch has one item per thread, before the item size is known (without --resolution).
  const auto batch_items = [&](size_t item_bytes) {
    return item_bytes == 0 ? threads : std::max(threads, std::min(64 * threads, (size_t{256} << 20) / item_bytes));
  };
  size_t item_bytes = opts.resolution > 0 ? static_cast<size_t>(out_channels) * static_cast<size_t>(opts.resolution) * static_cast<size_t>(opts.resolution) : 0;
  std::vector<std::vector<uint8_t>> items;
  std::vector<std::exception_ptr> errors;
  std::vector<int> heights, widths;
  for (size_t begin = 0, n = 0; begin < jobs.size(); begin += n) {
    n = std::min(batch_items(item_bytes), jobs.size() - begin);
    items.assign(n, {});
    errors.assign(n, nullptr);
    heights.assign(n, 0);
    widths.assign(n, 0);
    auto work = [&](size_t t) {
      for (size_t i = t; i < n; i += threads) {
        try {
          const Image img = jobs[begin + i].decode();
          heights[i] = img.height, widths[i] = img.width;
          items[i] = to_item(img, opts.resolution, opts.crop);
        } catch (...) {  // rethrown in order below: BadInput refused or skipped, anything else as it is
          errors[i] = std::current_exception();
        }
      }
    };
    {
      std::vector<std::thread> pool;
      struct Joiner {
        std::vector<std::thread>& pool;
        ~Joiner() {
          for (std::thread& th : pool)
            if (th.joinable()) th.join();
        }
      } joiner{pool};
      for (size_t t = 1; t < std::min(threads, n); ++t) pool.emplace_back(work, t);
      work(0);
    }
    for (size_t i = 0; i < n; ++i) {
      const Job& job = jobs[begin + i];
      if (errors[i]) {
        try {
          std::rethrow_exception(errors[i]);
        } catch (const BadInput& e) {
          LS_CHECK_INPUT(opts.skip_bad, e.what() << " (--skip-bad skips such files and counts them)");
        } catch (const std::bad_alloc&) {
          throw BadInput(clip(job.name, 300) + ": not enough memory to decode it");
        }
        ++result.skipped;
        if (result.skipped_files.size() < 10) result.skipped_files.push_back(job.name);
        continue;
      }
      if (!writer) {
        if (opts.resolution == 0) height = heights[i], width = widths[i];
        item_bytes = items[i].size();
        first_name = job.name;
        std::string source = kind + " " + join(opts.sources) + (opts.resolution ? " at " + std::to_string(opts.resolution) + " (crop " + opts.crop + ")" : "") +
                             ", " + std::to_string(out_channels) + " channel" + (out_channels == 1 ? "" : "s");
        writer = std::make_unique<PackedWriter>(opts.out, static_cast<uint32_t>(out_channels), static_cast<uint32_t>(height), static_cast<uint32_t>(width),
                                                labelled ? names : std::vector<std::string>{}, labelled, jobs.size(), source);
      }
      LS_CHECK_INPUT(opts.resolution > 0 || (heights[i] == height && widths[i] == width),
                     "images of different sizes: " << clip(first_name, 300) << " is " << width << " x " << height << ", " << clip(job.name, 300) << " is "
                                                   << widths[i] << " x " << heights[i] << "; give --resolution R to resize them all to R x R");
      writer->append(items[i].data(), static_cast<uint32_t>(job.label));
    }
    if (progress) progress(begin + n, jobs.size());
  }
  LS_CHECK_INPUT(writer, "data pack: every image was damaged (" << result.skipped << " skipped)");
  result.items = writer->written();
  writer->finish(result.skipped);
  result.channels = static_cast<uint32_t>(out_channels);
  result.height = static_cast<uint32_t>(height);
  result.width = static_cast<uint32_t>(width);
  result.classes = labelled ? names.size() : 0;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace lockstep
