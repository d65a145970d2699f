#include "harness/devices/devices.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "harness/transport/adb/adb_transport.h"
#include "harness/transport/ssh/ssh_transport.h"
#include "protocol/json_check.h"

namespace edgebench::harness {

using protocol::JsonObject;

std::string DeviceConfig::Key() const {
  return transport == "local" && name == "local" ? "local" : transport + ":" + name;
}

namespace {

Result<DeviceConfig> ParseDevice(const nlohmann::json& j, const std::string& pointer) {
  ASSIGN_OR_RETURN(JsonObject o, JsonObject::Open(j, pointer));
  DeviceConfig d;
  RETURN_IF_ERROR(o.Required("name"));
  RETURN_IF_ERROR(o.String("name", &d.name));
  if (d.name.empty()) return InvalidArgumentError(o.Pointer("name") + ": must not be empty");
  RETURN_IF_ERROR(o.Required("transport"));
  RETURN_IF_ERROR(o.Enum("transport", &d.transport, {"local", "ssh", "adb"}));
  RETURN_IF_ERROR(o.String("host", &d.host));
  RETURN_IF_ERROR(o.String("user", &d.user));
  RETURN_IF_ERROR(o.Int("port", &d.port, 1, 65535));
  RETURN_IF_ERROR(o.String("identity", &d.identity));
  RETURN_IF_ERROR(o.String("jump", &d.jump));
  RETURN_IF_ERROR(o.StringList("ssh_options", &d.ssh_options));
  RETURN_IF_ERROR(o.String("serial", &d.serial));
  RETURN_IF_ERROR(o.String("work_dir", &d.work_dir));
  RETURN_IF_ERROR(o.StringList("exec_prefix", &d.exec_prefix));
  RETURN_IF_ERROR(o.String("abi", &d.abi));
  RETURN_IF_ERROR(o.NoUnknownKeys());

  // What each transport needs, and fields that would be silently ignored.
  const auto only_for = [&](bool present, const char* key, const char* transport) -> Status {
    if (present && d.transport != transport)
      return InvalidArgumentError(o.Pointer(key) + ": only for transport \"" + transport +
                                  "\" (this device is \"" + d.transport + "\")");
    return Status::Ok();
  };
  RETURN_IF_ERROR(only_for(!d.host.empty(), "host", "ssh"));
  RETURN_IF_ERROR(only_for(!d.user.empty(), "user", "ssh"));
  RETURN_IF_ERROR(only_for(d.port != 0, "port", "ssh"));
  RETURN_IF_ERROR(only_for(!d.identity.empty(), "identity", "ssh"));
  RETURN_IF_ERROR(only_for(!d.jump.empty(), "jump", "ssh"));
  RETURN_IF_ERROR(only_for(!d.ssh_options.empty(), "ssh_options", "ssh"));
  RETURN_IF_ERROR(only_for(!d.serial.empty(), "serial", "adb"));
  if (d.transport == "ssh" && d.host.empty())
    return InvalidArgumentError(o.Pointer("host") + ": required for an ssh device");
  if (d.transport == "adb" && d.serial.empty())
    return InvalidArgumentError(o.Pointer("serial") + ": required for an adb device");
  if (!d.work_dir.empty() && d.work_dir.front() != '/' && d.work_dir.rfind("~/", 0) != 0)
    return InvalidArgumentError(o.Pointer("work_dir") +
                                ": expected an absolute path or one starting with ~/, got \"" +
                                d.work_dir + "\"");
  if (!d.abi.empty() && d.abi != "aarch64" && d.abi != "arm64-v8a" && d.abi != "x86_64")
    return InvalidArgumentError(o.Pointer("abi") +
                                ": expected \"aarch64\", \"arm64-v8a\" or \"x86_64\", got \"" +
                                d.abi + "\"");
  return d;
}

}  // namespace

Result<std::vector<DeviceConfig>> ParseDevices(const nlohmann::json& j) {
  ASSIGN_OR_RETURN(JsonObject top, JsonObject::Open(j, ""));
  const nlohmann::json* list = top.Raw("devices");
  RETURN_IF_ERROR(top.NoUnknownKeys());
  if (!list) return InvalidArgumentError("/devices: required");
  if (!list->is_array()) return protocol::JsonTypeError("/devices", "an array", *list);
  std::vector<DeviceConfig> out;
  std::set<std::string> names;
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string pointer = "/devices/" + std::to_string(i);
    ASSIGN_OR_RETURN(DeviceConfig d, ParseDevice((*list)[i], pointer));
    if (!names.insert(d.name).second)
      return InvalidArgumentError(pointer + "/name: \"" + d.name +
                                  "\" is declared twice (device names must be unique)");
    out.push_back(std::move(d));
  }
  return out;
}

Result<std::vector<DeviceConfig>> LoadDevicesFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return ErrnoToStatus(errno, "cannot read devices file \"" + path + "\"");
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::parse_error& e) {
    return InvalidArgumentError(path + ": not valid JSON (" + e.what() + ")");
  }
  auto devices = ParseDevices(j);
  if (!devices.ok()) return InvalidArgumentError(path + ": " + devices.status().message());
  return devices;
}

std::string FindDevicesFile(const std::string& explicit_path, const std::string& beside_dir) {
  namespace fs = std::filesystem;
  if (!explicit_path.empty()) return explicit_path;
  std::error_code ec;
  if (!beside_dir.empty() && fs::is_regular_file(fs::path(beside_dir) / "devices.json", ec))
    return (fs::path(beside_dir) / "devices.json").string();
  std::string config_home;
  if (const char* x = std::getenv("XDG_CONFIG_HOME"); x && *x)
    config_home = x;
  else if (const char* h = std::getenv("HOME"); h && *h)
    config_home = std::string(h) + "/.config";
  if (!config_home.empty()) {
    const fs::path p = fs::path(config_home) / "edgebench" / "devices.json";
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  return "";
}

Result<std::unique_ptr<Transport>> OpenTransport(const DeviceConfig& device) {
  if (device.transport == "local") return NewLocalTransport(device.Key());
  if (device.transport == "ssh") {
    SshOptions o;
    o.host = device.host;
    o.user = device.user;
    o.port = device.port;
    o.identity = device.identity;
    o.jump = device.jump;
    o.extra_args = device.ssh_options;
    o.name = device.Key();
    return NewSshTransport(o);
  }
  if (device.transport == "adb") {
    AdbOptions o;
    o.serial = device.serial;
    o.name = device.Key();
    // The transport's pid files go beside the work dir's contents: a device
    // whose /data/local/tmp is elsewhere (or a test) says so once.
    if (!device.work_dir.empty() && device.work_dir.front() == '/') o.remote_tmp = device.work_dir;
    return NewAdbTransport(o);
  }
  return InvalidArgumentError("device \"" + device.name + "\": unknown transport \"" +
                              device.transport + "\"");
}

Result<std::vector<DeviceEntry>> ListDevices(const std::string& devices_file,
                                             std::string* note, bool with_adb) {
  std::vector<DeviceEntry> out;
  std::vector<DeviceConfig> declared;
  if (!devices_file.empty()) {
    ASSIGN_OR_RETURN(declared, LoadDevicesFile(devices_file));
  }
  const bool declares_local = std::any_of(declared.begin(), declared.end(),
                                          [](const DeviceConfig& d) { return d.name == "local"; });
  if (!declares_local) {
    DeviceConfig local;
    local.name = "local";
    local.transport = "local";
    out.push_back({local, "built-in", ""});
  }
  std::set<std::string> serials;
  for (DeviceConfig& d : declared) {
    if (d.transport == "adb") serials.insert(d.serial);
    out.push_back({std::move(d), devices_file, ""});
  }
  if (!with_adb) return out;
  auto adb = ListAdbDevices();
  if (!adb.ok()) {
    if (note) *note = adb.status().message();
    return out;
  }
  for (const AdbDeviceEntry& a : *adb) {
    for (DeviceEntry& e : out)
      if (e.config.transport == "adb" && e.config.serial == a.serial) e.adb_state = a.state;
    if (serials.count(a.serial)) continue;
    DeviceConfig d;
    d.name = a.serial;
    d.transport = "adb";
    d.serial = a.serial;
    out.push_back({std::move(d), "adb", a.state});
  }
  return out;
}

Result<DeviceEntry> FindDevice(const std::vector<DeviceEntry>& devices, const std::string& id) {
  for (const DeviceEntry& e : devices)
    if (e.config.name == id || e.config.Key() == id) return e;
  for (const DeviceEntry& e : devices)
    if (e.config.transport == "adb" && e.config.serial == id) return e;
  std::string names;
  for (const DeviceEntry& e : devices) names += (names.empty() ? "" : ", ") + e.config.name;
  return NotFoundError("no device \"" + id + "\" (known: " + names +
                       "; `edgebench devices` lists them, devices.json declares ssh boards)");
}

Result<DeviceEntry> ResolveDevice(const std::string& devices_file, const std::string& id) {
  ASSIGN_OR_RETURN(std::vector<DeviceEntry> declared, ListDevices(devices_file, nullptr, false));
  auto found = FindDevice(declared, id);
  if (found.ok() || found.status().code() != StatusCode::kNotFound) return found;
  ASSIGN_OR_RETURN(std::vector<DeviceEntry> all, ListDevices(devices_file, nullptr, true));
  return FindDevice(all, id);
}

}  // namespace edgebench::harness
