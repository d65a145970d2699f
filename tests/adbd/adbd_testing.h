// tests/adbd/adbd_testing.h — for integration tests that drive the real adb
// client: the fake device (edgebench-test-adbd from BinDir()) and a private
// adb server on a port of its own, never the default 5037, with its own HOME
// (key) and TMPDIR (log). Both are stopped by their destructors, so a failed
// assertion still leaves nothing running.
//
// Thread-safety: one test owns each object; Run may be called from several
// threads.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/subprocess.h"
#include "tests/testing/testing.h"

namespace edgebench::testing {

// The adb client's path, or "" when none is installed (tests then skip).
std::string FindAdb();

// A TCP port on 127.0.0.1 that was free a moment ago (bound, then released:
// callers that race for it retry).
int PickFreePort();

// True once process `pid` has ended (gone, or a zombie its parent has yet to
// reap): for the device's processes, which are not the test's children.
bool ProcessEnded(pid_t pid);

// Waits for `condition`, something another process brings about: short naps
// up to a generous `limit` (CI machines are loaded), never a fixed sleep.
// False when the limit passed first.
bool WaitFor(const std::function<bool()>& condition,
             std::chrono::seconds limit = std::chrono::seconds(60));

// The number in a file another process wrote (a pid), 0 when there is none.
pid_t ReadPid(const std::string& path);

class FakeAdbDevice {
 public:
  // Starts the daemon with `args` (--die-after-sync-bytes N, ...) and waits
  // until it listens.
  static Result<std::unique_ptr<FakeAdbDevice>> Start(
      const std::vector<std::string>& args = {});
  ~FakeAdbDevice();  // SIGTERM and wait; SIGKILL if it lingers

  int port() const { return port_; }
  std::string serial() const { return "127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return pid_; }
  // Waits for the daemon to exit by itself; its wait status, or nullopt
  // after `timeout`.
  std::optional<int> WaitExit(std::chrono::milliseconds timeout);
  // What it wrote to stderr (run it with --verbose to see every message).
  std::string Log() const;

 private:
  FakeAdbDevice() = default;

  TempDir dir_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  int port_ = 0;
};

class PrivateAdbServer {
 public:
  // `adb -P <free port> start-server`.
  static Result<std::unique_ptr<PrivateAdbServer>> Start(const std::string& adb);
  ~PrivateAdbServer();  // adb -P <port> kill-server

  int port() const { return port_; }
  const std::string& adb() const { return adb_; }
  // What every adb command of the test needs in its environment: HOME and
  // TMPDIR of this server (so a client that has to start it starts it the
  // same way).
  std::vector<std::string> Env() const;
  // `adb -P <port> args...`.
  SubprocessResult Run(const std::vector<std::string>& args,
                       std::optional<std::string> stdin_data = std::nullopt,
                       std::chrono::seconds timeout = std::chrono::seconds(120)) const;
  // `adb connect SERIAL`, then waits until adb lists it as "device".
  Status Connect(const std::string& serial) const;
  // The server's own log, for failure messages.
  std::string Log() const;

 private:
  PrivateAdbServer() = default;

  std::string adb_;
  int port_ = 0;
  TempDir home_;
};

// For tests that run programs which start adb clients (`edgebench`): when
// adb is installed, a private server, with ANDROID_ADB_SERVER_PORT set in
// this process's environment so the programs it starts use that server and
// never the default one; nullptr when adb is not installed. Only the port
// is exported: the server's HOME and TMPDIR stay its own (a TMPDIR here
// would move every later temporary folder of the test, the sshd fixture's
// keys included, where other users cannot read). The caller unsets the
// variable when done.
Result<std::unique_ptr<PrivateAdbServer>> StartAdbServerForChildren();

}  // namespace edgebench::testing
