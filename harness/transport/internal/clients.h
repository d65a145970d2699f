// harness/transport/internal/clients.h — the local client processes (ssh,
// adb) a transport has running, each with the pid file of its command on
// the device, so that KillAll reaches both ends: the pid files to kill the
// commands on the device first (a killed client leaves its command running
// there), then the clients' process groups here.
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "base/subprocess.h"

namespace edgebench::harness::internal {

class Clients {
 public:
  struct Ended {
    SubprocessResult r;
    bool killed = false;  // by KillAll (MarkAllKilled) while it ran
  };

  // A fresh number, for naming a pid file before the client runs.
  uint64_t NextId();
  // Runs `argv` (RunSubprocess, chaining `o.on_start`), known under `id`
  // with `pid_file` (empty: none on the device) until it has been reaped.
  Ended Run(uint64_t id, const std::vector<std::string>& argv, SubprocessOptions o,
            const std::string& pid_file);
  // Marks every running client as killed; returns their non-empty pid files.
  std::vector<std::string> MarkAllKilled();
  // SIGKILL to every running client's process group (its own, from
  // RunSubprocess, and ours until Run has reaped it: Run leaves the table
  // under the same lock).
  void KillLocal();

 private:
  struct Running {
    pid_t pid = -1;
    std::string pid_file;
    bool killed = false;
  };
  std::mutex mu_;
  uint64_t next_id_ = 0;
  std::map<uint64_t, Running> running_;
};

}  // namespace edgebench::harness::internal
