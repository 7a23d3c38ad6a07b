// Weights in and out: safetensors written and parsed (every damaged header byte refused), `lockstep export` read by
// python/lockstep_torch.py with the same velocities, samples and logits as Lockstep's (MLP, U-Net, DiT, classifier;
// tests/python/check_interop.py; skipped with a warning where python3-torch is missing), .pt files for torch.load,
// model.init_from reproducing the exported model exactly (also from a file Python wrote), its refusals, `sample
// --init` and the torchrun message.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/checkpoint/checkpoint.h"
#include "common/checkpoint/weights_file.h"
#include "common/comm/comm_registry.h"
#include "common/config/config.h"
#include "common/data/dataset.h"
#include "common/io/npy.h"
#include "common/io/safetensors.h"
#include "common/path/schedule.h"
#include "common/proto/config.pb.h"
#include "common/sampler/ode.h"
#include "common/util/error.h"
#include "common/util/fs.h"
#include "evaluation/sample_run.h"
#include "tests/proc.h"
#include "worker/worker.h"

using namespace lockstep;
using namespace lockstep::test;

namespace {

bool python_torch() {
  static const bool ok = run_shell("/usr/bin/python3 -c 'import torch, numpy'").exit_code == 0;
  return ok;
}

ProcResult python_check(const std::string& args) {
  return run_shell("OMP_NUM_THREADS=1 /usr/bin/python3 " + source_dir() + "/tests/python/check_interop.py " + args);
}

void write_config(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// A trained run's network with its raw weights, as `lockstep sample --raw` builds it.
struct Loaded {
  Config cfg;
  std::unique_ptr<DataSource> data;
  std::unique_ptr<Schedule> schedule;
  std::shared_ptr<Net> net;
  std::unique_ptr<FlatParams> params;
};

Loaded load_run(const std::string& run) {
  Loaded l;
  const std::string path = resolve_checkpoint(run);
  const CheckpointData ck = load_checkpoint(path);
  l.cfg = parse_config_text(ck.config_text, path);
  l.data = make_dataset(l.cfg.data(), l.cfg.seed());
  l.schedule = make_schedule(l.cfg.path());
  l.net = make_model(l.cfg, *l.data, init_seed_of(l.cfg));
  l.params = std::make_unique<FlatParams>(*l.net);
  load_params(*l.params, ck, path, "params");
  return l;
}

void save(const std::string& path, const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kFloat32).contiguous();
  write_npy(path, c.data_ptr<float>(), c.sizes().vec());
}

// Lockstep's guided velocity at fixed inputs against Python's, and (for generative models) a 10-step sample from
// --init points.
void check_generative(const std::string& dir, const std::string& run, double guidance, const std::string& method) {
  Loaded l = load_run(run);
  const int64_t n = 6, k = l.cfg.model().class_conditional() ? l.data->num_classes() : 0;
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({n, l.data->dim()});
  const torch::Tensor t = l.cfg.path().t_min() + (l.cfg.path().t_max() - l.cfg.path().t_min()) * torch::rand({n});
  const torch::Tensor y = k > 0 ? torch::arange(n, torch::kInt64).remainder(k) : torch::Tensor();
  torch::Tensor v;
  {
    torch::InferenceMode guard;
    const Field f = velocity_field(*l.net, *l.schedule, prediction_from_config(l.cfg.model().prediction()), Guidance{y, guidance, k});
    v = f(x, t, {});
  }
  save(dir + "/x.npy", x);
  save(dir + "/t.npy", t);
  save(dir + "/v.npy", v);
  if (y.defined()) save(dir + "/y.npy", y);
  const std::string exported = dir + "/raw.safetensors";
  ProcResult r = run_lockstep("export " + run + " --raw --out " + exported);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  if (!python_torch()) {
    WARN("skipped: /usr/bin/python3 cannot import torch and numpy (launch/setup.sh installs python3-torch)");
    return;
  }
  r = python_check("velocity " + exported + " " + dir + "/x.npy " + dir + "/t.npy " + (y.defined() ? dir + "/y.npy" : "-") + " " +
                   std::to_string(guidance) + " " + dir + "/v.npy");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  // 10 solver steps from the same points: Lockstep's `sample --init` against lockstep_torch's sampler
  const torch::Tensor init = torch::randn({n, l.data->dim()}) * l.schedule->at(l.cfg.path().t_min()).beta;
  std::vector<int64_t> shape = l.data->item_shape();
  shape.insert(shape.begin(), n);
  save(dir + "/init.npy", init.view(shape));
  r = run_lockstep("sample " + run + " --raw --init " + dir + "/init.npy --steps 10 --sampler " + method + " --guidance " + std::to_string(guidance) +
                   " --out " + dir + "/s.npy");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  r = python_check("sample " + exported + " " + dir + "/init.npy 10 " + method + " " + std::to_string(guidance) + " " + dir + "/s.npy");
  INFO(r.output);
  CHECK(r.exit_code == 0);
}

// Trains `config_text` for `steps` ticks into dir/run.
std::string train(const std::string& dir, const std::string& config_text, int steps) {
  write_config(dir + "/c.textproto", config_text);
  const ProcResult r = run_lockstep("train " + dir + "/c.textproto --steps " + std::to_string(steps) + " --out " + dir + "/run");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  return dir + "/run";
}

const char* kUnet =
    "data { name: \"fashion_mnist\" }\n"
    "model { name: \"unet\" class_conditional: true unet { channels: 8 channel_mult: [1, 2] res_blocks: 1 attention_heads: 2 groups: 4 "
    "channels_last: false } }\n"
    "optim { lr: 0.01 warmup_ticks: 1 }\n"
    "train { batch_size: 8 log_every: 1 eval_every: 0 label_dropout: 0.3 ema_decay: 0.5 }\n"
    "sample { num: 4 steps: 2 }\nengine { threads: 1 }\n";

}  // namespace

TEST_CASE("safetensors: written and read back, and every damaged header byte refused", "[interop]") {
  const std::vector<float> a = {1, 2, 3, 4, 5, 6}, b = {-1.5f, 0.25f};
  const std::string bytes = encode_safetensors({{"fc0.weight", {2, 3}, a.data()}, {"fc0.bias", {2}, b.data()}}, {{"lockstep", "{\"tick\": 3}"}});
  CHECK((bytes.size() - 32) % 8 == 0);  // 32 bytes of data, starting at a multiple of 8
  const SafetensorsView v = parse_safetensors(bytes, "t.safetensors");
  REQUIRE(v.entries.size() == 2);
  CHECK(v.crc_checked);
  CHECK(v.entries[0].name == "fc0.weight");
  CHECK(v.entries[0].shape == std::vector<int64_t>{2, 3});
  CHECK(v.entries[1].begin == 24);
  CHECK(std::memcmp(v.data + v.entries[1].begin, b.data(), 8) == 0);
  CHECK(v.metadata.at("lockstep") == "{\"tick\": 3}");
  uint64_t header = 0;
  for (int i = 7; i >= 0; --i) header = (header << 8) | static_cast<unsigned char>(bytes[static_cast<size_t>(i)]);
  // every byte of the length and the header, flipped in its lowest bit, and every data byte: refused, naming the file
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string damaged = bytes;
    damaged[i] = static_cast<char>(damaged[i] ^ 1);
    INFO("byte " << i << " of " << bytes.size() << " (header " << header << " bytes)");
    CHECK_THROWS_WITH(parse_safetensors(damaged, "t.safetensors"), Catch::Contains("t.safetensors"));
  }
  for (size_t len : {size_t{0}, size_t{7}, size_t{8}, bytes.size() / 2, bytes.size() - 1})
    CHECK_THROWS_AS(parse_safetensors(bytes.substr(0, len), "t.safetensors"), BadInput);
  // another writer's file (no CRC, F16 and BF16): read
  const std::string plain = "{\"w\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}";
  std::string other(8, '\0');
  other[0] = static_cast<char>(plain.size());
  other += plain + std::string("\x80\x3f\x00\x40", 4);  // bfloat16 1.0 and 2.0
  const SafetensorsView o = parse_safetensors(other, "o.safetensors");
  CHECK_FALSE(o.crc_checked);
  REQUIRE(o.entries.size() == 1);
  const std::string dir = temp_dir("safetensors-read");
  write_file_atomic(dir + "/o.safetensors", other);
  const WeightsFile w = read_weights(dir + "/o.safetensors");
  REQUIRE(w.tensors.size() == 1);
  CHECK(torch::equal(w.tensors[0].value, torch::tensor({1.0f, 2.0f})));
  // a huge header length, overlapping or gapped tensors, a shape that does not match its bytes
  std::string huge = bytes;
  huge[6] = 1;
  CHECK_THROWS_WITH(parse_safetensors(huge, "h"), Catch::Contains("100 MB"));
  for (const std::string& h : {std::string("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}"),
                               std::string("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}"),
                               std::string("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,4]}}"),
                               std::string("{\"a\":{\"dtype\":\"Q8\",\"shape\":[1],\"data_offsets\":[0,4]}}")}) {
    std::string f(8, '\0');
    f[0] = static_cast<char>(h.size());
    f += h + std::string(4, '\0');
    CHECK_THROWS_AS(parse_safetensors(f, "f"), BadInput);
  }
}

TEST_CASE("export: a U-Net's velocity and guided samples in PyTorch equal Lockstep's, .pt files load with torch.load", "[interop][python]") {
  const std::string dir = temp_dir("interop-unet");
  const std::string run = train(dir, kUnet, 4);
  check_generative(dir, run, 2.0, "euler");
  // EMA weights by default, as .pt with the description beside it; torch.load reads them
  ProcResult r = run_lockstep("export " + run + " --out " + dir + "/ema.pt");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("EMA weights") != std::string::npos);
  CHECK(is_file(dir + "/ema.json"));
  r = run_lockstep("export " + run + " --out " + dir + "/ema.safetensors");
  REQUIRE(r.exit_code == 0);
  const WeightsFile pt = read_weights(dir + "/ema.pt"), st = read_weights(dir + "/ema.safetensors");
  REQUIRE(pt.tensors.size() == st.tensors.size());
  for (size_t i = 0; i < pt.tensors.size(); ++i) {
    CHECK(pt.tensors[i].name == st.tensors[i].name);
    CHECK(torch::equal(pt.tensors[i].value, st.tensors[i].value));
  }
  const CheckpointData ck = load_checkpoint(resolve_checkpoint(run));
  CHECK(torch::equal(torch::cat([&] {
                       std::vector<torch::Tensor> flat;
                       for (const NamedTensor& t : st.tensors) flat.push_back(t.value.reshape({-1}));
                       return flat;
                     }()),
                     ck.tensor("ema", "ck")));
  // existing files are kept
  r = run_lockstep("export " + run + " --out " + dir + "/ema.pt");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("exists") != std::string::npos);
  r = run_lockstep("export " + run + " --target --out " + dir + "/t.safetensors");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("target network") != std::string::npos);
  r = run_lockstep("export " + run + " --out " + dir + "/x.bin");
  CHECK(r.exit_code == 2);
  if (!python_torch()) return;
  r = python_check("pt " + dir + "/ema.pt " + dir + "/ema.safetensors");
  INFO(r.output);
  CHECK(r.exit_code == 0);
}

TEST_CASE("export: an MLP predicting noise on a VP path, and a DiT predicting data, agree with PyTorch", "[interop][python]") {
  {
    const std::string dir = temp_dir("interop-mlp");
    const std::string run = train(dir,
                                  "data { name: \"checkerboard\" }\npath { name: \"vp_cosine\" t_min: 0.01 t_max: 0.99 }\n"
                                  "model { name: \"mlp\" prediction: EPSILON mlp { width: 32 depth: 2 } }\n"
                                  "train { batch_size: 64 log_every: 10 }\nsample { num: 8 steps: 2 }\nengine { threads: 1 }\n",
                                  30);
    check_generative(dir, run, 1.0, "heun");
  }
  {
    const std::string dir = temp_dir("interop-dit");
    const std::string run = train(dir,
                                  "data { name: \"fashion_mnist\" }\n"
                                  "model { name: \"dit\" prediction: X0 class_conditional: true dit { patch: 4 width: 16 depth: 1 heads: 2 "
                                  "time_embedding: 16 qk_norm: true learned_positions: true } }\n"
                                  "path { t_min: 0.01 t_max: 0.99 }\noptim { lr: 0.01 warmup_ticks: 1 }\n"
                                  "train { batch_size: 8 log_every: 1 eval_every: 0 }\nsample { num: 4 steps: 2 }\nengine { threads: 1 }\n",
                                  3);
    check_generative(dir, run, 1.5, "heun");
  }
}

TEST_CASE("export: a classifier's logits in PyTorch equal Lockstep's", "[interop][python]") {
  const std::string dir = temp_dir("interop-classifier");
  const std::string run = train(dir,
                                "data { name: \"fashion_mnist\" }\nmodel { name: \"classifier\" classifier { channels: 4 features: 16 } }\n"
                                "optim { lr: 0.01 warmup_ticks: 1 }\n"
                                "train { loss: CLASSIFY batch_size: 16 log_every: 1 eval_every: 0 }\nengine { threads: 1 }\n",
                                3);
  Loaded l = load_run(run);
  torch::manual_seed(5);
  const torch::Tensor x = torch::rand({5, l.data->dim()}) * 2 - 1;
  torch::Tensor logits;
  {
    torch::InferenceMode guard;
    logits = l.net->forward(x, torch::zeros({5}));
  }
  save(dir + "/x.npy", x);
  save(dir + "/logits.npy", logits);
  const ProcResult r = run_lockstep("export " + run + " --raw --out " + dir + "/c.safetensors");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  if (!python_torch()) return;
  const ProcResult p = python_check("logits " + dir + "/c.safetensors " + dir + "/x.npy " + dir + "/logits.npy");
  INFO(p.output);
  CHECK(p.exit_code == 0);
}

TEST_CASE("model.init_from: the exported weights exactly, also from Python's files, and wrong files refused", "[interop]") {
  const std::string dir = temp_dir("interop-init");
  const std::string run = train(dir, kUnet, 3);
  ProcResult r = run_lockstep("export " + run + " --raw --out " + dir + "/raw.safetensors");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  Loaded a = load_run(run);
  std::vector<std::string> files = {dir + "/raw.safetensors"};
  if (python_torch()) {  // the other direction: files lockstep_torch.save wrote
    for (const char* f : {"/py.safetensors", "/py.pt"}) {
      r = python_check("save " + dir + "/raw.safetensors " + dir + f);
      INFO(r.output);
      REQUIRE(r.exit_code == 0);
      files.push_back(dir + f);
    }
  }
  std::unique_ptr<Comm> comm = make_comm("self", false);
  for (const std::string& file : files) {
    INFO(file);
    Config cfg = a.cfg;
    cfg.mutable_model()->set_init_from(file);
    cfg.mutable_model()->set_init_seed(99);  // another initialisation, overwritten by the file
    Worker w(cfg, *comm);
    CHECK(torch::equal(w.params().values(), a.params->values()));
    // the same samples, bit for bit
    const SampleSpec spec = sample_spec(cfg, *a.data);
    double nfe = 0;
    CHECK(torch::equal(sample_range(w.net(), *a.schedule, spec, 0, 4, &nfe), sample_range(*a.net, *a.schedule, spec, 0, 4, &nfe)));
  }
  // through the command line: a run starts from the file (and says so)
  const std::string cfg_file = dir + "/c.textproto";
  const auto init_run = [&](const std::string& file, const std::string& settings, const std::string& out) {
    return run_lockstep("train " + cfg_file + " --steps 1 " + settings + " --set model.init_from=" + dir + "/" + file + " --out " + dir + "/" + out);
  };
  r = init_run("raw.safetensors", "", "tuned");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("init from     : " + dir + "/raw.safetensors (") != std::string::npos);
  // a model the file does not fit: named tensors, exit 2, nothing written
  r = init_run("raw.safetensors", "--set model.unet.channels=16", "wide");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("shapes that differ: time1.weight: [32, 8] in the file, [64, 16] in the model") != std::string::npos);
  CHECK(r.output.find("; in.weight: [8, 1, 3, 3] in the file, [16, 1, 3, 3] in the model") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir + "/wide/checkpoints"));
  // init_exclude: the class embedding left out (an unconditional model has none; the file's is ignored)
  r = init_run("raw.safetensors", "--set model.class_conditional=false", "uncond");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("tensors of the file the model does not have: classes.weight [11, 32]") != std::string::npos);
  r = init_run("raw.safetensors", "--set model.class_conditional=false --set model.init_exclude=classes", "uncond2");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  r = init_run("raw.safetensors", "--set model.init_exclude=clases", "typo");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("init_exclude entries that name no parameter of the model or tensor of the file: clases") != std::string::npos);
  // a flipped byte in the header, a missing file, a junk .pt: refused (by lockstep_torch too)
  std::string bytes = read_file(dir + "/raw.safetensors");
  bytes[40] = static_cast<char>(bytes[40] ^ 1);
  write_file_atomic(dir + "/damaged.safetensors", bytes);
  write_file_atomic(dir + "/junk.pt", "PK this is not a zip archive");
  for (const auto& [file, message] : std::vector<std::pair<std::string, std::string>>{{"damaged.safetensors", "damaged.safetensors: damaged"},
                                                                                     {"missing.pt", "missing.pt: no such file"},
                                                                                     {"junk.pt", "junk.pt: cannot read it as a PyTorch file"}}) {
    r = init_run(file, "", "bad");
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK(r.output.find(message) != std::string::npos);
  }
  if (python_torch()) {
    ProcResult p = python_check("refuse " + dir + "/damaged.safetensors");
    INFO(p.output);
    CHECK(p.exit_code == 0);
    // torch.save(model.state_dict()): LibTorch cannot read the OrderedDict, and the message says what to save instead
    for (const char* kind : {"plain", "ordered"}) {
      p = python_check("statedict " + dir + "/raw.safetensors " + dir + "/" + kind + ".pt " + kind);
      REQUIRE(p.exit_code == 0);
    }
    CHECK(torch::equal(read_weights(dir + "/plain.pt").tensors[0].value, read_weights(dir + "/raw.safetensors").tensors[0].value));
    r = init_run("ordered.pt", "", "ordered");
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("ordered.pt: LibTorch reads a .pt that holds a plain dict of tensors") != std::string::npos);
    CHECK(r.output.find("torch.save(dict(model.state_dict()), path)") != std::string::npos);
  }
}

TEST_CASE("sample --init: the given points, the number of samples, SDEdit-style noising, refusals", "[interop]") {
  const std::string dir = temp_dir("sample-init");
  const std::string run = train(dir,
                                "data { name: \"checkerboard\" }\nmodel { mlp { width: 16 depth: 2 } }\n"
                                "train { batch_size: 32 log_every: 10 }\nsample { num: 8 steps: 2 }\nengine { threads: 1 }\n",
                                5);
  const std::vector<float> pts = {0.5f, -0.5f, 1, 1, -2, 0.25f};
  write_npy(dir + "/init.npy", pts.data(), {3, 2});
  ProcResult r = run_lockstep("sample " + run + " --init " + dir + "/init.npy --steps 3 --out " + dir + "/a.npy");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(read_npy(dir + "/a.npy").shape == std::vector<int64_t>{3, 2});
  // the sample of a row depends only on the row: the first two of them alone are the same
  r = run_lockstep("sample " + run + " --init " + dir + "/init.npy --num 2 --steps 3 --out " + dir + "/b.npy");
  REQUIRE(r.exit_code == 0);
  const NpyArray a = read_npy(dir + "/a.npy"), b = read_npy(dir + "/b.npy");
  REQUIRE(b.data.size() == 4);
  for (size_t i = 0; i < 4; ++i) CHECK(b.data[i] == Approx(a.data[i]).margin(1e-6));
  // starting late moves the points less; at --t-start near t_max they stay nearly where they are
  r = run_lockstep("sample " + run + " --init " + dir + "/init.npy --t-start 0.999 --steps 1 --out " + dir + "/late.npy");
  REQUIRE(r.exit_code == 0);
  const NpyArray late = read_npy(dir + "/late.npy");
  for (size_t i = 0; i < pts.size(); ++i) CHECK(std::abs(late.data[i] - pts[i]) < 0.05);
  // SDEdit: noised to t = 0.5 by the seeded draws, so another seed gives other samples
  r = run_lockstep("sample " + run + " --init " + dir + "/init.npy --t-start 0.5 --noise-init --seed 1 --out " + dir + "/e1.npy");
  REQUIRE(r.exit_code == 0);
  r = run_lockstep("sample " + run + " --init " + dir + "/init.npy --t-start 0.5 --noise-init --seed 2 --out " + dir + "/e2.npy");
  REQUIRE(r.exit_code == 0);
  CHECK(read_npy(dir + "/e1.npy").data != read_npy(dir + "/e2.npy").data);
  const std::vector<float> wrong = {1, 2, 3};
  write_npy(dir + "/wrong.npy", wrong.data(), {1, 3});
  for (const std::string& bad : {"--init " + dir + "/wrong.npy", "--init " + dir + "/init.npy --num 4", std::string("--t-start 0.5"),
                                 "--init " + dir + "/init.npy --t-start 1.5", "--init " + dir + "/init.npy --noise-init"}) {
    r = run_lockstep("sample " + run + " " + bad + " --out " + dir + "/bad.npy");
    INFO(bad << "\n" << r.output);
    CHECK(r.exit_code == 2);
    CHECK_FALSE(std::filesystem::exists(dir + "/bad.npy"));
  }
}

TEST_CASE("started by torchrun: refused with the mpirun and srun lines, and a torchrun world of one runs", "[interop]") {
  const std::string env = "env -u OMPI_COMM_WORLD_SIZE -u PMIX_RANK -u PMI_RANK -u PMI_SIZE MASTER_ADDR=127.0.0.1 MASTER_PORT=29500 ";
  const std::string cfg = source_dir() + "/configs/checkerboard.textproto";
  ProcResult r = run_shell(env + "RANK=0 LOCAL_RANK=0 WORLD_SIZE=4 LOCAL_WORLD_SIZE=2 " + LOCKSTEP_BIN + " train " + cfg + " --steps 1");
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("started by torchrun") != std::string::npos);
  CHECK(r.output.find("mpirun -np 4 " + std::string(LOCKSTEP_BIN) + " train " + cfg + " --steps 1") != std::string::npos);
  CHECK(r.output.find("srun --ntasks=4 ") != std::string::npos);
  CHECK(r.output.find("--ntasks-per-node=2") != std::string::npos);
  // the other ranks exit alike, silently
  r = run_shell(env + "RANK=3 LOCAL_RANK=1 WORLD_SIZE=4 " + LOCKSTEP_BIN + " train " + cfg + " --steps 1");
  CHECK(r.exit_code == 2);
  CHECK(r.output.empty());
  const std::string dir = temp_dir("torchrun-one");
  r = run_shell(env + "RANK=0 LOCAL_RANK=0 WORLD_SIZE=1 " + LOCKSTEP_BIN + " train " + cfg + " --steps 2 --set sample.num=16 --out " + dir + "/run");
  INFO(r.output);
  CHECK(r.exit_code == 0);
}

TEST_CASE("model.init_from on 2 ranks: rank 0 reads the file, every rank starts from it, and all refuse alike", "[interop][mpi]") {
  const std::string dir = temp_dir("interop-init-mpi");
  const std::string run = train(dir, kUnet, 2);
  ProcResult r = run_lockstep("export " + run + " --raw --out " + dir + "/raw.safetensors");
  REQUIRE(r.exit_code == 0);
  const std::string cfg_file = dir + "/c.textproto";
  r = run_shell(mpi_lockstep_command(2) + " train " + cfg_file + " --steps 1 --set engine.check_every=1 --set model.init_from=" + dir +
                "/raw.safetensors --out " + dir + "/two");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("init from     : ") != std::string::npos);
  r = run_shell(mpi_lockstep_command(2) + " train " + cfg_file + " --steps 1 --set model.unet.channels=16 --set model.init_from=" + dir +
                "/raw.safetensors --out " + dir + "/wide");
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("shapes that differ") != std::string::npos);
}
