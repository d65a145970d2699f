// harness/transport/internal/transfer.h — progress of a push made by a
// client process (ssh reading the file on its stdin, adb push reading it
// itself), from how far that process has read the local file: a thread
// polls the position every 200 ms and reports it, never two calls at once.
// All of the file read is not yet all of it on the device, so the total is
// reported only by Finish, once the client has succeeded.
//
// Thread-safety: Start (from SubprocessOptions::on_start) and Finish on the
// pushing thread; the ProgressFn runs on the helper thread, then in Finish.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <string>
#include <mutex>
#include <thread>

#include "harness/transport/transport.h"

namespace edgebench::harness::internal {

class PushProgress {
 public:
  // `read_pos(pid, &pos)`: the client's position in the file; false while
  // it cannot be told. `total_bytes` 0: unknown. Reports 0 at once.
  PushProgress(const ProgressFn& progress, uint64_t total_bytes,
               std::function<bool(pid_t, uint64_t*)> read_pos);
  ~PushProgress();  // stops the thread
  PushProgress(const PushProgress&) = delete;
  PushProgress& operator=(const PushProgress&) = delete;

  // Starts polling `pid`. No-op without a ProgressFn.
  void Start(pid_t pid);
  // Stops polling; when `succeeded`, reports the total.
  void Finish(bool succeeded);

 private:
  void Stop();

  const ProgressFn& progress_;
  const uint64_t total_bytes_;
  const std::function<bool(pid_t, uint64_t*)> read_pos_;
  const std::chrono::steady_clock::time_point start_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// The file position of `pid`'s descriptor `fd` (/proc/PID/fdinfo/FD).
bool ReadFdPos(pid_t pid, int fd, uint64_t* pos);

// A pull that never leaves half a file under `local`: `fetch` writes a
// temporary file beside it (created here, mode 0644 after), which is renamed
// into place once `fetch` succeeded and removed otherwise. `what` names the
// transfer in errors.
Status PullIntoPlace(const std::string& local, const std::string& what,
                     const std::function<Status(const std::string& tmp)>& fetch);

}  // namespace edgebench::harness::internal
