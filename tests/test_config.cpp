// Config loading in process: defaults, the embedded default, overrides and every kind of error message.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/config/config.h"
#include "common/data/array_dataset.h"
#include "common/data/dataset.h"
#include "common/model/net.h"
#include "common/path/schedule.h"
#include "common/sampler/ode.h"
#include "common/util/error.h"
#include "common/util/fs.h"
#include "tests/proc.h"

using namespace lockstep;

namespace {
std::string write_config(const std::string& name, const std::string& text) {
  const std::string path = test::temp_dir("config-" + name) + "/c.textproto";
  std::ofstream(path) << text;
  return path;
}
std::string error_of(const std::string& text, const std::vector<std::string>& sets = {}) {
  const std::string path = write_config("err", text);
  try {
    load_config(path, set_overrides(sets));
  } catch (const BadInput& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("an empty config is complete and valid and equals the embedded default", "[config]") {
  const LoadedConfig empty = load_config(write_config("empty", ""), {});
  const LoadedConfig embedded = load_config("", {});
  CHECK(effective_config_text(empty.config) == effective_config_text(embedded.config));
  CHECK(embedded.config.path().name() == "linear");
  CHECK(embedded.config.data().name() == "checkerboard");
  CHECK(embedded.source == "<embedded default config>");
}

TEST_CASE("configs/ files all load", "[config]") {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(test::source_dir() + "/configs")) {
    INFO(e.path().string());
    CHECK_NOTHROW(load_config(e.path().string(), {}));
    ++n;
  }
  CHECK(n >= 10);
}

TEST_CASE("the effective config spells out every default and parses back to the same config", "[config]") {
  const LoadedConfig c = load_config("", {});
  const std::string text = effective_config_text(c.config);
  CHECK(text.find("beta2: 0.999") != std::string::npos);
  CHECK(text.find("threads: 0") != std::string::npos);
  CHECK(effective_config_text(parse_config_text(text, "round trip")) == text);
}

TEST_CASE("set overrides any field with type checks", "[config]") {
  const LoadedConfig c = load_config("", set_overrides({"optim.lr=3e-4", "model.mlp.width = 64", "path.name=vp_cosine", "train.steps=7"}));
  CHECK(c.config.optim().lr() == Approx(3e-4));
  CHECK(c.config.model().mlp().width() == 64);
  CHECK(c.config.path().name() == "vp_cosine");
  CHECK(c.config.train().steps() == 7);
  auto fails = [](const std::string& set) {
    try {
      load_config("", set_overrides({set}));
    } catch (const BadInput& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK_THAT(fails("optim.lrr=1"), Catch::Contains("--set optim.lrr=1: unknown field 'lrr' in optim") && Catch::Contains("lr, beta1"));
  CHECK_THAT(fails("model.mlp.width=abc"), Catch::Contains("field 'model.mlp.width' expects uint32, got 'abc'"));
  CHECK_THAT(fails("optim=1"), Catch::Contains("is a message"));
  CHECK_THAT(fails("optim.lr"), Catch::Contains("expected field.path=value"));
  CHECK_THAT(fails("optim.lr=-1"), Catch::Contains("--set optim.lr=-1: field 'optim.lr': must be a finite number > 0"));
}

TEST_CASE("an unknown field names the file line field and the valid fields", "[config]") {
  const std::string e = error_of("name: \"x\"\noptim {\n  lr: 1e-3\n  lrate: 2\n}\n");
  CHECK_THAT(e, Catch::EndsWith(":4:3: unknown field 'lrate' in OptimConfig; its fields are: name, lr, beta1, beta2, eps, weight_decay, grad_clip, warmup_ticks, final_lr_fraction"));
}

TEST_CASE("a wrong type names the file and line", "[config]") {
  CHECK_THAT(error_of("train {\n  batch_size: \"big\"\n}\n"), Catch::Contains("c.textproto:2:15:") && Catch::Contains("batch_size"));
  CHECK_THAT(error_of("train { steps: 1.5 }"), Catch::Contains("c.textproto:1:16:"));
  CHECK_THAT(error_of("optim { lr: abc }"), Catch::Contains("c.textproto:1:13:"));
}

TEST_CASE("out-of-range values name the file line and field", "[config]") {
  CHECK_THAT(error_of("\noptim { lr: -0.001 }\n"), Catch::EndsWith("c.textproto:2:9: field 'optim.lr': must be a finite number > 0, got -0.001"));
  CHECK_THAT(error_of("train {\n  batch_size: 0\n}"), Catch::EndsWith("c.textproto:2:3: field 'train.batch_size': must be >= 1, got 0"));
  CHECK_THAT(error_of("path { name: \"curvy\" }"), Catch::EndsWith("c.textproto:1:8: field 'path.name': unknown name 'curvy'; allowed: linear, vp_linear, vp_cosine, ve"));
  CHECK_THAT(error_of("model { name: \"transformer\" }"), Catch::EndsWith("field 'model.name': unknown name 'transformer'; allowed: mlp, unet, dit, classifier, oracle"));
  CHECK_THAT(error_of("data { name: \"mnist\" }"), Catch::Contains("field 'data.name': unknown name 'mnist'; allowed: checkerboard, moons"));
  CHECK_THAT(error_of("optim { beta1: 1.0 }"), Catch::Contains("field 'optim.beta1': must be in [0, 1), got 1"));
  CHECK_THAT(error_of("model { mlp { time_embedding: 7 } }"), Catch::Contains("field 'model.mlp.time_embedding': must be an even number"));
  CHECK_THAT(error_of("train { bf16_convolutions: \"amx\" }"), Catch::Contains("field 'train.bf16_convolutions': unknown name 'amx'; allowed: auto, native, float32"));
}

TEST_CASE("syntax errors and repeated fields name the line", "[config]") {
  CHECK_THAT(error_of("optim { lr: 0.1\n"), Catch::Contains("c.textproto:2:1:"));
  CHECK_THAT(error_of("seed: 1\nseed: 2\n"), Catch::Contains("c.textproto:2:") && Catch::Contains("seed"));
}

TEST_CASE("a missing config file is named", "[config]") {
  try {
    load_config("/nonexistent/x.textproto", {});
    FAIL("no error");
  } catch (const BadInput& e) {
    CHECK(std::string(e.what()) == "/nonexistent/x.textproto: no such file");
  }
}

TEST_CASE("every allowed name builds", "[config]") {
  // The validation lists and the factories must not drift apart.
  for (const std::string& name : allowed_names("model.name")) {
    if (name == "unet" || name == "dit") {  // images only
      ModelConfig m;
      m.set_name(name);
      m.mutable_dit()->set_depth(1);
      CHECK(make_net(m, {1, 8, 8}, 1)->forward(torch::zeros({3, 64}), torch::full({3}, 0.5)).sizes() == torch::IntArrayRef({3, 64}));
      continue;
    }
    if (name == "classifier") {  // images with labels: logits, one per class
      ModelConfig m;
      m.set_name(name);
      CHECK(make_net(m, {1, 8, 8}, 1, 5)->forward(torch::zeros({3, 64}), torch::full({3}, 0.5)).sizes() == torch::IntArrayRef({3, 5}));
      continue;
    }
    const Config cfg = parse_config_text("model { name: \"" + name + "\" } data { size: 10 } path { t_max: 0.99 }", name);
    auto data = make_dataset(cfg.data(), 1);
    auto net = make_model(cfg, *data, 1);
    CHECK(net->forward(torch::zeros({3, 2}), torch::full({3}, 0.5)).sizes() == torch::IntArrayRef({3, 2}));
  }
  for (const std::string& name : allowed_names("path.name")) {
    PathConfig p;
    p.set_name(name);
    CHECK(make_schedule(p)->name() == name);
  }
  for (const std::string& name : allowed_names("data.name")) {
    DataConfig d;
    d.set_name(name);
    if (name == "gaussian_mixture") d.add_mixture()->add_mean(0.5), d.mutable_mixture(0)->add_mean(-0.5);
    if (name == "idx" || name == "npy" || name == "packed") continue;  // need files of the user's: tests/test_data_files.cpp, test_packed_data.cpp
    if (name == "fashion_mnist" && !is_file(fashion_mnist_file("train", false))) continue;
    auto data = make_dataset(d, 1);
    CounterRng rng(1, 0, 0, Stream::kEvalData);
    std::vector<float> item(static_cast<size_t>(data->dim()));
    CHECK(data->fresh(rng, item.data()) < data->num_classes());
    CHECK(std::isfinite(item[0]));
  }
  for (const std::string& name : allowed_names("sample.sampler")) {
    ModelConfig m;
    FlowMapSpec flow_map;
    flow_map.enabled = name == "tvm";  // its jumps need a flow-map network (train.loss TVM)
    auto net = make_net(m, {2}, 1, 0, flow_map);
    PathConfig p;
    SampleSpec spec;
    spec.sampler = name;
    spec.steps = 2;
    double nfe = 0;
    CHECK(sample_range(*net, *make_schedule(p), spec, 0, 4, &nfe).size(0) == 4);
  }
  CHECK(allowed_names("optim.name") == std::vector<std::string>{"adam"});  // the one optimizer, common/optim/adam.h
}
