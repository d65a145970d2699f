// harness/devices/probe.h — what a device is: ABI, SoC or board, CPU model,
// cores and clusters, CPU features, RAM, OS and kernel, governor, battery,
// thermal zones and power sources. Android from getprop, /proc and /sys;
// Linux from uname, /proc and /sys.
//
// The work is done on the device by adb-scripts/probe.sh (POSIX sh, runs
// under toybox/mksh, dash, busybox), fed to `sh -s` through the transport,
// which prints `key=value` lines; ParseProbeOutput turns them into a
// DeviceProbe. The script is compiled into the edgebench binary.
//
// Thread-safety: functions without shared state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "harness/transport/transport.h"

namespace edgebench::harness {

struct CpuCluster {
  std::vector<int> cpus;
  int64_t max_khz = 0;
};

struct DeviceProbe {
  std::string os;          // "android" or "linux"
  std::string arch;        // normalised: "aarch64", "x86_64", "armv7", "riscv64"
  std::string abi;         // Android's ro.product.cpu.abi ("arm64-v8a"), else arch
  std::string model;       // "Pixel 8 Pro", "Raspberry Pi 5 Model B Rev 1.0"
  std::string soc;         // "Tensor G3", "bcm2712", "rk3588", "" when unknown
  // "Cortex-A76" / "AMD EPYC 9B45" / "0x41:0xd8f" (implementer:part not in
  // the table); big.LITTLE: "Cortex-A510 + Cortex-A715 + Cortex-X3".
  std::string cpu_model;
  int n_cpus = 0;
  std::vector<int64_t> cpu_max_khz;  // per core, 0 when unknown
  std::vector<CpuCluster> clusters;  // slowest first
  std::vector<std::string> cpu_features;  // "asimd", "asimddp", "i8mm", "sve", "avx2", ...
  int64_t ram_kb = 0;
  std::string os_version;  // Android release + SDK, or PRETTY_NAME
  std::string kernel;      // uname -r
  std::string governor;    // cpu0's scaling_governor
  int battery_pct = -1;    // -1: no battery
  std::string battery_status;  // "Charging", "Discharging", "Full", ...
  bool charging = false;   // battery_status is "Charging"
  std::vector<std::string> thermal_zones;  // types
  // As the runtime's telemetry names them: "power_supply:battery",
  // "hwmon:ina3221/hwmon1", "rapl:intel-rapl:0", ...
  std::vector<std::string> power_sources;
  // Every key the script printed, values as strings; a key printed more
  // than once (power_source) holds the array of its values.
  nlohmann::json raw;

  nlohmann::json ToJson() const;
};

// The probe script, as compiled in (adb-scripts/probe.sh).
std::string_view ProbeScript();

// Runs the probe script on the device.
Result<DeviceProbe> ProbeDevice(Transport& transport);

// Parses the script's `key=value` output. Unknown keys go to `raw` only;
// malformed lines are errors naming the line.
Result<DeviceProbe> ParseProbeOutput(std::string_view text);

}  // namespace edgebench::harness
