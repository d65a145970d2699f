// harness/transport/transport.h — the one seam between the host and a
// device (leveldb's Env, for devices): run a command, push a file, pull a
// file, kill what was started. Implementations: local (this machine), ssh
// (harness/transport/ssh), adb (harness/transport/adb); tests swap in
// loopback sshd, a fake adb device or a fault injector.
//
// Every argument that reaches a shell goes through ShellQuote, and only
// there: a device name, a path, a model name or a prompt can never run a
// command or break one (a leading '-' is the callers' business: they put
// "--" before operands, see Exec).
//
// Errors: a failure of the transport itself (connection refused or lost, a
// device that vanished, a client that crashed) is kUnavailable naming the
// device; a command that ran and failed is an ExecResult with its exit code.
//
// Thread-safety: a Transport may be used from several threads at once
// (KillAll from a signal-handling thread while Exec runs); implementations
// serialise what their clients need serialised.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace edgebench::harness {

// 'arg' for a POSIX shell (sh, dash, bash, mksh, toybox): single quotes,
// each ' written as '\''. The empty string becomes ''. Safe for any bytes,
// newlines included.
std::string ShellQuote(std::string_view arg);
// argv as one command line, every element quoted.
std::string ShellCommand(const std::vector<std::string>& argv);

struct ExecOptions {
  double timeout_s = 0;    // 0: none; on expiry the command is killed
  std::string stdin_data;  // written to the command's stdin, which is then closed
  // Called with each complete stdout line (no '\n') as it arrives; when
  // set, stdout is not kept in ExecResult::out.
  std::function<void(std::string_view line)> on_line;
  // Set from another thread (Ctrl-C): the command is killed, Exec returns
  // kCancelled.
  const std::atomic<bool>* cancel = nullptr;
};

struct ExecResult {
  int exit_code = -1;  // -1 when it was killed by a signal
  int signal = 0;      // the signal that ended it, when known
  bool timed_out = false;
  std::string out;     // stdout (unless on_line took it)
  std::string err;     // stderr, the last MiB
  bool ok() const { return exit_code == 0; }
  // "exit code 3" / "killed by signal 9 (SIGKILL)" / "timed out".
  std::string Describe() const;
};

struct TransferProgress {
  uint64_t done_bytes = 0;
  uint64_t total_bytes = 0;
  double bytes_per_s = 0;
};
using ProgressFn = std::function<void(const TransferProgress&)>;

class Transport {
 public:
  virtual ~Transport() = default;

  virtual std::string_view kind() const = 0;  // "local", "ssh", "adb"
  // How errors name the device: "local", "ssh:pi5", "adb:R5CT30ABCD".
  virtual const std::string& name() const = 0;

  // Runs argv[0] with the rest as arguments on the device, through its
  // shell with every element ShellQuote'd (locally: execvp, no shell).
  // The command starts in the device's home or /; pass absolute paths.
  // Callers put "--" before operands that may start with '-'.
  virtual Result<ExecResult> Exec(const std::vector<std::string>& argv,
                                  const ExecOptions& options = {}) = 0;

  // Copies a local file to `remote` (the exact path; parent folders must
  // exist). Not atomic by itself: deploy writes to a temporary name and
  // renames. `progress` is called now and then for large files.
  virtual Status Push(const std::string& local, const std::string& remote,
                      const ProgressFn& progress = {}) = 0;
  // Copies a device file to `local`.
  virtual Status Pull(const std::string& remote, const std::string& local) = 0;

  // Kills every command this transport started that is still running, on
  // the device and locally. Idempotent.
  virtual Status KillAll() = 0;
};

// This machine. `name` is how errors call it ("local").
std::unique_ptr<Transport> NewLocalTransport(std::string name = "local");

}  // namespace edgebench::harness
