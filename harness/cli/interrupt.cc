#include "harness/cli/interrupt.h"

#include <pthread.h>

#include <utility>

namespace edgebench::cli {

SignalWatcher::SignalWatcher(std::function<void(int count)> on_signal)
    : on_signal_(std::move(on_signal)) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, &old_);
  watcher_ = std::thread([this, set] {
    int sig = 0;
    while (sigwait(&set, &sig) == 0) {
      if (done_) return;
      on_signal_(++count_);
    }
  });
}

SignalWatcher::~SignalWatcher() {
  done_ = true;
  pthread_kill(watcher_.native_handle(), SIGTERM);  // wakes the watcher
  watcher_.join();
  pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

}  // namespace edgebench::cli
