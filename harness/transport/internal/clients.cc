#include "harness/transport/internal/clients.h"

#include <signal.h>

#include <functional>
#include <utility>

namespace edgebench::harness::internal {

uint64_t Clients::NextId() {
  std::lock_guard<std::mutex> lock(mu_);
  return next_id_++;
}

Clients::Ended Clients::Run(uint64_t id, const std::vector<std::string>& argv,
                            SubprocessOptions o, const std::string& pid_file) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    running_[id].pid_file = pid_file;
  }
  std::function<void(pid_t)> user_on_start = std::move(o.on_start);
  o.on_start = [this, id, &user_on_start](pid_t pid) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      running_[id].pid = pid;
    }
    if (user_on_start) user_on_start(pid);
  };
  Ended e;
  e.r = RunSubprocess(argv, o);
  std::lock_guard<std::mutex> lock(mu_);
  e.killed = running_[id].killed;
  running_.erase(id);
  return e;
}

std::vector<std::string> Clients::MarkAllKilled() {
  std::vector<std::string> pid_files;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [id, run] : running_) {
    run.killed = true;
    if (!run.pid_file.empty()) pid_files.push_back(run.pid_file);
  }
  return pid_files;
}

void Clients::KillLocal() {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [id, run] : running_)
    if (run.pid > 0) ::kill(-run.pid, SIGKILL);
}

}  // namespace edgebench::harness::internal
