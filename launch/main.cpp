// main() of the lockstep binary: parses the command line, runs one subcommand, maps errors to exit codes.
//
// Exit codes: 0 success; 1 internal error; 2 bad input (command line, config, data, checkpoint); 3 distributed
// failure (replicas diverged, a collective timed out, a rank was lost); 4 training stopped on non-finite values
// (train.nonfinite STOP); 75 preempted (SIGTERM or SIGUSR1): a checkpoint was written, resume with --resume.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <cstring>
#include <exception>
#include <new>

#include "common/comm/comm.h"
#include "common/comm/mpi_session.h"
#include "common/data/packer.h"
#include "common/util/blas_core.h"
#include "common/util/heap_pages.h"
#include "common/util/error.h"
#include "common/util/stop_signal.h"
#include "common/util/strings.h"
#include "launch/commands.h"
#include "launch/torchrun_check.h"

int main(int argc, char** argv) {
  lockstep::choose_blas_core(argv);      // may run this program again with OpenBLAS's right kernels (blas_core.h)
  lockstep::start_stop_signal_thread();  // before any other thread exists (stop_signal.h says why)
  lockstep::tune_heap();                 // before any tensor exists (heap_pages.h)
  using namespace lockstep;
  CLI::App app{"Lockstep: a trainer and sampler for flow-matching and diffusion models, on one process or many MPI ranks."};
  app.name("lockstep");
  bool version = false;
  app.add_flag("--version", version, "Print the versions of Lockstep, LibTorch, MPI, protobuf and the loaded BLAS");
  app.require_subcommand(0, 1);

  TrainArgs train;
  CLI::App* tr = app.add_subcommand("train", "Train a model (the embedded default config when CONFIG is omitted)");
  tr->add_option("config", train.config, "Config file (text-format protobuf, see configs/)");
  tr->add_option("--out", train.out, "Run directory (default runs/<name>-<date>-<time>/)");
  tr->add_option("--steps", train.steps, "Total number of ticks (overrides train.steps)");
  tr->add_option("--seed", train.seed, "Master seed (overrides seed)");
  tr->add_option("--set", train.sets, "Override a config field: --set optim.lr=1e-3 (repeatable)")->allow_extra_args(false);
  tr->add_option("--device", train.device, "Where training runs (overrides engine.device): auto, cpu, cuda (one GPU per rank, by local rank)");
  tr->add_option("--resume", train.resume,
                 "Continue a run from a checkpoint file or a run directory (its latest checkpoint), in its run directory");

  SampleArgs sample;
  CLI::App* sa = app.add_subcommand("sample", "Generate samples from a checkpoint");
  sa->add_option("checkpoint", sample.checkpoint,
                 "Checkpoint file, a run directory (its latest checkpoint), or a .textproto config whose model is the oracle")->required();
  sa->add_option("--sampler", sample.sampler, "Solver: euler, midpoint, heun, rk4, dopri5, euler_maruyama, ddim, ddpm, tvm (flow maps of train.loss TVM) (default: the config's sample.sampler)");
  sa->add_option("--num", sample.num, "Number of samples (default: the config's sample.num)");
  sa->add_option("--steps", sample.steps, "Solver steps (default: the config's sample.steps)");
  sa->add_option("--seed", sample.seed, "Seed of the initial noise (default: the config's sample.seed)");
  sa->add_option("--class", sample.class_name, "Class of every sample, by index or name (class-conditional models; default: all classes in turn)");
  sa->add_option("--format", sample.format, "npy (float32 [N, ...] in [-1, 1]) or npz (images: uint8 arr_0 [N, H, W, C], labels arr_1) (default: --out's extension)");
  sa->add_option("--png-dir", sample.png_dir, "Also (or, without --out, only) one PNG per sample in this directory, named by the sample's index");
  sa->add_option("--guidance", sample.guidance, "Classifier-free guidance scale w: (1 - w) u(x|null) + w u(x|class) (default 1)");
  sa->add_option("--out", sample.out, "Output .npy file (default <run>/samples-seed<S>.npy); a PNG is written beside it");
  sa->add_flag("--raw", sample.raw, "Use the raw weights, not the EMA weights");
  sa->add_option("--threads", sample.threads, "Threads per rank (default: the checkpoint's engine.threads; 0: the machine's cores shared among the ranks on it)");
  sa->add_flag("--force", sample.force, "Replace the --out file (and the picture beside it) when it exists; without it, an existing file is refused");
  sa->add_option("--init", sample.init, "Start from these points (.npy [N, ...] float, the items' shape) instead of the seeded noise: the state at --t-start; N samples unless --num is smaller");
  sa->add_option("--t-start", sample.t_start, "With --init: the time the solver starts at (default: the path's t_min, the noise end)");
  sa->add_flag("--noise-init", sample.noise_init, "With --init and --t-start: the points are data, noised to --t-start with the seeded draws first (SDEdit-style editing)");
  sa->add_flag("--no-fast-paths", sample.no_fast_paths, "Run LibTorch's portable code instead of the hand-written CPU fast paths (as engine.cpu_fast_paths false)");
  sa->add_option("--device", sample.device, "Where the network runs: auto (this rank's GPU when LibTorch sees one, else the CPU), cpu, cuda (one GPU per rank, by local rank)");

  ExportArgs exp;
  CLI::App* ex = app.add_subcommand("export", "Write a checkpoint's weights for PyTorch: safetensors or .pt, with the model's description (python/lockstep_torch.py loads them)");
  ex->add_option("checkpoint", exp.checkpoint, "Checkpoint file or run directory (its latest checkpoint)")->required();
  ex->add_option("--out", exp.out, "FILE.safetensors or FILE.pt (a FILE.json beside it holds the description)")->required();
  ex->add_flag("--raw", exp.raw, "The training weights instead of the EMA weights");
  ex->add_flag("--target", exp.target, "The TVM target network's weights");
  ex->add_flag("--force", exp.force, "Replace --out when it exists");

  PackOptions pack;
  CLI::App* da = app.add_subcommand("data", "Pack a data set into one memory-mapped file, or describe one");
  da->require_subcommand(1);
  CLI::App* dp = da->add_subcommand("pack", "Pack image folders, CIFAR batches, IDX or .npy files into one file of uint8 items");
  dp->add_option("sources", pack.sources, "Folders of images (one subfolder per class), CIFAR-10/100 binary batches, IDX or .npy files")->required();
  dp->add_option("--out", pack.out, "The packed file to write")->required();
  dp->add_option("--resolution", pack.resolution, "Resize every image to R x R (default: keep; every image must then have one size)");
  dp->add_option("--crop", pack.crop, "With --resolution: center (cut the centred square first; default) or none (stretch)");
  dp->add_option("--channels", pack.channels, "1 (grey) or 3 (RGB) (default: 3 for images and CIFAR, the array's own for IDX and .npy)");
  dp->add_option("--labels", pack.labels, "folders (one class per subfolder; CIFAR: its labels; default) or none");
  dp->add_option("--label-file", pack.label_file, "IDX or .npy sources: a file of one integer label per image");
  dp->add_flag("--skip-bad", pack.skip_bad, "Skip damaged images and count them (default: refuse them)");
  dp->add_flag("--force", pack.force, "Replace --out when it exists");
  dp->add_option("--threads", pack.threads, "Decoding threads (default: every core)");
  std::string info_path;
  bool info_verify = false;
  CLI::App* di = da->add_subcommand("info", "Describe a packed data set");
  di->add_option("file", info_path, "The packed file")->required();
  di->add_flag("--verify", info_verify, "Check every chunk's CRC-32");

  std::string path_name;
  int64_t path_num = 11;
  CLI::App* pa = app.add_subcommand("path", "Print a Gaussian path's schedule as CSV: t,alpha,beta,d_alpha,d_beta,log_snr");
  pa->add_option("name", path_name, "Schedule: linear, vp_linear, vp_cosine, ve")->required();
  pa->add_option("--num", path_num, "Number of evenly spaced times in [0, 1] (default 11)");

  EvalArgs eval;
  CLI::App* ev = app.add_subcommand("eval", "Evaluate a checkpoint (or an oracle config): energy distance, MMD, likelihood, Fréchet distance, class accuracy; a JSON and Markdown report");
  ev->add_option("checkpoint", eval.checkpoint, "Checkpoint file, run directory, or oracle .textproto config")->required();
  ev->add_flag("--likelihood", eval.likelihood, "Also the log-likelihood of fresh data through the probability-flow ODE (nats, bits/dim)");
  ev->add_option("--num", eval.num, "Number of samples and of fresh data points (default 1000)");
  ev->add_option("--steps", eval.steps, "ODE steps of --likelihood (RK4) and --straightness (Euler) (default 100)");
  ev->add_option("--seed", eval.seed, "Seed of the data points (default 12345)");
  ev->add_flag("--raw", eval.raw, "Use the raw weights, not the EMA weights");
  ev->add_flag("--sweep", eval.sweep, "Quality against NFE (1 to 64) for euler, heun, rk4, ddim, euler_maruyama (and tvm for flow maps): a table and a plot");
  ev->add_option("--classifier", eval.classifier, "Images: a classifier checkpoint (configs/fashion_mnist_classifier.textproto) for the Fréchet distance in its features and the class accuracy of samples");
  ev->add_option("--guidance", eval.guidance, "Classifier-free guidance scale of the samples (default: the checkpoint's sample.guidance)");
  ev->add_option("--baseline", eval.baselines, "With --sweep: another checkpoint or run of the same data whose curves join the sweep, as RUN or LABEL=RUN (repeatable)")
      ->allow_extra_args(false);
  ev->add_option("--label", eval.label, "The evaluated model's name in the sweep's tables and legend (default: this)");
  ev->add_flag("--straightness", eval.straightness, "Also the straightness of the sampling ODE's trajectories (Euler, --steps steps) of this model and every --baseline");
  ev->add_option("--sweep-samplers", eval.sweep_samplers, "With --sweep: comma-separated samplers (default euler,heun,rk4,ddim,euler_maruyama; tvm joins for flow maps)");
  ev->add_option("--sweep-max-nfe", eval.sweep_max_nfe, "With --sweep: NFE 1, 2, 4, ... up to this (default 64)");
  ev->add_option("--sampler", eval.sampler, "Sampler of the samples (default: the checkpoint's sample.sampler)");
  ev->add_option("--sample-steps", eval.sample_steps, "Sampler steps (default: the checkpoint's sample.steps)");
  ev->add_option("--likelihood-num", eval.likelihood_num, "Number of held-out items whose likelihood is computed (default: --num)");
  ev->add_flag("--no-fast-paths", eval.no_fast_paths, "Run LibTorch's portable code instead of the hand-written CPU fast paths (as engine.cpu_fast_paths false)");
  ev->add_option("--device", eval.device, "Where the networks run: auto (this rank's GPU when LibTorch sees one, else the CPU), cpu, cuda (one GPU per rank, by local rank)");
  ev->add_option("--report", eval.report, "Report file (.json; a .md table is written beside it; default <run>/eval-tick<N>.json)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitBadInput;
  }
  train.steps_given = tr->get_option("--steps")->count() > 0;
  train.seed_given = tr->get_option("--seed")->count() > 0;
  sample.num_given = sa->get_option("--num")->count() > 0;
  sample.steps_given = sa->get_option("--steps")->count() > 0;
  sample.seed_given = sa->get_option("--seed")->count() > 0;
  sample.class_given = sa->get_option("--class")->count() > 0;
  sample.guidance_given = sa->get_option("--guidance")->count() > 0;
  sample.threads_given = sa->get_option("--threads")->count() > 0;
  sample.t_start_given = sa->get_option("--t-start")->count() > 0;
  eval.guidance_given = ev->get_option("--guidance")->count() > 0;
  // Under mpirun or srun the MPI session lives here, outside every subcommand, so that a rank that fails alone can
  // end the whole job (MPI_Abort) instead of hanging in MPI_Finalize while the others wait for it.
  std::unique_ptr<MpiSession> mpi;
  int rank = 0, world = 1;
  try {
    if (version) return cmd_version();
    if (*tr || *sa || *ev) {
      const std::string torchrun = torchrun_refusal(argc, argv);
      if (!torchrun.empty()) {  // every process torchrun started exits; its rank 0 speaks
        const char* r = std::getenv("RANK");
        if (r == nullptr || std::string(r) == "0") std::fprintf(stderr, "lockstep: error: %s\n", torchrun.c_str());
        return kExitBadInput;
      }
    }
    if ((*tr || *sa || *ev) && launched_by_mpi()) {
      mpi = std::make_unique<MpiSession>();
      rank = MpiSession::world_rank();
      world = MpiSession::world_size();
    }
    if (*tr) return cmd_train(train);
    if (*sa) return cmd_sample(sample);
    if (*pa) return cmd_path(path_name, path_num);
    if (*ex) return cmd_export(exp);
    if (*dp) return cmd_data_pack(pack);
    if (*di) return cmd_data_info(info_path, info_verify);
    if (*ev) return cmd_eval(eval);
    std::fprintf(stderr, "%s\nlockstep: error: name a subcommand (train, sample, eval, export, data, path) or --version\n", app.help().c_str());
    return kExitBadInput;
  } catch (const BadInput& e) {
    // Bad input is seen alike by every rank (same config, same files): rank 0 speaks, all exit normally.
    if (rank == 0) std::fprintf(stderr, "lockstep: error: %s\n", e.what());
    return kExitBadInput;
  } catch (const TrainingStopped& e) {
    // Every rank got the stop frame: rank 0 speaks, all exit alike.
    if (rank == 0) std::fprintf(stderr, "lockstep: error: %s\n", e.what());
    return kExitNonFinite;
  } catch (const Preempted& e) {
    if (rank == 0) std::fprintf(stderr, "\nlockstep: %s\n", e.what());
    return kExitPreempted;
  } catch (const DistributedError& e) {
    if (!e.reported()) std::fprintf(stderr, "lockstep: rank %d: error: %s\n", rank, e.what());
    if (world > 1) MpiSession::abort_job(kExitDistributed);
    return kExitDistributed;
  } catch (const CommError& e) {
    std::fprintf(stderr, "lockstep: rank %d: error: %s\n", rank, e.what());
    if (world > 1) MpiSession::abort_job(kExitDistributed);
    return kExitDistributed;
  } catch (const std::exception& e) {
    // An allocation the memory could not hold (LibTorch's allocator, or operator new): the input asked too much
    if (dynamic_cast<const std::bad_alloc*>(&e) != nullptr || std::strstr(e.what(), "can't allocate memory") != nullptr) {
      std::fprintf(stderr, "lockstep: %serror: out of memory: the config asks for more than this machine holds (reduce train.batch_size, "
                           "the model's width or channels, sample.chunk or sample.num); %s\n",
                   world > 1 ? ("rank " + std::to_string(rank) + ": ").c_str() : "", clip(first_line(e.what()), 200).c_str());
      if (world > 1) MpiSession::abort_job(kExitBadInput);
      return kExitBadInput;
    }
    // (the first line: LibTorch's errors go on with a stack trace)
    if (world > 1) std::fprintf(stderr, "lockstep: rank %d: internal error: %s\n", rank, clip(first_line(e.what()), 1000).c_str());
    else std::fprintf(stderr, "lockstep: internal error: %s\n", clip(first_line(e.what()), 1000).c_str());
    if (world > 1) MpiSession::abort_job(kExitInternal);
    return kExitInternal;
  }
}
