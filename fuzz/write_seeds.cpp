// Writes the fuzz targets' starting inputs into DIR/{config,npy,idx,checkpoint,packed,safetensors}/: valid files of each format.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/checkpoint/checkpoint_file.h"
#include "common/io/safetensors.h"
#include "common/config/config.h"
#include "common/data/packed_file.h"
#include "common/io/npy.h"

namespace fs = std::filesystem;

static void put(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const fs::path dir = argv[1];
  put(dir / "config" / "default.textproto", lockstep::embedded_default_config());
  put(dir / "config" / "unet.textproto", "model { name: \"unet\" unet { channels: 16 channel_mult: [1, 2] } }\ndata { name: \"fashion_mnist\" }\n");
  std::vector<float> v(12, 0.5f);
  put(dir / "npy" / "a.npy", lockstep::npy_bytes(v.data(), {3, 4}));
  put(dir / "npy" / "b.npy", lockstep::npy_bytes(v.data(), {12}));
  put(dir / "idx" / "a.idx", std::string("\0\0\x08\x02\0\0\0\x03\0\0\0\x02\x01\x02\x03\x04\x05\x06", 18));
  lockstep::Manifest m;
  m.set_config("train { steps: 5 }");
  m.set_tick(3);
  m.set_run_id("0123456789abcdef0123456789abcdef");
  lockstep::ParamInfo* p = m.add_params();
  p->set_name("w");
  p->add_shape(3);
  p->add_shape(4);
  put(dir / "checkpoint" / "a.ckpt", lockstep::encode_checkpoint(m, {{"params", {12}, v.data(), 48}, {"ema", {3, 4}, v.data(), 48}}));
  put(dir / "safetensors" / "a.safetensors",
      lockstep::encode_safetensors({{"fc0.weight", {3, 4}, v.data()}, {"fc0.bias", {3}, v.data()}}, {{"format", "pt"}, {"lockstep", "{\"tick\": 3}"}}));
  const std::string plain = "{\"w\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,8]}}";  // another writer's: no CRC
  put(dir / "safetensors" / "b.safetensors", std::string(1, static_cast<char>(plain.size())) + std::string(7, '\0') + plain + std::string(8, '\1'));
  fs::create_directories(dir / "packed");
  lockstep::PackedWriter w((dir / "packed" / "a.pack").string(), 3, 2, 3, {"a", "b"}, true, 30, "seed");
  std::vector<uint8_t> item(18, 7);
  for (uint32_t i = 0; i < 30; ++i) w.append(item.data(), i % 2);
  w.finish(0);
  return 0;
}
