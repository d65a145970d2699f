// tests/sshd/sshd_fixture.h — a private OpenSSH server for the ssh transport
// tests, standing in for a Linux board: Debian's /usr/sbin/sshd in the
// foreground on 127.0.0.1 (or inside a network namespace), with host and
// client keys generated into a temporary folder and a client config (`-F`)
// that never reads or writes ~/.ssh.
//
// Who logs in: as root, a test user whose login shell is /bin/sh
// (edgebench-test, created once with useradd; root's start-up files make
// logins slow); otherwise sshd runs as the current user, who can then only
// log in as themself.
//
// Everything started here is stopped by the destructors, also after a failed
// assertion: sshd and every session it spawned (sshd is made a child
// subreaper, so even a daemonised remote command stays its descendant), the
// namespaces and their veth pairs. If the test process dies, sshd gets
// SIGKILL from the kernel (parent-death signal).
//
// Thread-safety: an Sshd or NetnsPair is owned by one test; its accessors may
// be read from any thread. Start a fixture on the test's main thread (the
// parent-death signal follows the thread that forked sshd).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "tests/testing/testing.h"

namespace edgebench::testing {

struct SshdOptions {
  std::string address = "127.0.0.1";  // ListenAddress
  int port = 0;                       // 0: a free port on `address` (22 in a netns)
  std::string netns;                  // run sshd inside this `ip netns`
};

class Sshd {
 public:
  // Ok when this machine can run the fixture (sshd, ssh and ssh-keygen are
  // installed), else why not: the test should GTEST_SKIP with it.
  static Status Available();

  // Starts sshd and waits (with a deadline) until it answers with its SSH
  // banner. Errors carry sshd's log.
  static Result<std::unique_ptr<Sshd>> Start(const SshdOptions& options = {});

  ~Sshd();
  Sshd(const Sshd&) = delete;
  Sshd& operator=(const Sshd&) = delete;

  const std::string& address() const { return address_; }
  int port() const { return port_; }
  const std::string& user() const { return user_; }          // who logs in
  const std::string& identity() const { return identity_; }  // client private key
  const std::string& known_hosts() const { return known_hosts_; }
  // The client config: a `Host host_alias()` block (address, port, user) and
  // defaults for every host (key, known_hosts, StrictHostKeyChecking yes).
  const std::string& ssh_config() const { return ssh_config_; }
  const std::string& host_alias() const { return host_alias_; }
  // {"-F", ssh_config()}: the options an ssh client needs.
  std::vector<std::string> ClientArgs() const { return {"-F", ssh_config_}; }
  // A folder inside the fixture's temporary folder that the login user owns
  // (remote commands write there; the test reads it directly).
  const std::string& user_dir() const { return user_dir_; }
  // The sessions' $TMPDIR (SetEnv), so what a client leaves in "the board's
  // /tmp" goes with the fixture.
  const std::string& tmp_dir() const { return tmp_dir_; }
  pid_t pid() const { return pid_; }

  // What sshd wrote to stderr so far (LogLevel VERBOSE).
  std::string Log() const;

  // A board losing power: SIGKILL to every session and to sshd at once; the
  // clients see their connections closed. Idempotent.
  void Kill();
  // SIGKILL to the sessions, then SIGTERM to sshd and SIGKILL after a grace
  // period. Idempotent; the destructor calls it.
  void Stop();
  // The board coming back after Kill or Stop: the same address, port, keys
  // and config.
  Status Restart();
  // A board that hangs or whose cable was pulled: sshd and every session
  // stop (SIGSTOP) with their connections open; only keep-alives notice.
  // Kill, Stop and the destructor still end them.
  void Freeze();

 private:
  Sshd() = default;
  Status Launch(const SshdOptions& options, int port);
  // Ok when sshd answers; kUnavailable with the log when it exited.
  Status WaitReady(const std::string& address, int port, bool* address_in_use);
  void KillSessions();
  void Reap(int grace_ms);

  std::unique_ptr<TempDir> dir_;
  SshdOptions options_;
  std::string address_;
  int port_ = 0;
  std::string user_;
  std::string identity_;
  std::string known_hosts_;
  std::string ssh_config_;
  std::string host_alias_;
  std::string user_dir_;
  std::string tmp_dir_;
  std::string config_;
  std::string log_;
  pid_t pid_ = -1;  // -1 once reaped
};

// Writes to `path` an ssh_config that knows every one of `sshds` by its
// host_alias() and trusts all their keys: for a jump (`-J a`) from one
// fixture to another, where one -F file must serve both hops.
Status WriteSshConfig(const std::string& path, const std::vector<const Sshd*>& sshds);

// A network namespace joined to this one by a veth pair: a board with an
// address of its own (board_address(), e.g. 10.213.7.2/24) reachable from
// here through host_address() (10.213.7.1). The /24 is chosen free under a
// lock, so tests running in parallel never share one. Namespaces left by a
// test that was killed are removed by the next Create.
//
// REQUIRES: destroy what runs inside (an Sshd) before the NetnsPair; declare
// the NetnsPair first.
class NetnsPair {
 public:
  // Ok when this process may create namespaces and veth pairs (root with
  // CAP_NET_ADMIN and `ip` installed; probed once), else why not.
  static Status Permitted();
  static Result<std::unique_ptr<NetnsPair>> Create();

  ~NetnsPair();
  NetnsPair(const NetnsPair&) = delete;
  NetnsPair& operator=(const NetnsPair&) = delete;

  const std::string& name() const { return name_; }  // for `ip netns exec`
  const std::string& host_address() const { return host_address_; }
  const std::string& board_address() const { return board_address_; }
  const std::string& host_interface() const { return host_if_; }
  const std::string& board_interface() const { return board_if_; }

 private:
  NetnsPair() = default;

  std::string name_;
  std::string host_if_;
  std::string board_if_;
  std::string host_address_;
  std::string board_address_;
};

}  // namespace edgebench::testing
