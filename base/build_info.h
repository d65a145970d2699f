// base/build_info.h — facts about this build, fixed at build time: version,
// git commit, build type, compiler, flags, sanitizers, asserts.
//
// Stored with every result (a number from a Debug or sanitized build is not
// comparable to a Release one) and printed by `--version`.
// Thread-safety: constant data.
#pragma once

#include <string>
#include <string_view>

namespace edgebench {

struct BuildInfo {
  std::string_view version;     // "0.1.0"
  std::string_view git_commit;  // "3f545be2a1c0" or "…-dirty", "unknown"
  std::string_view build_type;  // "Release", "RelWithDebInfo", "Debug"
  std::string_view compiler;    // "GNU 12.2.0"
  std::string_view flags;       // CMAKE_CXX_FLAGS of the build type
  std::string_view arch;        // target processor: "x86_64", "aarch64"
  std::string_view sanitizers;  // "address,undefined" or empty
  bool asserts;                 // built without NDEBUG
};

const BuildInfo& GetBuildInfo();

// Why timings from this build are not representative, or empty: a debug
// build, a build with asserts, a sanitized build (as llama-bench warns).
std::string BuildWarning(const BuildInfo& info);

}  // namespace edgebench
