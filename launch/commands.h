// The subcommands of the lockstep binary. Each returns the process exit code (error.h) or throws
// BadInput / InternalError, which main() turns into a message and exit code 2 / 1.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lockstep {

struct TrainArgs {
  std::string config;  // empty: the embedded default
  std::string out;     // empty: runs/<name>-<time>/
  bool steps_given = false, seed_given = false;
  int64_t steps = 0, seed = 0;
  std::vector<std::string> sets;
  std::string resume;  // a checkpoint file or run directory to continue; empty: a new run
  std::string device;  // --device: engine.device for this run (empty: the config's)
};

struct SampleArgs {
  std::string checkpoint;  // file or run directory
  bool num_given = false, steps_given = false, seed_given = false;
  int64_t num = 0, steps = 0, seed = 0;
  std::string out;  // .npy path; empty: <run>/samples-seed<S>.npy
  std::string sampler;  // empty: the config's
  bool class_given = false, guidance_given = false;
  std::string class_name;  // --class: an index or a class name
  double guidance = 1.0;
  bool raw = false;  // the raw weights instead of the EMA weights
  bool threads_given = false;
  int64_t threads = 0;  // per rank; 0: the machine's cores shared among its ranks
  bool no_fast_paths = false;  // the CPU fast paths off (engine.cpu_fast_paths false)
  std::string device = "auto";  // where the network runs: auto, cpu, cuda (common/model/device_pick.h)
  bool force = false;          // replace an existing --out file (and its picture)
  std::string format;          // npy or npz (default: the --out file's extension, else npy)
  std::string png_dir;         // one PNG per sample into this directory
  std::string init;            // .npy of starting points (the state at --t-start; data to noise with --noise-init)
  bool t_start_given = false;
  double t_start = 0.0;        // the time the solver starts at (default: the path's t_min)
  bool noise_init = false;     // --init holds data: noise it to --t-start first (SDEdit)
};

int cmd_train(const TrainArgs& args);
int cmd_sample(const SampleArgs& args);
struct EvalArgs {
  std::string checkpoint;
  bool likelihood = false;
  int64_t num = 1000, steps = 100, seed = 12345;
  bool raw = false;
  bool sweep = false;  // quality against NFE for several samplers
  std::string report;  // .json path; empty: <run>/eval-tick<N>.json
  std::string classifier;     // images: a classifier checkpoint (model "classifier") for the Fréchet distance and class accuracy
  int64_t likelihood_num = 0;  // items whose likelihood is computed; 0: --num
  bool guidance_given = false;
  double guidance = 1.0;  // sample.guidance for this evaluation
  std::string sampler;     // sample.sampler for this evaluation (empty: the checkpoint's)
  int64_t sample_steps = 0;  // sample.steps for this evaluation (0: the checkpoint's)
  std::vector<std::string> baselines;  // --sweep: other checkpoints ([LABEL=]RUN) whose curves join the sweep (same data)
  std::string label;         // the evaluated model's name in tables and legends (empty: "this")
  bool straightness = false;   // the straightness of the ODE's trajectories (Euler, `steps` steps), of every model
  std::string sweep_samplers = "euler,heun,rk4,ddim,euler_maruyama";  // the sweep's ODE/SDE samplers (tvm joins for flow maps)
  int64_t sweep_max_nfe = 64;  // the sweep's NFE: 1, 2, 4, ... up to this
  bool no_fast_paths = false;  // the CPU fast paths off (engine.cpu_fast_paths false)
  std::string device = "auto";  // where the network runs: auto, cpu, cuda (common/model/device_pick.h)
};

struct ExportArgs {
  std::string checkpoint;  // checkpoint file or run directory
  std::string out;         // .safetensors or .pt
  bool raw = false;        // the training weights instead of the EMA weights
  bool target = false;     // the TVM target network
  bool force = false;      // replace --out
};
int cmd_export(const ExportArgs& args);

int cmd_version();
struct PackOptions;
int cmd_data_pack(const PackOptions& opts);
int cmd_data_info(const std::string& path, bool verify);
int cmd_eval(const EvalArgs& args);
// `lockstep eval` of a classifier checkpoint: its accuracy on the held-out split (launch/eval_classifier.cpp).
struct ModelSource;
int eval_classifier(const EvalArgs& args, ModelSource& src);
int cmd_path(const std::string& name, int64_t num);

}  // namespace lockstep
