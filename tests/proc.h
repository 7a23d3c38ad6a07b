// Test helper: run the lockstep binary (or any shell command) and capture its exit code and output.
#pragma once

#include <string>

namespace lockstep::test {

struct ProcResult {
  int exit_code;
  std::string output;  // stdout and stderr together
};

// Runs `args` appended to the lockstep binary's path through the shell.
ProcResult run_lockstep(const std::string& args);
ProcResult run_shell(const std::string& command);
// A fresh, empty directory under the build tree for one test.
std::string temp_dir(const std::string& name);
std::string source_dir();

}  // namespace lockstep::test
