// harness/devices/scripts.h — the adb-scripts compiled into edgebench:
// prepare.sh and restore.sh (probe.sh is ProbeScript() in probe.h). Each is
// fed to `sh -s` on the device through the transport, options as
// `key=value` arguments:
//
//   ExecOptions o;
//   o.stdin_data = std::string(PrepareScript());
//   transport.Exec({"sh", "-s", "screen_off=1", "state=" + state_path}, o);
//
// prepare.sh exits 3 when the battery is below min_battery_pct; restore.sh
// undoes exactly what prepare.sh recorded in its state file and nothing
// else, and is idempotent. The option lists are at the top of each script.
//
// Thread-safety: constant data.
#pragma once

#include <string_view>

namespace edgebench::harness {

// adb-scripts/prepare.sh, as it was when this binary was built.
std::string_view PrepareScript();
// adb-scripts/restore.sh, as it was when this binary was built.
std::string_view RestoreScript();

}  // namespace edgebench::harness
