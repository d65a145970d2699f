// tests/adbd/daemon.h — a fake adb device daemon for the tests: it speaks
// the device side of the adb protocol on a loopback TCP port, so that the
// real adb client and server (`adb connect 127.0.0.1:PORT`) treat it as a
// phone, and it runs what they ask for on this machine: `shell,v2,...:cmd`
// and legacy `shell:cmd` through /bin/sh -c (or --shell), and `sync:` (stat, list, push,
// pull) on this machine's files with their real paths.
//
// Like adbd (2020, shell_service.cpp / file_sync_service.cpp): no AUTH; a
// command runs in a session of its own with cwd /; the exit code of a
// signalled command is 128 + signal; a pushed file's group and other
// permission bits are copied from its owner bits; a push over an existing
// file unlinks it first; missing parent folders are created; a push cut
// short removes the partial file.
//
// Single-threaded: one poll loop serves every connection, stream and child.
#pragma once

#include <cstdint>
#include <string>

namespace edgebench::testing::adbd {

// What the daemon does to a shell command whose stream the client closes
// (the adb client was killed, or its server dropped the stream).
enum class OnShellClose {
  // SIGHUP to the command's process group, SIGKILL to the group 1 s later:
  // nothing it started outlives the stream.
  kKillGroup,
  // SIGHUP to the `sh -c` process only, as adbd does for raw shell v2: what
  // it started in the background, or a child that `sh` waits for, can keep
  // running.
  kHupShellOnly,
};

struct DaemonOptions {
  int port = 0;           // 0: any free port
  std::string port_file;  // written (atomically) once listening
  std::string product = "edgebench_fake";
  std::string model = "Edgebench_Fake";
  std::string device = "edgebench_fake";
  // > 0: once this many bytes of pushed file data have arrived, close every
  // connection and exit at once (a device that vanished mid-push).
  uint64_t die_after_sync_bytes = 0;
  // > 0: each message of a sync stream (a push) is acknowledged this much
  // later, a slow device: progress can be seen halfway.
  int sync_okay_delay_ms = 0;
  OnShellClose on_shell_close = OnShellClose::kKillGroup;
  // Answer CNXN with an AUTH challenge and accept no key: adb lists the
  // device as "unauthorized", as a phone that never got its prompt answered.
  bool unauthorized = false;
  // The device's shell; /system/bin/sh on Android is mksh (/usr/bin/mksh
  // here), which is how the tests check that scripts work under it.
  std::string shell = "/bin/sh";
  bool verbose = false;  // every message in and out on stderr
};

// Listens on 127.0.0.1 and serves until SIGTERM or SIGINT. Returns the exit
// status for main: 0 after a clean stop (or a --die-after-sync-bytes exit),
// 1 when it cannot listen.
int RunDaemon(const DaemonOptions& options);

}  // namespace edgebench::testing::adbd
