// base/subprocess.h — one child process run to completion with its output
// captured: fork and execve with execvp's PATH search (never a shell), stdin
// from /dev/null, a file or bytes we write, stdout and stderr drained
// together through pipes (stdout optionally line by line as it arrives), the
// child in a process group of its own so that a kill reaches whatever it
// started. Used by the command backend (an engine as a child) and by the
// device transports (ssh, adb and local commands).
//
// Thread-safety: RunSubprocess keeps no state and may run on several
// threads at once; `cancel` may be set from any thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace edgebench {

// Keeps the last `capacity` bytes appended, counting what was dropped: a
// child may print without bound, and the parsers need the end (timing
// lines) more than the beginning.
class TailBuffer {
 public:
  explicit TailBuffer(size_t capacity) : capacity_(capacity) {}

  void Append(const char* data, size_t n);
  // The kept bytes; when some were dropped, starting at a line boundary.
  std::string Take();
  uint64_t dropped() const { return dropped_; }

 private:
  void DropFront(size_t n);

  size_t capacity_;
  std::string data_;
  uint64_t dropped_ = 0;
  char last_dropped_ = '\n';  // the byte just before data_
};

struct SubprocessOptions {
  std::chrono::nanoseconds timeout{0};  // 0: none
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(pid_t)> on_start;
  // After timeout or cancel: SIGTERM to the group, SIGKILL this much later.
  std::chrono::nanoseconds kill_grace = std::chrono::seconds(2);
  // After the child exits, how long output from processes outside its group
  // (which the group kill cannot reach) may keep the pipes open.
  std::chrono::nanoseconds drain_after_exit = std::chrono::milliseconds(500);
  size_t capture_bytes = size_t{16} << 20;  // per stream

  // stdin: at most one of these; neither gives /dev/null.
  // Bytes written to the child's stdin, which is then closed. A child that
  // exits or closes stdin before reading them all is not an error (the rest
  // is dropped; SIGPIPE never reaches this process).
  std::optional<std::string> stdin_data;
  // A file opened read-only as the child's stdin (a push through `ssh cat`
  // without the bytes passing through this process). Cannot be opened:
  // spawn_status says so and names it.
  std::string stdin_file;

  // Called on this thread with each complete stdout line (without its '\n')
  // as it arrives, and with an unterminated last line at the end. When set,
  // stdout is not kept in SubprocessResult::out.
  std::function<void(std::string_view line)> on_stdout_line;

  // "NAME=value" entries set in the child's environment (replacing a
  // variable of that name); the rest is inherited.
  std::vector<std::string> env;
};

struct SubprocessResult {
  // Not ok only when the child could not be started (exec errors included):
  // then nothing below is meaningful.
  Status spawn_status;
  pid_t pid = -1;
  int exit_code = 0;  // when it exited; -1 when killed by a signal
  int signal = 0;     // the signal that ended it, 0 when it exited
  bool core_dumped = false;
  // The exit status could not be collected (the process reaps children
  // behind our back: SIGCHLD ignored); exit_code is then -1.
  bool status_lost = false;
  bool timed_out = false;
  bool cancelled = false;
  std::string out;  // the end of stdout (see TailBuffer)
  std::string err;
  uint64_t out_dropped = 0;
  uint64_t err_dropped = 0;
};

// REQUIRES: !argv.empty().
SubprocessResult RunSubprocess(const std::vector<std::string>& argv,
                               const SubprocessOptions& options);

// "SIGSEGV" for 11, "signal 77" for a number without a name here.
std::string SignalName(int signal);

// The last `max_lines` lines of `text`, at most `max_bytes` bytes, without
// trailing newlines.
std::string LastLines(std::string_view text, int max_lines, size_t max_bytes);

}  // namespace edgebench
