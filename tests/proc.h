// Test helper: run the lockstep binary (or any shell command) and capture its exit code and output.
#pragma once

#include <string>
#include <vector>

namespace lockstep::test {

struct ProcResult {
  int exit_code;
  std::string output;  // stdout and stderr together
};

// Runs `args` appended to the lockstep binary's path through the shell.
ProcResult run_lockstep(const std::string& args);
ProcResult run_shell(const std::string& command);
// "<mpiexec> --oversubscribe -n RANKS <lockstep binary>", with Open MPI allowed to run as root.
std::string mpi_lockstep_command(int ranks);
// A fresh, empty directory under the build tree for one test.
std::string temp_dir(const std::string& name);
std::string source_dir();
// The values of `key` ("loss", "eval_loss", ...) in a run's metrics.jsonl, in file order.
std::vector<double> metric_values(const std::string& run_dir, const std::string& key);
// The array of `key` ("key": [1, 2, 3]) in every line of metrics.jsonl that has it.
std::vector<std::vector<double>> metric_arrays(const std::string& run_dir, const std::string& key);

}  // namespace lockstep::test
