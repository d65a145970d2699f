// runtime/telemetry/testing/device_tree.h — sysfs and procfs trees shaped
// like real devices, built in a temporary folder for the telemetry tests.
//
//   DeviceTree t;
//   t.Files("sys/class/power_supply/battery", {
//       {"type", "Battery"},
//       {"status", "Discharging"},
//       {"current_now", "-512000"},   // µA
//       {"voltage_now", "3987000"},   // µV
//   });
//   t.Link("sys/class/hwmon/hwmon1",
//   "../../bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon1"); auto tel =
//   Telemetry::Create(t.Spec());
//
// Paths are relative to the tree's root; folders are created as needed.
// Attribute values get the newline sysfs ends them with.
//
// Thread-safety: one test thread builds and rewrites a tree; the telemetry
// under test may read it at the same time (see Rewrite).
#pragma once

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "protocol/run_spec.h"
#include "tests/testing/testing.h"

namespace edgebench::runtime::testing {

class DeviceTree {
 public:
  DeviceTree() = default;
  DeviceTree(const DeviceTree&) = delete;
  DeviceTree& operator=(const DeviceTree&) = delete;

  const std::string& root() const { return dir_.path(); }
  std::string Path(const std::string& rel) const { return dir_.File(rel); }

  // Attributes: each value is written with a trailing newline.
  DeviceTree& Files(const std::string& dir,
                    std::initializer_list<std::pair<std::string, std::string>> files);
  // A file with exactly `content`.
  DeviceTree& Text(const std::string& path, const std::string& content);
  DeviceTree& Dir(const std::string& path);
  // A symbolic link at `path` to `target` (relative targets as sysfs has them).
  DeviceTree& Link(const std::string& path, const std::string& target);

  // Changes an attribute in place (value + newline) without truncating
  // first, padding with blanks when the new text is shorter: a reader that
  // holds the file open never sees it empty or half-written as a shorter
  // file, just as sysfs never shows an empty attribute. Open descriptors
  // see the new value (a rename would leave them on the old file).
  void Rewrite(const std::string& path, const std::string& value);
  // Empties a file in place: to a reader it is a failed read, like an
  // attribute whose device went away.
  void Truncate(const std::string& path);
  void Remove(const std::string& path);

  // The telemetry spec reading this tree (<root>/proc, <root>/sys).
  protocol::TelemetrySpec Spec(std::vector<std::string> sources = {
                                   "mem", "cpufreq", "thermal", "power_supply", "hwmon",
                                   "rapl"}) const;

 private:
  edgebench::testing::TempDir dir_;
};

}  // namespace edgebench::runtime::testing
