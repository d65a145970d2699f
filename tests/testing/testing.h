// tests/testing/testing.h — helpers for tests: temporary folders and running
// a program with its output captured.
//
// Thread-safety: TempDir is owned by one test; RunProgram is reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace edgebench::testing {

// A fresh folder under $TMPDIR (or /tmp), removed with its contents on
// destruction unless EDGEBENCH_KEEP_TEST_DIRS is set.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string File(const std::string& name) const;

 private:
  std::string path_;
};

struct ProgramResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string out;
  std::string err;
};

// Runs `argv` (argv[0] looked up in PATH when it has no slash) with `input`
// on stdin and waits for it.
ProgramResult RunProgram(const std::vector<std::string>& argv,
                         const std::string& input = {});

// The folder holding the built programs (edgebench, edgebench-rt, ...):
// $EDGEBENCH_BIN_DIR, set by CTest.
std::string BinDir();

// Writes `content` to `path`, creating or truncating it. Aborts the test
// program on failure.
void WriteFile(const std::string& path, const std::string& content);
std::string ReadFile(const std::string& path);

// `n` bytes from a seeded generator (the same for a seed everywhere).
std::string RandomBytes(size_t n, uint64_t seed);

// Names, paths and prompts a user (or an attacker's file name) may hand
// us: shell syntax of every kind, quotes, newlines, leading dashes, empty,
// non-UTF-8. `marker` is a path each would create if it ever ran.
std::vector<std::string> HostileStrings(const std::string& marker);

}  // namespace edgebench::testing
