// runtime/telemetry/internal/power.h — the arithmetic of the power and
// energy sources, kept apart from file reading so each rule is tested on
// its own.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

namespace edgebench::runtime::telemetry_internal {

// RAPL energy_uj counts up from 0 to max_energy_range_uj and starts again
// at 0. The energy between two readings is cur - prev, plus the range when
// the counter went down. A counter read too rarely can wrap more than once
// between two readings, which no reading can reveal; we assume at most one
// wrap per interval. That holds by a wide margin at our periods: the
// package counter's range is 2^32 energy units (262 kJ with the usual
// 61 µJ unit), over an hour at 60 W, against a 20 ms period.
// Returns the energy in µJ; `max_range_uj` 0 (unknown) gives 0 for a
// counter that went down rather than a guess.
uint64_t RaplDeltaUj(uint64_t prev_uj, uint64_t cur_uj, uint64_t max_range_uj);

// Energy of a power reading between two samples by the trapezoid rule, in
// J: the mean of the two readings times the time between them. Power is
// read instantly, so this is exact for power that changes linearly between
// samples and its error shrinks with the period.
inline double TrapezoidJ(double prev_w, double cur_w, int64_t dt_ns) {
  return 0.5 * (prev_w + cur_w) * static_cast<double>(dt_ns) * 1e-9;
}

// What a battery says it is doing (power_supply `status`).
enum class BatteryStatus { kUnknown, kCharging, kDischarging, kNotCharging, kFull };
BatteryStatus ParseBatteryStatus(std::string_view text);

// The power leaving a battery, in W: positive while it discharges,
// negative while it charges.
//
// The sign of current_now is not reliable. The kernel ABI documents
// negative for discharging since Linux 5.10 (commit 05f94eb98907 "power:
// supply: document current direction"), but its own message says fuel
// gauges do all three: negative while discharging, positive while
// discharging, always positive. So the direction comes from `status` when
// it says Charging or Discharging, and only otherwise (Full, Not charging,
// Unknown, unreadable) from the documented sign. power_now (µW, used by
// laptops' ACPI batteries) has no documented sign at all; it gets the
// status's direction, else positive.
//
// `current_a` / `voltage_v` / `power_w` are already in SI units; pass NaN
// for the readings the battery does not have (power_w NaN: use I × V).
double BatteryPowerW(BatteryStatus status, double current_a, double voltage_v,
                     double power_w);

}  // namespace edgebench::runtime::telemetry_internal
