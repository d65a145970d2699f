// harness/transport/ssh/ssh_transport.h — the Transport for Linux boards:
// the system's `ssh` client (so ~/.ssh/config, agents and jump hosts work as
// they do for the user), one ControlMaster connection per transport that
// every call multiplexes over (opened by NewSshTransport, reopened by the
// next call after it dropped, closed by the destructor), and nothing on the
// board but a POSIX sh, cat, mktemp, chmod and kill (dropbear + busybox
// boards included: no scp or sftp).
//
// Exec: the command line is ShellCommand(argv), run by the board's sh under
// a small wrapper that records its pid (so KillAll and a timeout can kill it
// on the board: killing the local ssh client does not stop a remote command
// without a tty). A command killed by a signal on the board reports exit
// code 128+N, as its shell does; ExecResult::signal is set only for what this
// transport killed (timeout, KillAll). ssh's own failures (exit code 255:
// connection refused or lost, authentication) are kUnavailable with ssh's
// words; a remote command that itself exits 255 is told apart and reported
// as exit code 255.
//
// Push is `cat > REMOTE` with the local file as ssh's stdin; progress is read
// from the kernel's file position of that stdin and reported from a helper
// thread about every 200 ms (never two calls at once). An interrupted push
// leaves the partial file under its given name. Pull is `cat < REMOTE` into
// a temporary file beside `local`, renamed into place when complete.
//
// Thread-safety: as Transport; Exec, Push and Pull may run on several
// threads at once over the one connection, KillAll from any thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "harness/transport/transport.h"

namespace edgebench::harness {

struct SshOptions {
  std::string host;      // name from ~/.ssh/config or address
  std::string user;      // empty: ssh's default / ~/.ssh/config
  int port = 0;          // 0: default / config
  std::string identity;  // -i
  // -J. The jump hop gets only -F from us (ssh passes no -o options on), so
  // it must log in without prompting by its own config.
  std::string jump;
  // Verbatim ssh options, e.g. {"-F", "/tmp/x/ssh_config"}; they come first,
  // so an "-o X=y" here wins over this transport's defaults.
  std::vector<std::string> extra_args;
  std::string name;  // "ssh:pi5" for errors; empty: "ssh:" + host
  // Where the ControlMaster socket lives (one per transport, never shared);
  // empty: a private folder under $XDG_RUNTIME_DIR or /tmp (mode 0700),
  // removed with the transport.
  std::string control_dir;
  std::string ssh = "ssh";  // the client program
};

// Connects once (BatchMode=yes, ConnectTimeout) and makes a private folder on
// the board for the pid files. Fails with kUnavailable naming the host and
// quoting ssh (authentication failure, refused, unknown host or host key).
Result<std::unique_ptr<Transport>> NewSshTransport(const SshOptions& options);

}  // namespace edgebench::harness
