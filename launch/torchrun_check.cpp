#include "launch/torchrun_check.h"

#include <cstdlib>
#include <string>

#include "common/comm/mpi_session.h"

namespace lockstep {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// a word of a shell command line, quoted where it needs to be
std::string shell_word(const std::string& w) {
  if (!w.empty() && w.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=/.,:@%") == std::string::npos) return w;
  std::string out = "'";
  for (char c : w) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

std::string torchrun_refusal(int argc, char** argv) {
  const bool torchrun = !env("TORCHELASTIC_RUN_ID").empty() || (!env("RANK").empty() && !env("WORLD_SIZE").empty() && !env("MASTER_ADDR").empty());
  if (!torchrun || launched_by_mpi()) return "";
  const std::string world_text = env("WORLD_SIZE");
  char* end = nullptr;
  const long world = std::strtol(world_text.c_str(), &end, 10);
  if (world_text.empty() || *end != '\0' || world <= 1) return "";
  const std::string local = env("LOCAL_WORLD_SIZE");
  std::string command;
  for (int i = 0; i < argc; ++i) command += (i ? " " : "") + shell_word(argv[i]);
  const std::string n = std::to_string(world);
  std::string msg = "started by torchrun (or accelerate launch): RANK=" + env("RANK") + " WORLD_SIZE=" + n + " LOCAL_RANK=" + env("LOCAL_RANK") +
                    " MASTER_ADDR=" + env("MASTER_ADDR") + ", and no MPI launcher. Lockstep's ranks are one MPI job; under torchrun each of the " +
                    n + " processes would train alone. Start the same job with\n" +
                    "  mpirun -np " + n + " " + command + "\n" +
                    "or, under SLURM,\n" +
                    "  srun --ntasks=" + n + " " + command + "\n";
  if (!local.empty() && local != n) {
    msg += "(" + local + " ranks a machine: mpirun -np " + n + " --map-by ppr:" + local + ":node --hostfile HOSTS ...; srun --ntasks-per-node=" + local +
           " ...)\n";
  }
  msg += "The README's \"Coming from torchrun, accelerate or Horovod\" has the other equivalents.";
  return msg;
}

}  // namespace lockstep
