// harness/cli/interrupt.h — Ctrl-C and SIGTERM while a command talks to
// devices: the signals are blocked in every thread and taken by one watcher
// thread (sigwait), so the handler may do real work (kill the transports'
// processes, print) instead of only what is async-signal-safe.
//
// Thread-safety: construct and destroy on the main thread before other
// threads start and after they end (the signal mask is inherited by the
// threads created while it is set).
#pragma once

#include <signal.h>

#include <atomic>
#include <functional>
#include <thread>

namespace edgebench::cli {

class SignalWatcher {
 public:
  // `on_signal` runs on the watcher thread with the number of signals so far
  // (1 for the first Ctrl-C).
  explicit SignalWatcher(std::function<void(int count)> on_signal);
  // Stops watching and restores the signal mask.
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  int count() const { return count_; }

 private:
  std::function<void(int)> on_signal_;
  sigset_t old_;
  std::atomic<bool> done_{false};
  std::atomic<int> count_{0};
  std::thread watcher_;
};

}  // namespace edgebench::cli
