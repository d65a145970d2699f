#include "runtime/telemetry/internal/power.h"

#include <cmath>

namespace edgebench::runtime::telemetry_internal {

uint64_t RaplDeltaUj(uint64_t prev_uj, uint64_t cur_uj, uint64_t max_range_uj) {
  if (cur_uj >= prev_uj) return cur_uj - prev_uj;
  if (max_range_uj == 0 || prev_uj > max_range_uj) return 0;
  // From prev up to the top of the range, then from 0 up to cur.
  return (max_range_uj - prev_uj) + cur_uj;
}

BatteryStatus ParseBatteryStatus(std::string_view text) {
  // The kernel's strings (power_supply_sysfs.c): "Unknown", "Charging",
  // "Discharging", "Not charging", "Full".
  if (text.rfind("Charging", 0) == 0) return BatteryStatus::kCharging;
  if (text.rfind("Discharging", 0) == 0) return BatteryStatus::kDischarging;
  if (text.rfind("Not charging", 0) == 0) return BatteryStatus::kNotCharging;
  if (text.rfind("Full", 0) == 0) return BatteryStatus::kFull;
  return BatteryStatus::kUnknown;
}

double BatteryPowerW(BatteryStatus status, double current_a, double voltage_v,
                     double power_w) {
  const bool from_power = !std::isnan(power_w);
  const double magnitude =
      from_power ? std::fabs(power_w) : std::fabs(current_a) * std::fabs(voltage_v);
  if (magnitude == 0) return 0;  // never -0: nothing flows either way
  switch (status) {
    case BatteryStatus::kCharging:
      return -magnitude;
    case BatteryStatus::kDischarging:
      return magnitude;
    default:
      if (from_power) return magnitude;
      // The documented convention: negative current is discharging.
      return current_a < 0 ? magnitude : -magnitude;
  }
}

}  // namespace edgebench::runtime::telemetry_internal
