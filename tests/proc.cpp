#include "tests/proc.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

namespace lockstep::test {

ProcResult run_shell(const std::string& command) {
  ProcResult r{-1, ""};
  std::FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

ProcResult run_lockstep(const std::string& args) { return run_shell(std::string(LOCKSTEP_BIN) + " " + args); }

std::string temp_dir(const std::string& name) {
  namespace fs = std::filesystem;
  static int counter = 0;  // several tests may run at once (ctest -j): every call gets its own directory
  const fs::path dir = fs::current_path() / "test-tmp" / (name + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::string source_dir() { return LOCKSTEP_SOURCE_DIR; }

std::string mpi_lockstep_command(int ranks) {
  ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  return std::string(MPIEXEC) + " --oversubscribe -n " + std::to_string(ranks) + " " + LOCKSTEP_BIN;
}

// One parsed object per line of a run's metrics.jsonl (lines that are not JSON objects are skipped).
std::vector<nlohmann::json> metric_lines(const std::string& run_dir) {
  std::ifstream in(run_dir + "/metrics.jsonl");
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(in, line);) {
    nlohmann::json o = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (o.is_object()) out.push_back(std::move(o));
  }
  return out;
}

std::vector<double> metric_values(const std::string& run_dir, const std::string& key) {
  std::vector<double> out;
  for (const nlohmann::json& o : metric_lines(run_dir)) {
    if (o.contains(key) && o[key].is_number()) out.push_back(o[key].get<double>());
  }
  return out;
}

std::vector<std::vector<double>> metric_arrays(const std::string& run_dir, const std::string& key) {
  std::vector<std::vector<double>> out;
  for (const nlohmann::json& o : metric_lines(run_dir)) {
    if (!o.contains(key) || !o[key].is_array()) continue;
    std::vector<double> values;
    for (const nlohmann::json& v : o[key]) values.push_back(v.is_number() ? v.get<double>() : std::nan(""));
    out.push_back(values);
  }
  return out;
}

}  // namespace lockstep::test
