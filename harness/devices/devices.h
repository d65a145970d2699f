// harness/devices/devices.h — the devices a user can benchmark on: what a
// devices file declares, what adb reports, and this machine; opening a
// transport to one; and probing it.
//
// devices.json (beside the sweep file, or ~/.config/edgebench/devices.json):
//   {"devices": [
//     {"name": "pi5", "transport": "ssh", "host": "pi5.local", "user": "pi",
//      "port": 22, "identity": "~/.ssh/id_ed25519", "jump": "bastion",
//      "ssh_options": ["-o", "ConnectTimeout=5"]},
//     {"name": "pixel", "transport": "adb", "serial": "R5CT30ABCD"},
//     {"name": "tab", "transport": "adb", "serial": "192.168.1.20:5555"},
//     {"name": "arm-emu", "transport": "local", "exec_prefix": ["qemu-aarch64-static"],
//      "abi": "aarch64"}]}
// An adb serial of the form HOST:PORT is reached with `adb connect` first.
// exec_prefix runs the runtime through an emulator (the aarch64 runtime on
// an x86 host under qemu); abi then says which runtime build to deploy.
//
// Thread-safety: values and functions without shared state.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "harness/transport/transport.h"

namespace edgebench::harness {

struct DeviceConfig {
  std::string name;       // what the user calls it; unique
  std::string transport;  // "local", "ssh", "adb"
  // ssh
  std::string host;
  std::string user;
  int port = 0;           // 0: ssh's default (or ~/.ssh/config)
  std::string identity;   // private key file
  std::string jump;       // ProxyJump host
  std::vector<std::string> ssh_options;  // extra ssh arguments, verbatim
  // adb
  std::string serial;     // "R5CT30ABCD" or "HOST:PORT"
  // all
  std::string work_dir;   // empty: /data/local/tmp/edgebench (Android),
                          // ~/.cache/edgebench (Linux)
  std::vector<std::string> exec_prefix;  // run the runtime through this
  std::string abi;        // empty: from the probe
  // "ssh:pi5": how the store and errors name it.
  std::string Key() const;
};

// Reads a devices file. Errors name the JSON pointer
// (`/devices/1/port: expected an integer in 1..65535, got "ssh"`).
Result<std::vector<DeviceConfig>> LoadDevicesFile(const std::string& path);
Result<std::vector<DeviceConfig>> ParseDevices(const nlohmann::json& j);

// The devices file to use: `explicit_path` if given, else devices.json in
// `beside_dir` if it exists, else ~/.config/edgebench/devices.json if it
// exists, else none (empty string).
std::string FindDevicesFile(const std::string& explicit_path, const std::string& beside_dir);

// Opens the transport for a device (adb: connects HOST:PORT serials first).
Result<std::unique_ptr<Transport>> OpenTransport(const DeviceConfig& device);

struct DeviceEntry {
  DeviceConfig config;
  std::string source;     // "built-in", "adb", or the devices file's path
  std::string adb_state;  // adb's word for a listed device ("device",
                          // "unauthorized", "offline"); empty otherwise
};

// Every device a user can name: this machine ("local"), the devices file's
// (`devices_file` may be empty: none), and each device adb lists that the
// file does not declare (by serial). No adb installed: no adb devices, and
// `*note` says so.
// `with_adb` false: without asking adb (which starts adb's server when it
// is not running).
Result<std::vector<DeviceEntry>> ListDevices(const std::string& devices_file,
                                             std::string* note = nullptr, bool with_adb = true);

// The device called `id` (as FindDevice) among the devices file's and this
// machine, asking adb only when it is none of those.
Result<DeviceEntry> ResolveDevice(const std::string& devices_file, const std::string& id);

// The device called `id`: its name, its key ("ssh:pi5") or its adb serial.
// An unknown id is kNotFound listing the names there are.
Result<DeviceEntry> FindDevice(const std::vector<DeviceEntry>& devices, const std::string& id);

}  // namespace edgebench::harness
