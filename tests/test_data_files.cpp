// Data sets from files: IDX (plain and gzip) and .npy, Fashion-MNIST from Debian, and every kind of bad file.
#include <catch2/catch.hpp>
#include <zlib.h>

#include <fstream>

#include "common/config/config.h"
#include "common/data/array_dataset.h"
#include "common/io/npy.h"
#include "common/util/error.h"
#include "common/util/fs.h"
#include "tests/proc.h"

using namespace lockstep;

namespace {

std::string idx_bytes(unsigned char type, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data) {
  std::string b = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t d : dims)
    for (int k = 3; k >= 0; --k) b += static_cast<char>((d >> (8 * k)) & 0xff);
  b.append(data.begin(), data.end());
  return b;
}

void write_bytes(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

void write_gzip(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

// The config of a data set read from files (labels optional).
DataConfig files_config(const std::string& name, const std::string& images, const std::string& labels = "") {
  DataConfig d;
  d.set_name(name);
  d.set_images(images);
  if (!labels.empty()) d.set_labels(labels);
  return d;
}

std::unique_ptr<DataSource> load(const std::string& name, const std::string& images, const std::string& labels = "") {
  return make_dataset(files_config(name, images, labels), 0);
}

std::string error_of(const std::string& name, const std::string& images, const std::string& labels = "") {
  try {
    load(name, images, labels);
  } catch (const BadInput& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("IDX files load plain and gzip-compressed with labels, scaled to [-1 1]", "[data]") {
  const std::string dir = test::temp_dir("idx");
  std::vector<uint8_t> pixels(5 * 2 * 3);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 8);
  write_bytes(dir + "/x.idx", idx_bytes(0x08, {5, 2, 3}, pixels));
  write_gzip(dir + "/x.idx.gz", idx_bytes(0x08, {5, 2, 3}, pixels));
  write_gzip(dir + "/y.idx.gz", idx_bytes(0x08, {5}, {3, 1, 4, 1, 5}));
  for (const char* file : {"/x.idx", "/x.idx.gz"}) {
    auto data = load("idx", dir + file, dir + "/y.idx.gz");
    CHECK(data->size() == 5);
    CHECK(data->dim() == 6);
    CHECK(data->num_classes() == 6);
    float item[6];
    CHECK(data->item(2, item) == 4);
    CHECK(item[0] == Approx(pixels[12] / 127.5 - 1));
    CHECK(item[5] == Approx(pixels[17] / 127.5 - 1));
  }
}

TEST_CASE("npy items with npy labels load, and data.size keeps the first items", "[data]") {
  const std::string dir = test::temp_dir("npy-data");
  std::vector<float> x = {0.5f, -1.0f, 2.0f, 3.0f, 4.0f, 5.0f};
  write_npy(dir + "/x.npy", x.data(), {3, 2});
  std::vector<float> y = {2, 0, 1};
  write_npy(dir + "/y.npy", y.data(), {3});
  DataConfig d = files_config("npy", dir + "/x.npy", dir + "/y.npy");
  d.set_size(2);
  auto data = make_dataset(d, 0);
  CHECK(data->size() == 2);
  float item[2];
  CHECK(data->item(1, item) == 0);
  CHECK(item[0] == 2.0f);  // float data is used as it is
}

TEST_CASE("bad data files are refused naming the file and what is wrong", "[data]") {
  const std::string dir = test::temp_dir("bad-data");
  const std::vector<uint8_t> four(4 * 3, 7);
  write_bytes(dir + "/magic.idx", "\x01\x02\x08\x01" + std::string(16, '\0'));
  CHECK_THAT(error_of("idx", dir + "/magic.idx"), Catch::Contains("magic.idx: not an IDX file (bad magic number)"));
  write_bytes(dir + "/float.idx", idx_bytes(0x0D, {4, 3}, std::vector<uint8_t>(48, 0)));
  CHECK_THAT(error_of("idx", dir + "/float.idx"), Catch::Contains("float.idx: unsupported IDX data type 0xd"));
  write_bytes(dir + "/short.idx", idx_bytes(0x08, {4, 3}, std::vector<uint8_t>(10, 0)));
  CHECK_THAT(error_of("idx", dir + "/short.idx"), Catch::Contains("short.idx: the header's shape [4, 3] needs 12 bytes of data, the file has 10 (truncated)"));
  std::string gz;
  write_gzip(dir + "/whole.gz", idx_bytes(0x08, {4, 3}, four));
  gz = read_file(dir + "/whole.gz");
  write_bytes(dir + "/cut.gz", gz.substr(0, gz.size() / 2));
  CHECK_THAT(error_of("idx", dir + "/cut.gz"), Catch::Contains("cut.gz: damaged gzip data"));
  write_bytes(dir + "/x.idx", idx_bytes(0x08, {4, 3}, four));
  write_bytes(dir + "/y3.idx", idx_bytes(0x08, {3}, {1, 2, 3}));
  CHECK_THAT(error_of("idx", dir + "/x.idx", dir + "/y3.idx"), Catch::Contains("y3.idx has 3 labels") && Catch::Contains("x.idx has 4 items"));
  std::vector<float> half = {0.5f, 1.0f, 2.0f, 0.0f};
  write_npy(dir + "/half.npy", half.data(), {4});
  CHECK_THAT(error_of("idx", dir + "/x.idx", dir + "/half.npy"), Catch::Contains("half.npy: labels must be integers in [0, 65535], found 0.5"));
  CHECK_THAT(error_of("idx", dir + "/none.idx"), Catch::Contains("none.idx: no such file"));
  // through the binary: exit code 2 and the file named, before any training
  const test::ProcResult r = test::run_lockstep("train --set data.name=idx --set data.images=" + dir + "/short.idx --out " + dir + "/run");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("short.idx: the header's shape [4, 3] needs 12 bytes"));
  CHECK_THAT(test::run_lockstep("train --set data.name=idx --out " + dir + "/run").output,
             Catch::Contains("field 'data.images': data \"idx\" needs the file of items"));
}

TEST_CASE("Fashion-MNIST from Debian's package: 60000 and 10000 images of 28x28 in 10 classes", "[data]") {
  if (!is_file(fashion_mnist_file("train", false))) {
    WARN("skipped: " << fashion_mnist_file("train", false) << " is not installed (launch/setup.sh installs it)");
    return;
  }
  DataConfig d;
  d.set_name("fashion_mnist");
  auto train = make_dataset(d, 0);
  CHECK(train->size() == 60000);
  CHECK(train->dim() == 784);
  CHECK(train->num_classes() == 10);
  std::vector<float> item(784);
  const int64_t label = train->item(0, item.data());
  CHECK(label == 9);  // the first training image is an ankle boot
  CHECK(*std::min_element(item.begin(), item.end()) == -1.0f);
  CHECK(*std::max_element(item.begin(), item.end()) <= 1.0f);
  d.set_split("test");
  CHECK(make_dataset(d, 0)->size() == 10000);
  // a few ticks of training on it through the binary
  const std::string dir = test::temp_dir("fashion");
  const test::ProcResult r = test::run_lockstep("train --steps 3 --set data.name=fashion_mnist --set data.size=512 --set train.batch_size=64 "
                                                "--set sample.num=8 --set train.eval_every=0 --set train.eval_samples=64 --out " + dir + "/run");
  INFO(r.output);
  CHECK(r.exit_code == 0);
}

TEST_CASE("items keep their shape: IDX images get one channel and npy images keep theirs", "[data]") {
  const std::string dir = test::temp_dir("shapes");
  write_bytes(dir + "/x.idx", idx_bytes(0x08, {2, 3, 4}, std::vector<uint8_t>(24, 9)));
  DataConfig d;
  d.set_name("idx");
  d.set_images(dir + "/x.idx");
  CHECK(make_dataset(d, 0)->item_shape() == std::vector<int64_t>{1, 3, 4});
  std::vector<float> x(2 * 3 * 2 * 2, 0.25f);
  write_npy(dir + "/x.npy", x.data(), {2, 3, 2, 2});
  d.set_name("npy");
  d.set_images(dir + "/x.npy");
  auto data = make_dataset(d, 0);
  CHECK(data->item_shape() == std::vector<int64_t>{3, 2, 2});
  CHECK(data->dim() == 12);
  std::vector<float> points(6, 1.0f);
  write_npy(dir + "/p.npy", points.data(), {3, 2});
  d.set_images(dir + "/p.npy");
  CHECK(make_dataset(d, 0)->item_shape() == std::vector<int64_t>{2});
}

TEST_CASE("held-out sets are real splits: the other Fashion-MNIST split or data.eval_images", "[data]") {
  const std::string dir = test::temp_dir("eval-split");
  write_bytes(dir + "/train.idx", idx_bytes(0x08, {6, 2, 2}, std::vector<uint8_t>(24, 0)));
  write_bytes(dir + "/held.idx", idx_bytes(0x08, {3, 2, 2}, std::vector<uint8_t>(12, 255)));
  write_bytes(dir + "/odd.idx", idx_bytes(0x08, {3, 3, 2}, std::vector<uint8_t>(18, 255)));
  DataConfig d;
  d.set_name("idx");
  d.set_images(dir + "/train.idx");
  CHECK(make_eval_dataset(d, 0) == nullptr);  // no split given: the held-out loss draws from the training items
  d.set_eval_images(dir + "/held.idx");
  auto held = make_eval_dataset(d, 0);
  REQUIRE(held != nullptr);
  CHECK(held->size() == 3);
  float item[4];
  held->item(0, item);
  CHECK(item[0] == 1.0f);  // the held-out file's pixels, not the training file's
  // through the binary: the held-out loss runs on it; a shape that differs is refused
  const std::string base = "train --steps 2 --set data.name=idx --set data.images=" + dir + "/train.idx --set train.batch_size=4 " +
                           "--set train.eval_every=1 --set train.eval_samples=3 --set sample.num=4 --set sample.steps=2 ";
  const test::ProcResult ok = test::run_lockstep(base + "--set data.eval_images=" + dir + "/held.idx --out " + dir + "/ok");
  INFO(ok.output);
  CHECK(ok.exit_code == 0);
  CHECK(test::metric_values(dir + "/ok", "eval_loss").size() == 2);
  const test::ProcResult bad = test::run_lockstep(base + "--set data.eval_images=" + dir + "/odd.idx --out " + dir + "/bad");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.output, Catch::Contains("data.eval_images " + dir + "/odd.idx: its items have shape [1, 3, 2], the training items [1, 2, 2]"));
  CHECK_THAT(test::run_lockstep(base + "--set data.eval_labels=" + dir + "/held.idx --out " + dir + "/lab").output,
             Catch::Contains("data.eval_labels") && Catch::Contains("needs data.eval_images"));
  if (is_file(fashion_mnist_file("test", false))) {
    DataConfig f;
    f.set_name("fashion_mnist");
    CHECK(make_eval_dataset(f, 0)->size() == 10000);  // training on "train" holds out "test"
    f.set_split("test");
    CHECK(make_eval_dataset(f, 0)->size() == 60000);
  }
}

TEST_CASE("data.classes keeps the items of some classes of finite and infinite data sets and refuses absent classes", "[data]") {
  const std::string dir = test::temp_dir("class-filter");
  std::vector<float> x = {0, 0, 1, 1, 2, 2, 3, 3, 4, 4};
  write_npy(dir + "/x.npy", x.data(), {5, 2});
  std::vector<float> y = {2, 0, 1, 0, 2};
  write_npy(dir + "/y.npy", y.data(), {5});
  DataConfig d = files_config("npy", dir + "/x.npy", dir + "/y.npy");
  d.add_classes(2);
  auto data = make_dataset(d, 0);
  REQUIRE(data->size() == 2);  // items 0 and 4, in file order
  CHECK(data->num_classes() == 3);
  float item[2];
  CHECK(data->item(0, item) == 2);
  CHECK(item[0] == 0.0f);
  CHECK(data->item(1, item) == 2);
  CHECK(item[0] == 4.0f);
  for (uint64_t i = 0; i < 50; ++i) {  // fresh draws: only those items
    CounterRng rng(7, 0, i, Stream::kEvalData);
    CHECK(data->fresh(rng, item) == 2);
    CHECK((item[0] == 0.0f || item[0] == 4.0f));
  }
  // an infinite toy set: draws of checkerboard cells 1 and 6 only, deterministic
  DataConfig board;
  board.set_name("checkerboard");
  board.add_classes(1);
  board.add_classes(6);
  auto cells = make_dataset(board, 0);
  CHECK(cells->size() == 0);
  int64_t ones = 0;
  for (uint64_t i = 0; i < 400; ++i) {
    CounterRng rng(3, 0, i, Stream::kEvalData), again(3, 0, i, Stream::kEvalData);
    float p[2], q[2];
    const int64_t label = cells->fresh(rng, p);
    CHECK((label == 1 || label == 6));
    ones += label == 1;
    CHECK(cells->fresh(again, q) == label);
    CHECK(p[0] == q[0]);
  }
  CHECK(std::abs(ones - 200) < 5 * 10);  // half of 400, within 5 binomial standard errors
  // refusals: a class the data set does not have, and a class no item has
  d.set_classes(0, 5);
  CHECK_THROWS_WITH(make_dataset(d, 0), Catch::Contains("classes [5]") && Catch::Contains("has classes 0 .. 2"));
  std::vector<float> y2 = {2, 0, 2, 0, 2};
  write_npy(dir + "/y2.npy", y2.data(), {5});
  d.set_labels(dir + "/y2.npy");
  d.set_classes(0, 1);
  CHECK_THROWS_WITH(make_dataset(d, 0), Catch::Contains("classes [1]: no item"));
  // the config: a negative or repeated class, named with its field
  const test::ProcResult r = test::run_lockstep("train --steps 1 --out " + dir + "/bad --set data.classes=[3,3]");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("data.classes") && Catch::Contains("listed twice"));
}
