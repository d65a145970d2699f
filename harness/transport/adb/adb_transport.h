// harness/transport/adb/adb_transport.h — the Transport for Android phones
// (and anything else adbd runs on) through the system's adb client and its
// server, over USB or TCP (`adb connect HOST:PORT`).
//
// Exec: `adb -s SERIAL shell LINE`, where LINE is ShellCommand(argv) inside a
// small wrapper, passed as ONE argument (adb joins its arguments with spaces
// and the device's sh parses the result). Exit codes come from the shell
// protocol (v2). The wrapper
//   - records its pid in a file under a private folder on the device, so a
//     timeout, a cancel or KillAll can kill the command's process group there:
//     adbd answers a closed raw shell stream with SIGHUP to the `sh -c`
//     process only, so what it started would live on;
//   - ends stderr with a line carrying the exit status and a per-transport
//     token, removed before the caller sees stderr: adb reports exit code 0
//     when the device vanishes mid-command (the stream closes without an
//     exit packet), and this line tells a finished command from a cut one.
// A device that is gone (`error: device '...' not found`, `device offline`,
// `no devices/emulators found`, a stream closed without an exit status) is
// kUnavailable naming the device; a command that ran and failed is an
// ExecResult. A command this transport killed (timeout, KillAll) reports
// exit_code -1 and SIGKILL; a cancelled one is kCancelled.
//
// Push is `adb push` to the exact path (adbd creates missing parent folders,
// replaces an existing file, removes a partial one, and gives the file its
// owner's permission bits for group and others too). Progress is how far the
// adb client has read the local file (its file position, from /proc),
// reported from a helper thread about every 200 ms, never two calls at once,
// plus a first call at 0 and a last at the total. Pull is `adb pull` into a
// temporary file beside `local`, renamed into place when complete.
//
// Thread-safety: as Transport; Exec, Push and Pull may run on several
// threads at once, KillAll from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "harness/transport/transport.h"

namespace edgebench::harness {

struct AdbOptions {
  std::string serial;       // "R5CT30ABCD", or "HOST:PORT" (adb connect first)
  std::string adb = "adb";  // the client program
  int server_port = 0;      // 0: adb's default (5037 or $ANDROID_ADB_SERVER_PORT)
  std::string name;         // "adb:pixel" for errors; empty: "adb:" + serial
  // A folder on the device for this transport's private folder (pid files);
  // empty: /data/local/tmp.
  std::string remote_tmp;
};

// Connects HOST:PORT serials (`adb connect`), waits briefly for a device
// that is still connecting, checks that adb lists it as "device", and makes
// the private folder on it. An unauthorized, offline or absent device is
// kUnavailable quoting adb; no adb client is kNotFound.
Result<std::unique_ptr<Transport>> NewAdbTransport(const AdbOptions& options);

// One line of `adb devices -l`.
struct AdbDeviceEntry {
  std::string serial;
  // "device", "unauthorized", "offline", "recovery", "no permissions (...)".
  std::string state;
  std::string usb;  // the USB path ("1-1.2"), empty over TCP
  std::string product;
  std::string model;  // with adb's '_' for spaces ("Pixel_8_Pro")
  std::string device;
  int transport_id = 0;  // 0 when adb did not say
};

// The devices adb knows (`adb [-P port] devices -l`; starts adb's server if
// it is not running, as adb does). No adb installed: kNotFound with a
// sentence the caller can show as it is.
Result<std::vector<AdbDeviceEntry>> ListAdbDevices(const std::string& adb = "adb",
                                                   int server_port = 0);

// Parses the text `adb devices -l` prints (the header, daemon start-up
// notices and blank lines are skipped).
std::vector<AdbDeviceEntry> ParseAdbDevices(std::string_view text);

}  // namespace edgebench::harness
