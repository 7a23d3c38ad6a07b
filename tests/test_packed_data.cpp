// Packed image data end to end, on data the tests make themselves (tests/make_images.py, from a fixed seed): image
// folders, the conversion rules, CIFAR batches and arrays packed by `lockstep data pack`; training that reads the
// packed file equals training on the same .npy; xflip, the held-out fraction and the sample files for the FID tools
// on 1 and 2 ranks; every kind of bad input with exit 2, a message naming the file, and nothing half-written.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/data/packed_file.h"
#include "common/io/npy.h"
#include "common/util/error.h"
#include "common/util/fs.h"
#include "tests/proc.h"

using namespace lockstep;
using namespace lockstep::test;
namespace fs = std::filesystem;

namespace {

bool have_python() { return run_shell("/usr/bin/python3 -c 'import numpy, PIL'").exit_code == 0; }

// A fresh folder holding everything tests/make_images.py makes.
std::string make_images(const std::string& name) {
  const std::string dir = temp_dir(name);
  const ProcResult r = run_shell("/usr/bin/python3 " + source_dir() + "/tests/make_images.py " + dir);
  if (r.exit_code != 0) throw std::runtime_error("tests/make_images.py failed:\n" + r.output);
  return dir;
}

#define NEED_PYTHON()                                                                                    \
  if (!have_python()) {                                                                                  \
    WARN("skipped: /usr/bin/python3 with numpy and PIL is missing (launch/setup.sh installs them)");     \
    return;                                                                                              \
  }

// Every item of a packed file, one byte string each.
std::vector<std::string> packed_items(const std::string& path) {
  const PackedFile f(path);
  std::vector<std::string> out;
  std::vector<uint8_t> bytes(f.item_size());
  for (uint64_t i = 0; i < f.count(); ++i) {
    f.read(i, bytes.data());
    out.emplace_back(bytes.begin(), bytes.end());
  }
  return out;
}

std::vector<int64_t> packed_labels(const std::string& path) {
  const PackedFile f(path);
  std::vector<int64_t> out;
  for (uint64_t i = 0; i < f.count(); ++i) out.push_back(f.label(i));
  return out;
}

// The items of a uint8 .npy file [N, ...], one byte string each.
std::vector<std::string> npy_items(const std::string& path) {
  const NpyArray a = read_npy(path);
  std::vector<std::string> out(static_cast<size_t>(a.shape[0]));
  const size_t size = a.data.size() / out.size();
  for (size_t i = 0; i < a.data.size(); ++i) out[i / size] += static_cast<char>(static_cast<uint8_t>(a.data[i]));
  return out;
}

std::vector<int64_t> npy_labels(const std::string& path) {
  std::vector<int64_t> out;
  for (float v : read_npy(path).data) out.push_back(static_cast<int64_t>(v));
  return out;
}

// The largest difference between two lists of items of equal sizes.
int max_difference(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  REQUIRE(a.size() == b.size());
  int worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    REQUIRE(a[i].size() == b[i].size());
    for (size_t k = 0; k < a[i].size(); ++k)
      worst = std::max(worst, std::abs(static_cast<int>(static_cast<uint8_t>(a[i][k])) - static_cast<int>(static_cast<uint8_t>(b[i][k]))));
  }
  return worst;
}

ProcResult pack(const std::string& args) { return run_lockstep("data pack " + args); }

void write_bytes(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

// A small class-conditional U-Net run on packed data (or any data given in `data`).
const std::string kUnet = " --set model.name=unet --set model.class_conditional=true --set model.unet.channels=8 --set model.unet.groups=4 "
                          "--set model.unet.attention=false --set train.batch_size=16 --set train.log_every=1 --set train.eval_every=0 "
                          "--set train.checkpoint_every=0 --set sample.num=6 --set sample.steps=2 --set engine.threads=1 --set optim.warmup_ticks=0";

}  // namespace

TEST_CASE("pack an image folder: ImageFolder's classes and order, the same bytes on 1 and 2 threads, non-images counted", "[data]") {
  NEED_PYTHON();
  const std::string d = make_images("packed-folder");
  const ProcResult one = pack(d + "/grey --channels 1 --threads 1 --out " + d + "/one.pack");
  REQUIRE(one.exit_code == 0);
  CHECK_THAT(one.output, Catch::Contains("packed 48 images of 1 x 28 x 28 (3 classes)") && Catch::Contains("ignored 2 files that are not images") &&
                             Catch::Contains("ignored 1 empty class folder: empty"));
  REQUIRE(pack(d + "/grey --channels 1 --threads 2 --out " + d + "/two.pack").exit_code == 0);
  CHECK(read_file(d + "/one.pack") == read_file(d + "/two.pack"));
  CHECK(packed_items(d + "/one.pack") == npy_items(d + "/grey_items.npy"));
  CHECK(packed_labels(d + "/one.pack") == npy_labels(d + "/grey_labels.npy"));
  const PackedFile f(d + "/one.pack");
  CHECK(std::vector<std::string>(f.header().class_names().begin(), f.header().class_names().end()) == std::vector<std::string>{"boot", "sandal", "sneaker"});
  CHECK(f.header().channel_order() == "L");

  const ProcResult info = run_lockstep("data info " + d + "/one.pack --verify");
  CHECK(info.exit_code == 0);
  CHECK_THAT(info.output, Catch::Contains("48 of 1 x 28 x 28") && Catch::Contains("sneaker") && Catch::Contains("every chunk's CRC-32 matches"));

  // the default is RGB (grey copied to R, G and B); an existing file is refused and left alone
  REQUIRE(pack(d + "/grey --out " + d + "/rgb.pack").exit_code == 0);
  const std::vector<std::string> grey = packed_items(d + "/one.pack"), rgb = packed_items(d + "/rgb.pack");
  CHECK(rgb[5] == grey[5] + grey[5] + grey[5]);
  const std::string before = read_file(d + "/rgb.pack");
  const ProcResult again = pack(d + "/grey --out " + d + "/rgb.pack");
  CHECK(again.exit_code == 2);
  CHECK_THAT(again.output, Catch::Contains("rgb.pack: exists"));
  CHECK(read_file(d + "/rgb.pack") == before);

  // configs/image_folder.textproto as shipped, smaller
  const ProcResult run = run_lockstep("train " + source_dir() + "/configs/image_folder.textproto --set data.path=" + d + "/rgb.pack --steps 2 "
                                      "--set model.unet.channels=8 --set model.unet.groups=4 --set train.batch_size=8 --set train.eval_every=2 "
                                      "--set train.eval_samples=8 --set train.checkpoint_every=0 --set sample.num=3 --set sample.steps=2 "
                                      "--set engine.threads=1 --out " + d + "/run");
  REQUIRE(run.exit_code == 0);
  CHECK(metric_values(d + "/run", "eval_loss").size() == 1);

  // unlabelled; a .npy array with a label file
  REQUIRE(pack(d + "/grey --labels none --channels 1 --out " + d + "/none.pack").exit_code == 0);
  CHECK(!PackedFile(d + "/none.pack").labelled());
  CHECK(PackedFile(d + "/none.pack").count() == 48);
  REQUIRE(pack(d + "/grey_items.npy --label-file " + d + "/grey_labels.npy --out " + d + "/npy.pack").exit_code == 0);
  CHECK(packed_items(d + "/npy.pack") == grey);
  CHECK(packed_labels(d + "/npy.pack") == npy_labels(d + "/grey_labels.npy"));
  // the whole pack failed: nothing under its name
  const ProcResult mixed = pack(d + "/grey " + d + "/grey_items.npy --out " + d + "/mixed.pack");
  CHECK(mixed.exit_code == 2);
  CHECK_THAT(mixed.output, Catch::Contains("pack one kind at a time"));
  CHECK(!fs::exists(d + "/mixed.pack"));
}

TEST_CASE("the conversion rules: grey, RGB, RGBA, grey with alpha, 16-bit and palette PNGs, JPEG, sizes and resizing", "[data]") {
  NEED_PYTHON();
  const std::string d = make_images("packed-convert");
  REQUIRE(pack(d + "/colour --out " + d + "/rgb.pack").exit_code == 0);
  CHECK(packed_items(d + "/rgb.pack") == npy_items(d + "/colour_rgb.npy"));
  REQUIRE(pack(d + "/colour --channels 1 --out " + d + "/grey.pack").exit_code == 0);
  CHECK(packed_items(d + "/grey.pack") == npy_items(d + "/colour_grey.npy"));
  // JPEG: stb's decoder against PIL's libjpeg-turbo (both follow the JPEG standard; rounding in the inverse DCT and
  // the chroma upsampling differ by a few levels)
  REQUIRE(pack(d + "/jpeg --out " + d + "/jpeg.pack").exit_code == 0);
  CHECK(max_difference(packed_items(d + "/jpeg.pack"), npy_items(d + "/jpeg_rgb.npy")) <= 6);

  const ProcResult sizes = pack(d + "/sizes --out " + d + "/sizes.pack");
  CHECK(sizes.exit_code == 2);
  CHECK_THAT(sizes.output, Catch::Contains("a_52x40.png") && Catch::Contains("b_28x28.png") && Catch::Contains("--resolution"));
  CHECK(!fs::exists(d + "/sizes.pack"));
  // the centred square resized by an antialiased bilinear filter, as PIL's resize(BILINEAR)
  REQUIRE(pack(d + "/sizes --resolution 16 --out " + d + "/16.pack").exit_code == 0);
  CHECK(max_difference(packed_items(d + "/16.pack"), npy_items(d + "/sizes_16.npy")) <= 1);
  REQUIRE(pack(d + "/sizes --resolution 16 --crop none --out " + d + "/stretched.pack").exit_code == 0);
  CHECK(packed_items(d + "/stretched.pack")[0] != packed_items(d + "/16.pack")[0]);
  CHECK(packed_items(d + "/stretched.pack")[1] == packed_items(d + "/16.pack")[1]);  // square already
}

TEST_CASE("damaged images are refused naming the file, or skipped and counted with --skip-bad", "[data]") {
  NEED_PYTHON();
  const std::string d = make_images("packed-bad");
  const ProcResult refused = pack(d + "/bad --out " + d + "/bad.pack");
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.output, Catch::Contains("x_truncated.png") && Catch::Contains("--skip-bad"));
  CHECK(!fs::exists(d + "/bad.pack"));
  for (const auto& e : fs::directory_iterator(d)) CHECK(e.path().filename().string().rfind("bad.pack", 0) != 0);  // no temporary left
  const ProcResult skipped = pack(d + "/bad --skip-bad --channels 1 --out " + d + "/bad.pack");
  REQUIRE(skipped.exit_code == 0);
  CHECK_THAT(skipped.output, Catch::Contains("skipped 3 damaged images") && Catch::Contains("y_text.png") && Catch::Contains("z_damaged.png"));
  CHECK(PackedFile(d + "/bad.pack").count() == 4);
  CHECK(PackedFile(d + "/bad.pack").header().skipped() == 3);
  CHECK_THAT(run_lockstep("data info " + d + "/bad.pack").output, Catch::Contains("skipped   : 3"));
  const ProcResult missing = pack(d + "/nothing-here --out " + d + "/x.pack");
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.output, Catch::Contains("nothing-here: no such file or folder"));
  const ProcResult options = pack(d + "/bad --channels 2 --out " + d + "/x.pack");
  CHECK(options.exit_code == 2);
  CHECK_THAT(options.output, Catch::Contains("--channels"));
  const ProcResult threads = pack(d + "/bad --threads -3 --out " + d + "/x.pack");
  CHECK(threads.exit_code == 2);
  CHECK_THAT(threads.output, Catch::Contains("--threads must be in [0, 1024]"));
  const ProcResult dir = pack(d + "/bad --skip-bad --force --out " + d + "/grey");
  CHECK(dir.exit_code == 2);
  CHECK_THAT(dir.output, Catch::Contains("grey: is a directory"));
}

TEST_CASE("CIFAR-10 and CIFAR-100 binary batches pack with their labels and class names", "[data]") {
  NEED_PYTHON();
  const std::string d = make_images("packed-cifar");
  const std::string c10 = d + "/cifar-10-batches-bin";
  REQUIRE(pack(c10 + "/data_batch_1.bin " + c10 + "/data_batch_2.bin --out " + d + "/c10.pack").exit_code == 0);
  CHECK(packed_items(d + "/c10.pack") == npy_items(d + "/cifar10_items.npy"));
  CHECK(packed_labels(d + "/c10.pack") == npy_labels(d + "/cifar10_labels.npy"));
  const PackedFile f(d + "/c10.pack");
  REQUIRE(f.header().class_names_size() == 10);
  CHECK(f.header().class_names(3) == "cat");
  CHECK(f.header().channel_order() == "RGB");
  REQUIRE(pack(d + "/cifar-100-binary/train.bin --out " + d + "/c100.pack").exit_code == 0);
  CHECK(packed_items(d + "/c100.pack") == npy_items(d + "/cifar100_items.npy"));
  CHECK(packed_labels(d + "/c100.pack") == npy_labels(d + "/cifar100_labels.npy"));  // the fine labels
  CHECK(PackedFile(d + "/c100.pack").header().class_names(42) == "fine42");

  // configs/cifar10.textproto as shipped, smaller: the test batch as its held-out set
  REQUIRE(pack(c10 + "/data_batch_2.bin --out " + d + "/c10-test.pack").exit_code == 0);
  const std::string small = " --steps 2 --set model.unet.channels=8 --set model.unet.groups=4 --set train.batch_size=8 --set train.eval_every=2 "
                            "--set train.eval_samples=8 --set train.checkpoint_every=0 --set sample.num=4 --set sample.steps=2 --set engine.threads=1";
  const ProcResult run = run_lockstep("train " + source_dir() + "/configs/cifar10.textproto --set data.path=" + d + "/c10.pack --set data.eval_path=" +
                                      d + "/c10-test.pack" + small + " --out " + d + "/run");
  REQUIRE(run.exit_code == 0);
  CHECK(metric_values(d + "/run", "eval_loss").size() == 1);
  const ProcResult other = run_lockstep("train " + source_dir() + "/configs/cifar10.textproto --set data.path=" + d + "/c10.pack --set data.eval_path=" +
                                        d + "/c100.pack" + small + " --out " + d + "/other");
  CHECK(other.exit_code == 2);  // CIFAR-100's 100 classes are not CIFAR-10's 10
  // configs/cifar10_dit.textproto as shipped, smaller: a 1-block DiT, in chunks of 3 (train.micro_batch), checkpointed
  const ProcResult dit = run_lockstep("train " + source_dir() + "/configs/cifar10_dit.textproto --set data.path=" + d + "/c10.pack --set data.eval_path=" + d +
                                      "/c10-test.pack --steps 2 --set model.dit.depth=1 --set model.dit.width=32 --set model.dit.heads=2 "
                                      "--set train.batch_size=8 --set train.micro_batch=3 --set model.checkpoint_activations=true --set train.eval_every=2 "
                                      "--set train.eval_samples=8 --set train.checkpoint_every=0 --set sample.num=4 --set sample.steps=2 --set engine.threads=1 --out " +
                                      d + "/dit");
  INFO(dit.output);
  REQUIRE(dit.exit_code == 0);
  CHECK_THAT(dit.output, Catch::Contains("model         : dit, ") && Catch::Contains("activations of 3 samples at once") && Catch::Contains("checkpointed"));
  CHECK(metric_values(d + "/dit", "eval_loss").size() == 1);
  CHECK_THAT(other.output, Catch::Contains("data.eval_path") && Catch::Contains("c100.pack"));

  std::string cut = read_file(c10 + "/data_batch_2.bin");
  cut.resize(cut.size() - 100);
  write_bytes(d + "/data_batch_3.bin", cut);
  const ProcResult r = pack(d + "/data_batch_3.bin --out " + d + "/cut.pack");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("data_batch_3.bin") && Catch::Contains("not a whole number of CIFAR-10 records of 3073 bytes"));
  CHECK(!fs::exists(d + "/cut.pack"));
}

TEST_CASE("a truncated or modified packed file is refused naming the chunk", "[data]") {
  NEED_PYTHON();
  const std::string d = make_images("packed-damaged");
  REQUIRE(pack(d + "/cifar-10-batches-bin/data_batch_1.bin " + d + "/cifar-10-batches-bin/data_batch_2.bin --out " + d + "/c.pack").exit_code == 0);
  const std::string good = read_file(d + "/c.pack");
  const uint64_t offset = PackedFile(d + "/c.pack").header().data_offset(), item = 3 * 32 * 32;
  REQUIRE(packed_chunk_items(item) == 21);  // 64 KiB chunks: 32 items in chunks 0 and 1

  write_bytes(d + "/cut.pack", good.substr(0, offset + 25 * item));
  const ProcResult cut = run_lockstep("data info " + d + "/cut.pack");
  CHECK(cut.exit_code == 2);
  CHECK_THAT(cut.output, Catch::Contains("cut.pack: truncated: the file ends inside chunk 1"));

  std::string changed = good;
  changed[offset + 22 * item + 7] ^= 1;  // item 22, in chunk 1
  write_bytes(d + "/changed.pack", changed);
  CHECK(run_lockstep("data info " + d + "/changed.pack").exit_code == 0);  // the header is intact
  const ProcResult verify = run_lockstep("data info " + d + "/changed.pack --verify");
  CHECK(verify.exit_code == 2);
  CHECK_THAT(verify.output, Catch::Contains("changed.pack: chunk 1 (items 21 to 31) is damaged or was changed (CRC-32 mismatch)"));
  const ProcResult train = run_lockstep("train --steps 3 --set data.name=packed --set data.path=" + d + "/changed.pack" + kUnet + " --out " + d + "/run");
  CHECK(train.exit_code == 2);
  CHECK_THAT(train.output, Catch::Contains("changed.pack: chunk 1"));

  std::string header = good;
  header[24] ^= 1;  // inside the serialized header
  write_bytes(d + "/header.pack", header);
  const ProcResult h = run_lockstep("data info " + d + "/header.pack");
  CHECK(h.exit_code == 2);
  CHECK_THAT(h.output, Catch::Contains("header.pack: damaged header (CRC-32 mismatch)"));
  write_bytes(d + "/tail.pack", good + "extra");
  const ProcResult tail = run_lockstep("data info " + d + "/tail.pack");
  CHECK(tail.exit_code == 2);
  CHECK_THAT(tail.output, Catch::Contains("tail.pack: 5 bytes after the last item"));
  // a file cut while it is mapped: the reads of its lost pages are refused, not a crash (SIGBUS)
  write_bytes(d + "/live.pack", good);
  {
    const PackedFile f(d + "/live.pack");
    std::vector<uint8_t> buf(f.item_size());
    f.read(3, buf.data());
    REQUIRE(::truncate((d + "/live.pack").c_str(), static_cast<off_t>(offset + 5 * item)) == 0);
    try {
      f.read(25, buf.data());
      FAIL("a read of a cut file succeeded");
    } catch (const BadInput& e) {
      CHECK_THAT(e.what(), Catch::Contains("live.pack: the packed data set was cut while this run reads it"));
    }
  }
  const ProcResult npy = run_lockstep("data info " + d + "/cifar10_items.npy");
  CHECK(npy.exit_code == 2);
  CHECK_THAT(npy.output, Catch::Contains("not a packed data set"));
}

TEST_CASE("training on a packed file equals training on the same .npy, item for item", "[data]") {
  NEED_PYTHON();
  const std::string d = make_images("packed-train");
  REQUIRE(pack(d + "/grey --channels 1 --out " + d + "/grey.pack").exit_code == 0);
  const ProcResult a = run_lockstep("train --steps 4 --set data.name=packed --set data.path=" + d + "/grey.pack" + kUnet + " --out " + d + "/packed");
  REQUIRE(a.exit_code == 0);
  const ProcResult b = run_lockstep("train --steps 4 --set data.name=npy --set data.images=" + d + "/grey_items.npy --set data.labels=" + d +
                                    "/grey_labels.npy" + kUnet + " --out " + d + "/npy");
  REQUIRE(b.exit_code == 0);
  const std::vector<double> la = metric_values(d + "/packed", "loss");
  CHECK(la.size() == 4);
  CHECK(la == metric_values(d + "/npy", "loss"));
  const ProcResult sa = run_lockstep("sample " + d + "/packed --out " + d + "/a.npy"), sb = run_lockstep("sample " + d + "/npy --out " + d + "/b.npy");
  REQUIRE(sa.exit_code == 0);
  REQUIRE(sb.exit_code == 0);
  CHECK(read_file(d + "/a.npy") == read_file(d + "/b.npy"));
}

TEST_CASE("xflip and the held-out fraction train the same on 1 and 2 ranks, and npz and PNG samples are identical on both", "[data][mpi]") {
  NEED_PYTHON();
  const std::string d = make_images("packed-ranks");
  REQUIRE(pack(d + "/grey --channels 1 --out " + d + "/grey.pack").exit_code == 0);
  const std::string flags = kUnet + " --steps 4 --set data.name=packed --set data.path=" + d + "/grey.pack --set data.holdout=0.25 " +
                            "--set train.eval_every=2 --set train.eval_samples=8";
  const ProcResult one = run_lockstep("train" + flags + " --set data.xflip=true --out " + d + "/one");
  REQUIRE(one.exit_code == 0);
  const ProcResult two = run_shell(mpi_lockstep_command(2) + " train" + flags + " --set data.xflip=true --out " + d + "/two");
  REQUIRE(two.exit_code == 0);
  const ProcResult plain = run_lockstep("train" + flags + " --out " + d + "/plain");
  REQUIRE(plain.exit_code == 0);
  CHECK(metric_values(d + "/one", "loss") == metric_values(d + "/two", "loss"));
  CHECK(metric_values(d + "/one", "eval_loss") == metric_values(d + "/two", "eval_loss"));
  CHECK(metric_values(d + "/one", "eval_loss").size() == 2);
  CHECK(metric_values(d + "/one", "loss") != metric_values(d + "/plain", "loss"));
  // every rank's peak memory, per logged tick and at the end (a rank holds at least LibTorch's libraries)
  for (const std::vector<double>& peaks : metric_arrays(d + "/two", "peak_rss_mib")) {
    REQUIRE(peaks.size() == 2);
    CHECK(peaks[0] > 20.0);
    CHECK(peaks[1] > 20.0);
  }
  CHECK(metric_arrays(d + "/two", "peak_rss_mib").size() == 4);
  CHECK_THAT(two.output, Catch::Contains("memory : peak resident set") && Catch::Contains("MiB (per rank)"));

  // samples for the FID tools: uint8 NHWC arr_0 with labels arr_1, and one PNG per sample, the same on 1 and 2 ranks
  // (70 images: the network sees [0, 64) and [64, 70) on any number of ranks)
  const ProcResult s1 = run_lockstep("sample " + d + "/one --num 70 --out " + d + "/one.npz --png-dir " + d + "/png1");
  REQUIRE(s1.exit_code == 0);
  const ProcResult s2 = run_shell(mpi_lockstep_command(2) + " sample " + d + "/one --num 70 --out " + d + "/two.npz --png-dir " + d + "/png2");
  REQUIRE(s2.exit_code == 0);
  CHECK(read_file(d + "/one.npz") == read_file(d + "/two.npz"));
  for (int i = 0; i < 70; i += 3) {
    const std::string name = (i < 10 ? "/00000" : "/0000") + std::to_string(i) + ".png";  // the global sample index, 6 digits
    CHECK(read_file(d + "/png1" + name) == read_file(d + "/png2" + name));
  }
  REQUIRE(run_lockstep("sample " + d + "/one --num 70 --out " + d + "/floats.npy").exit_code == 0);
  REQUIRE(run_shell(mpi_lockstep_command(2) + " sample " + d + "/one --num 70 --out " + d + "/floats2.npy").exit_code == 0);
  CHECK(read_file(d + "/floats.npy") == read_file(d + "/floats2.npy"));
  // what numpy and PIL read: arr_0 = clip(floor(x * 127.5 + 128), 0, 255) of the float samples (EDM's rule)
  const ProcResult py = run_shell("cd " + d + " && /usr/bin/python3 -c \"\nimport numpy as np, glob\nfrom PIL import Image\nz = np.load('one.npz')\n"
                                  "a, y, x = z['arr_0'], z['arr_1'], np.load('floats.npy')\n"
                                  "assert a.dtype == np.uint8 and a.shape == (70, 28, 28, 1), (a.dtype, a.shape)\n"
                                  "assert list(y) == [i % 3 for i in range(70)], y\n"
                                  "q = np.clip(np.floor(x.astype(np.float64) * 127.5 + 128), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)\n"
                                  "assert (q == a).all()\n"
                                  "p = np.stack([np.asarray(Image.open(f)) for f in sorted(glob.glob('png1/*.png'))])\n"
                                  "assert (p == a[..., 0]).all(), p.shape\nprint('python ok')\n\"");
  CHECK(py.exit_code == 0);
  CHECK_THAT(py.output, Catch::Contains("python ok"));

  // classes by name: --class, data.class_names; an unknown name lists the classes
  const ProcResult sneaker = run_lockstep("sample " + d + "/one --num 4 --class SNEAKER --out " + d + "/sneaker.npz");
  REQUIRE(sneaker.exit_code == 0);
  CHECK(run_shell("/usr/bin/python3 -c \"import numpy as np; assert list(np.load('" + d + "/sneaker.npz')['arr_1']) == [2] * 4\"").exit_code == 0);
  const ProcResult unknown = run_lockstep("sample " + d + "/one --num 4 --class slipper --out " + d + "/x.npz");
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.output, Catch::Contains("--class slipper") && Catch::Contains("boot, sandal, sneaker"));
  CHECK(!fs::exists(d + "/x.npz"));
  const ProcResult names = run_lockstep("train --steps 2 --set data.name=packed --set data.path=" + d + "/grey.pack" + kUnet +
                                        " --set model.class_conditional=false --set data.class_names=Boot,sneaker --out " + d + "/names");
  CHECK(names.exit_code == 0);
  const ProcResult wrong = run_lockstep("train --steps 2 --set data.name=packed --set data.path=" + d + "/grey.pack" + kUnet +
                                        " --set model.class_conditional=false --set data.class_names=slipper --out " + d + "/wrong");
  CHECK(wrong.exit_code == 2);
  CHECK_THAT(wrong.output, Catch::Contains("data.class_names slipper") && Catch::Contains("boot, sandal, sneaker"));
}

TEST_CASE("a packed file changed while a run reads it stops the run with exit 2", "[data]") {
  NEED_PYTHON();
  const std::string d = make_images("packed-live");
  REQUIRE(pack(d + "/grey --channels 1 --out " + d + "/grey.pack").exit_code == 0);
  // a long run; once it has logged a tick, the file gains a byte
  const std::string cmd = std::string(LOCKSTEP_BIN) + " train --steps 100000 --set data.name=packed --set data.path=" + d + "/grey.pack" + kUnet +
                          " --out " + d + "/run > " + d + "/log 2>&1 & pid=$!; for i in $(seq 600); do [ -s " + d +
                          "/run/metrics.jsonl ] && break; sleep 0.1; done; printf x >> " + d + "/grey.pack; wait $pid; echo rc=$?";
  const ProcResult r = run_shell(cmd);
  CHECK_THAT(r.output, Catch::Contains("rc=2"));
  CHECK_THAT(read_file(d + "/log"), Catch::Contains("grey.pack: the packed data set was replaced or changed while this run reads it"));
}
