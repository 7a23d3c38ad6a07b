// Every parser of untrusted bytes on thousands of mutated inputs (deterministic): config text, .npy, IDX (and gzip),
// checkpoint files and packed data sets' headers. Each mutated input must give a clean refusal (BadInput) or a valid
// result; any other exception fails the test, and a crash or hang fails the run. The same mutations as the libFuzzer targets start
// from (fuzz/), without needing clang.
#include <catch2/catch.hpp>

#include <zlib.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/checkpoint/checkpoint_file.h"
#include "common/config/config.h"
#include "common/data/packed_file.h"
#include "common/io/idx.h"
#include "common/io/npy.h"
#include "common/util/error.h"
#include "common/util/fs.h"
#include "tests/proc.h"

using namespace lockstep;

namespace {

// splitmix64: the mutations depend on the seed alone
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  size_t below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(next() % n); }
};

// One mutation of `in`: bit flips, extreme bytes, truncation, an overwritten little-endian length, inserted long
// strings and numbers, a duplicated or deleted span.
std::string mutate(const std::string& in, Rng& r) {
  std::string b = in;
  const int kind = static_cast<int>(r.below(9));
  const size_t at = r.below(b.size() + 1);
  switch (kind) {
    case 0:  // flip 1-8 bits
      for (size_t k = 0, n = 1 + r.below(8); k < n && !b.empty(); ++k) b[r.below(b.size())] ^= static_cast<char>(1 << r.below(8));
      break;
    case 1: {  // extreme bytes
      static const char extremes[] = {'\0', '\xff', '\x7f', '\x80', '\x01', '-', '9'};
      for (size_t k = 0, n = 1 + r.below(4); k < n && !b.empty(); ++k) b[r.below(b.size())] = extremes[r.below(sizeof extremes)];
      break;
    }
    case 2:  // truncate
      b.resize(r.below(b.size() + 1));
      break;
    case 3: {  // a length or shape field at an extreme: 8 little-endian bytes
      static const uint64_t values[] = {0, 1, 0x7fffffffull, 0xffffffffull, 0x7fffffffffffffffull, 0xffffffffffffffffull, 1ull << 40};
      const uint64_t v = values[r.below(sizeof values / sizeof values[0])];
      const int width = r.below(2) ? 8 : 4;
      for (int i = 0; i < width && at + static_cast<size_t>(i) < b.size(); ++i) b[at + static_cast<size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
      break;
    }
    case 4: {  // a long run of one character
      static const char fill[] = {' ', 'a', '9', '(', '{', '\'', ',', '\n'};
      b.insert(at, 1000 + r.below(40000), fill[r.below(sizeof fill)]);
      break;
    }
    case 5: {  // numbers that overflow, negative or zero dimensions
      static const char* const numbers[] = {"99999999999999999999999", "-1", "0", "18446744073709551616", "4294967296", "1e308", "nan", "-0"};
      b.insert(at, numbers[r.below(sizeof numbers / sizeof numbers[0])]);
      break;
    }
    case 6:  // delete a span
      b.erase(at, r.below(64));
      break;
    case 7:  // duplicate a span
      if (!b.empty()) b.insert(at, b.substr(r.below(b.size()), r.below(256)));
      break;
    default:  // random bytes
      for (size_t k = 0, n = 1 + r.below(32); k < n; ++k) b.insert(b.begin() + static_cast<std::ptrdiff_t>(r.below(b.size() + 1)), static_cast<char>(r.next()));
      break;
  }
  return b;
}

// Runs `parse` on `inputs` mutations of each seed; counts clean refusals and valid results, fails on anything else.
void hammer(const std::vector<std::string>& seeds, int inputs, uint64_t seed, const std::function<void(const std::string&)>& parse) {
  Rng r{seed};
  int refused = 0, accepted = 0;
  for (int i = 0; i < inputs; ++i) {
    std::string b = seeds[static_cast<size_t>(i) % seeds.size()];
    for (size_t k = 0, n = 1 + r.below(3); k < n; ++k) b = mutate(b, r);
    try {
      parse(b);
      ++accepted;
    } catch (const BadInput&) {
      ++refused;
    } catch (const std::exception& e) {
      FAIL("input " << i << " (" << b.size() << " bytes): not a clean refusal: " << e.what());
    }
  }
  INFO(accepted << " accepted, " << refused << " refused");
  CHECK(refused + accepted == inputs);
  CHECK(refused > inputs / 10);  // the mutations do reach the checks
}

std::string gzip(const std::string& raw) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&zs, static_cast<uLong>(raw.size())) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace

TEST_CASE("the config parser refuses mutated config text cleanly", "[parsers]") {
  const std::vector<std::string> seeds = {
      embedded_default_config(),
      "name: \"x\"\nmodel { name: \"unet\" unet { channels: 16 channel_mult: [1, 2] } }\ndata { name: \"fashion_mnist\" }\n",
      "optim { lr: 1e-3 }\ntrain { steps: 10 batch_size: 64 }\nsample { num: 10 guidance: 2 }\n"};
  hammer(seeds, 2500, 11, [](const std::string& text) {
    const Config c = parse_config_text(text, "mutated.textproto");  // validates too
    CHECK_FALSE(effective_config_text(c).empty());
  });
}

TEST_CASE("the .npy parser refuses mutated arrays cleanly", "[parsers]") {
  std::vector<float> v(24);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) - 3.5f;
  const std::vector<std::string> seeds = {npy_bytes(v.data(), {4, 6}), npy_bytes(v.data(), {2, 3, 4}), npy_bytes(v.data(), {24})};
  hammer(seeds, 3000, 12, [](const std::string& bytes) {
    const NpyArray a = parse_npy(bytes, "mutated.npy");
    uint64_t n = 1;
    for (int64_t d : a.shape) {
      REQUIRE(d >= 0);
      n *= static_cast<uint64_t>(d);
    }
    CHECK(a.data.size() == n);
  });
}

TEST_CASE("the IDX parser and gunzip refuse mutated files cleanly", "[parsers]") {
  std::string idx("\0\0\x08\x03\0\0\0\x02\0\0\0\x03\0\0\0\x04", 16);
  for (int i = 0; i < 24; ++i) idx += static_cast<char>(i * 7);
  const std::vector<std::string> seeds = {idx, gzip(idx)};
  hammer(seeds, 3000, 13, [](const std::string& bytes) {
    const IdxArray a = parse_idx(gunzip_if_compressed(bytes, "mutated.idx"), "mutated.idx");
    uint64_t n = 1;
    for (int64_t d : a.shape) n *= static_cast<uint64_t>(d);
    CHECK(a.data.size() == n);
  });
}

TEST_CASE("the checkpoint parser refuses mutated checkpoints cleanly, and every change to a sealed one", "[parsers]") {
  Manifest m;
  m.set_lockstep_version("test");
  m.set_config("train { steps: 5 }");
  m.set_tick(3);
  m.set_run_id("0123456789abcdef0123456789abcdef");
  ParamInfo* p = m.add_params();
  p->set_name("fc0.weight");
  p->add_shape(2);
  p->add_shape(3);
  std::vector<float> a(6, 1.5f), b(4, -2.0f);
  const std::string file = encode_checkpoint(m, {{"params", {6}, a.data(), 24}, {"ema", {2, 2}, b.data(), 16}});
  REQUIRE(parse_checkpoint(file, "ok.ckpt").manifest.tick() == 3);
  hammer({file}, 3000, 14, [&](const std::string& bytes) {
    const ParsedCheckpoint c = parse_checkpoint(bytes, "mutated.ckpt");
    const uint64_t body = bytes.size() - static_cast<uint64_t>(c.body - bytes.data());
    for (const Payload& q : c.manifest.payloads()) CHECK(q.offset() + q.size() <= body);
    // sealed: a mutation that still parses changed nothing the manifest and the payloads describe
    CHECK(c.manifest.tick() == 3);
    CHECK(c.manifest.run_id() == m.run_id());
  });
  // every single-byte change of the file is caught (the manifest's CRC, the payloads' CRCs, the tiling)
  for (size_t i = 0; i < file.size(); ++i) {
    std::string changed = file;
    changed[i] ^= 0x20;
    CHECK_THROWS_AS(parse_checkpoint(changed, "flipped.ckpt"), BadInput);
  }
}

TEST_CASE("the packed data set's header parser refuses mutated files cleanly, and every change to the header", "[parsers]") {
  const std::string path = test::temp_dir("mutations-packed") + "/a.pack";
  {
    PackedWriter w(path, 3, 2, 5, {"cat", "dog"}, true, 40, "test");
    std::vector<uint8_t> item(30);
    for (uint32_t i = 0; i < 40; ++i) {
      for (size_t k = 0; k < item.size(); ++k) item[k] = static_cast<uint8_t>(i * 7 + k);
      w.append(item.data(), i % 2);
    }
    w.finish(1);
  }
  const std::string file = read_file(path);
  const PackedHeader good = parse_packed_header(file.data(), file.size(), file.size(), "ok.pack");
  REQUIRE(good.count() == 40);
  hammer({file}, 3000, 15, [&](const std::string& bytes) {
    const PackedHeader h = parse_packed_header(bytes.data(), bytes.size(), bytes.size(), "mutated.pack");
    CHECK(h.data_offset() + h.count() * h.channels() * h.height() * h.width() == bytes.size());
    CHECK(static_cast<uint64_t>(h.chunk_crc32_size()) * h.chunk_items() >= h.count());
    for (uint32_t y : h.labels()) CHECK((h.class_names_size() == 0 || static_cast<int>(y) < h.class_names_size()));
  });
  // every single-byte change of the fixed header and the PackedHeader is caught (the magic, the length, the CRC)
  for (size_t i = 0; i < 20 + good.ByteSizeLong(); ++i) {
    std::string changed = file;
    changed[i] ^= 0x20;
    CHECK_THROWS_AS(parse_packed_header(changed.data(), changed.size(), changed.size(), "flipped.pack"), BadInput);
  }
}
