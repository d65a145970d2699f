// `edgebench devices [probe ID]` and `edgebench deploy DEVICE`: list and
// probe the devices there are, and put the runtime and models on one.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/exit_code.h"
#include "harness/cli/command.h"
#include "harness/cli/format.h"
#include "harness/cli/interrupt.h"
#include "harness/deploy/deploy.h"
#include "harness/devices/devices.h"
#include "harness/devices/probe.h"

namespace edgebench::cli {
namespace {

using harness::DeviceEntry;
using harness::DeviceProbe;

struct DevicesArgs {
  std::string devices_file;  // empty: found (FindDevicesFile)
  bool json = false;
  bool no_probe = false;
  std::string id;
};

Result<std::vector<DeviceEntry>> LoadDevices(const std::string& explicit_file,
                                             std::string* note) {
  const std::string file = harness::FindDevicesFile(explicit_file, ".");
  return harness::ListDevices(file, note);
}

struct Probed {
  Status status;
  DeviceProbe probe;
};

Probed ProbeOne(const harness::DeviceConfig& d) {
  Probed p;
  auto t = harness::OpenTransport(d);
  if (!t.ok()) {
    p.status = t.status();
    return p;
  }
  auto probe = harness::ProbeDevice(**t);
  if (!probe.ok()) {
    p.status = probe.status();
    return p;
  }
  p.probe = std::move(*probe);
  return p;
}

std::string ClusterText(const DeviceProbe& p) {
  // "4x1.8+3x2.4+1x3.0 GHz"
  // Without cpufreq (a VM) the clocks are unknown: the count alone.
  const bool clocks = std::any_of(p.clusters.begin(), p.clusters.end(),
                                  [](const harness::CpuCluster& c) { return c.max_khz > 0; });
  if (!clocks) return std::to_string(p.n_cpus);
  std::string s;
  for (const harness::CpuCluster& c : p.clusters) {
    if (!s.empty()) s += "+";
    char buf[48];
    std::snprintf(buf, sizeof buf, "%zux%.1f", c.cpus.size(), static_cast<double>(c.max_khz) / 1e6);
    s += buf;
  }
  return s.empty() ? std::to_string(p.n_cpus) : s + " GHz";
}

std::string StateOf(const DeviceEntry& e, const Probed* p) {
  if (!e.adb_state.empty() && e.adb_state != "device") return e.adb_state;
  if (!p) return "-";
  if (!p->status.ok()) return std::string(StatusCodeName(p->status.code()));
  return "ok";
}

nlohmann::json EntryJson(const DeviceEntry& e, const Probed* p) {
  nlohmann::json j = {{"name", e.config.name},
                      {"key", e.config.Key()},
                      {"transport", e.config.transport},
                      {"source", e.source},
                      {"state", StateOf(e, p)}};
  if (!e.adb_state.empty()) j["adb_state"] = e.adb_state;
  if (p && !p->status.ok()) j["error"] = p->status.message();
  if (p && p->status.ok()) j["probe"] = p->probe.ToJson();
  return j;
}

int List(const DevicesArgs& a) {
  std::string note;
  auto devices = LoadDevices(a.devices_file, &note);
  if (!devices.ok()) return ReportError(devices.status());
  std::vector<Probed> probed(devices->size());
  if (!a.no_probe) {
    // In parallel: a slow or unreachable board must not hold up the rest
    // (each transport has its own connect timeout).
    std::vector<std::thread> threads;
    for (size_t i = 0; i < devices->size(); ++i) {
      const DeviceEntry& e = (*devices)[i];
      if (!e.adb_state.empty() && e.adb_state != "device") {
        probed[i].status = UnavailableError("adb says \"" + e.adb_state + "\"");
        continue;
      }
      threads.emplace_back([&, i] { probed[i] = ProbeOne((*devices)[i].config); });
    }
    for (std::thread& t : threads) t.join();
  }
  if (a.json) {
    nlohmann::json j = nlohmann::json::array();
    for (size_t i = 0; i < devices->size(); ++i)
      j.push_back(EntryJson((*devices)[i], a.no_probe ? nullptr : &probed[i]));
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  std::printf("%-16s %-9s %-12s %-10s %-28s %-22s %-10s %s\n", "NAME", "TRANSPORT", "STATE",
              "ABI", "MODEL / SOC", "CPUS", "RAM", "OS");
  for (size_t i = 0; i < devices->size(); ++i) {
    const DeviceEntry& e = (*devices)[i];
    const Probed* p = a.no_probe ? nullptr : &probed[i];
    std::string abi, model, cpus, ram, os;
    if (p && p->status.ok()) {
      const DeviceProbe& d = p->probe;
      abi = d.abi;
      model = d.model + (d.soc.empty() ? "" : " / " + d.soc);
      cpus = ClusterText(d);
      ram = d.ram_kb > 0 ? HumanBytes(d.ram_kb * 1024) : "";
      os = d.os_version;
    }
    std::printf("%-16s %-9s %-12s %-10s %-28s %-22s %-10s %s\n", e.config.name.c_str(),
                e.config.transport.c_str(), StateOf(e, p).c_str(), abi.c_str(), model.c_str(),
                cpus.c_str(), ram.c_str(), os.c_str());
    if (p && !p->status.ok()) std::printf("  %s\n", p->status.message().c_str());
  }
  if (!note.empty()) std::fprintf(stderr, "note: %s\n", note.c_str());
  return kExitOk;
}

int Probe(const DevicesArgs& a) {
  auto e = harness::ResolveDevice(harness::FindDevicesFile(a.devices_file, "."), a.id);
  if (!e.ok()) return ReportError(e.status());
  const Probed p = ProbeOne(e->config);
  if (!p.status.ok()) return ReportError(p.status.WithContext(e->config.Key()));
  if (a.json) {
    std::printf("%s\n", EntryJson(*e, &p).dump(2).c_str());
    return kExitOk;
  }
  const DeviceProbe& d = p.probe;
  const auto row = [](const char* k, const std::string& v) {
    if (!v.empty()) std::printf("%-14s %s\n", k, v.c_str());
  };
  row("device", e->config.Key());
  row("os", d.os + (d.os_version.empty() ? "" : " (" + d.os_version + ")"));
  row("kernel", d.kernel);
  row("abi", d.abi + (d.arch == d.abi ? "" : " (" + d.arch + ")"));
  row("model", d.model);
  row("soc", d.soc);
  row("cpu", d.cpu_model);
  row("cores", ClusterText(d));
  std::string features;
  for (const std::string& f : d.cpu_features) features += (features.empty() ? "" : " ") + f;
  row("features", features);
  row("ram", d.ram_kb > 0 ? HumanBytes(d.ram_kb * 1024) : "");
  row("governor", d.governor);
  row("battery", d.battery_pct < 0 ? "none"
                                   : std::to_string(d.battery_pct) + "% " + d.battery_status);
  std::string zones;
  for (const std::string& z : d.thermal_zones) zones += (zones.empty() ? "" : " ") + z;
  row("thermal", zones.empty() ? "none" : zones);
  std::string power;
  for (const std::string& s : d.power_sources) power += (power.empty() ? "" : " ") + s;
  row("power", power.empty() ? "none" : power);
  return kExitOk;
}

// ---------------------------------------------------------------------------
// deploy

struct DeployArgs {
  std::string devices_file;
  std::string device;
  std::vector<std::string> models;
  std::vector<std::string> files;
  std::string runtime;
  std::string work_dir;
  bool json = false;
};

int Deploy(const DeployArgs& a) {
  auto e = harness::ResolveDevice(harness::FindDevicesFile(a.devices_file, "."), a.device);
  if (!e.ok()) return ReportError(e.status());
  harness::DeviceConfig d = e->config;
  if (!a.work_dir.empty()) d.work_dir = a.work_dir;
  auto t = harness::OpenTransport(d);
  if (!t.ok()) return ReportError(t.status());
  auto probe = harness::ProbeDevice(**t);
  if (!probe.ok()) return ReportError(probe.status().WithContext(d.Key() + ": probe"));
  const std::string abi = d.abi.empty() ? probe->abi : d.abi;
  auto runtime = harness::FindRuntime(abi, a.runtime);
  if (!runtime.ok()) return ReportError(runtime.status());

  std::vector<harness::DeployFile> files = {{*runtime, true}};
  for (const std::string& m : a.models) files.push_back({m, false});
  for (const std::string& f : a.files) files.push_back({f, false});

  const bool tty = ::isatty(2);
  // Ctrl-C during a deploy: the transport's processes are killed (the push
  // in flight ends; its temporary file is never used), then we exit.
  SignalWatcher guard([&t](int) { (void)(*t)->KillAll(); });
  auto work = harness::PrepareWorkDir(**t, d.work_dir, probe->os == "android");
  if (!work.ok()) return ReportError(work.status());
  harness::DeployOptions options;
  options.progress = [&](const harness::DeployedFile& f, const harness::TransferProgress& p) {
    if (!tty) return;
    const std::string name = std::filesystem::path(f.local).filename().string();
    std::fprintf(stderr, "\r  %-32.32s %10s / %-10s %10s/s ", name.c_str(),
                 HumanBytes(static_cast<int64_t>(p.done_bytes)).c_str(),
                 HumanBytes(static_cast<int64_t>(p.total_bytes)).c_str(),
                 HumanBytes(static_cast<int64_t>(p.bytes_per_s)).c_str());
  };
  auto report = harness::Deploy(**t, *work, files, options);
  if (tty) std::fprintf(stderr, "\r\033[K");
  if (guard.count() > 0)
    return ReportError(CancelledError(d.Key() + ": deploy interrupted; files already "
                                                "verified are kept, the one in flight is not"));
  if (!report.ok()) return ReportError(report.status().WithContext(d.Key() + ": deploy"));

  if (a.json) {
    nlohmann::json j = {{"device", d.Key()},
                        {"abi", abi},
                        {"work_dir", report->work_dir},
                        {"files_sent", report->files_sent},
                        {"bytes_sent", report->bytes_sent},
                        {"send_seconds", report->send_seconds},
                        {"files", nlohmann::json::array()}};
    for (const harness::DeployedFile& f : report->files)
      j["files"].push_back({{"local", f.local},
                            {"sha256", f.sha256},
                            {"bytes", f.bytes},
                            {"remote", f.remote},
                            {"sent", f.sent}});
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  std::printf("%s (%s): %s\n", d.Key().c_str(), abi.c_str(), report->work_dir.c_str());
  for (const harness::DeployedFile& f : report->files)
    std::printf("  %-8s %-40s %10s  %s\n", f.sent ? "sent" : "present",
                std::filesystem::path(f.local).filename().string().c_str(),
                HumanBytes(static_cast<int64_t>(f.bytes)).c_str(), f.sha256.substr(0, 12).c_str());
  const double rate =
      report->send_seconds > 0 ? static_cast<double>(report->bytes_sent) / report->send_seconds : 0;
  std::printf("%d of %zu files sent, %s in %.1f s (%s/s)\n", report->files_sent,
              report->files.size(), HumanBytes(static_cast<int64_t>(report->bytes_sent)).c_str(),
              report->send_seconds, HumanBytes(static_cast<int64_t>(rate)).c_str());
  return kExitOk;
}

}  // namespace

void AddDevicesCommand(CLI::App& app, Action* action) {
  auto a = std::make_shared<DevicesArgs>();
  CLI::App* devices = app.add_subcommand(
      "devices", "List the devices (this machine, adb devices, ssh boards of devices.json)");
  devices->add_option("--devices", a->devices_file,
                      "Devices file (default: ./devices.json, else "
                      "~/.config/edgebench/devices.json)");
  devices->add_flag("--json", a->json, "JSON output");
  devices->add_flag("--no-probe", a->no_probe, "List without connecting to each device");
  CLI::App* probe = devices->add_subcommand("probe", "Probe one device and show what it is");
  probe->add_option("ID", a->id, "Device name, key (ssh:pi5) or adb serial")->required();
  probe->add_flag("--json", a->json, "JSON output");
  probe->add_option("--devices", a->devices_file, "Devices file");
  devices->final_callback([a, action, probe] {
    if (probe->parsed())
      *action = [a] { return Probe(*a); };
    else
      *action = [a] { return List(*a); };
  });

  auto d = std::make_shared<DeployArgs>();
  CLI::App* deploy = app.add_subcommand(
      "deploy", "Put the runtime (and models, files) on a device; what is there is not sent again");
  deploy->add_option("DEVICE", d->device, "Device name, key or adb serial")->required();
  deploy->add_option("--model", d->models, "A model file to send (repeatable)");
  deploy->add_option("--file", d->files, "Another file to send (repeatable)");
  deploy->add_option("--runtime", d->runtime,
                     "The edgebench-rt to send (default: the build for the device's ABI)");
  deploy->add_option("--work-dir", d->work_dir,
                     "Work dir on the device (default: /data/local/tmp/edgebench on Android, "
                     "~/.cache/edgebench on Linux)");
  deploy->add_option("--devices", d->devices_file, "Devices file");
  deploy->add_flag("--json", d->json, "JSON output");
  deploy->final_callback([d, action] { *action = [d] { return Deploy(*d); }; });
}

}  // namespace edgebench::cli
