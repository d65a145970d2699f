#include <cstdio>

#include "base/build_info.h"
#include "base/exit_code.h"
#include "harness/cli/command.h"

namespace edgebench::cli {

std::string VersionText() {
  const BuildInfo& b = GetBuildInfo();
  std::string s = "edgebench " + std::string(b.version) + "\n";
  s += "commit:     " + std::string(b.git_commit) + "\n";
  s += "build:      " + std::string(b.build_type) + " (" + std::string(b.compiler) +
       ", " + std::string(b.arch) + ")\n";
  s += "asserts:    " + std::string(b.asserts ? "on" : "off") + "\n";
  s += "sanitizers: " + std::string(b.sanitizers.empty() ? "none" : b.sanitizers) + "\n";
  return s;
}

int ReportError(const Status& status) {
  std::fprintf(stderr, "edgebench: %s\n", status.message().c_str());
  return kExitFailure;
}

}  // namespace edgebench::cli
