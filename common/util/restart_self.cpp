#include "common/util/restart_self.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

namespace lockstep {
namespace {

std::string g_failure;

}  // namespace

void restart_with(char** argv, const std::vector<EnvSetting>& settings) {
  if (settings.empty()) return;
  std::vector<std::optional<std::string>> before;
  std::string text;
  for (const EnvSetting& s : settings) {
    const char* old = std::getenv(s.name.c_str());
    before.push_back(old ? std::optional<std::string>(old) : std::nullopt);
    setenv(s.name.c_str(), s.value.c_str(), 1);
    text += (text.empty() ? "" : " ") + s.name + "=" + s.value;
  }
  execv("/proc/self/exe", argv);
  // still here: the exec failed; run on as we are, with the environment we were given
  g_failure = "running again with " + text + " failed: execv(/proc/self/exe): " + std::strerror(errno) + "; set them yourself";
  for (size_t i = 0; i < settings.size(); ++i) {
    if (before[i]) setenv(settings[i].name.c_str(), before[i]->c_str(), 1);
    else unsetenv(settings[i].name.c_str());
  }
}

std::string restart_failure() { return g_failure; }

}  // namespace lockstep
