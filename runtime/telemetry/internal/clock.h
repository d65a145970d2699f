// runtime/telemetry/internal/clock.h — where sample timestamps come from,
// replaceable by tests so that energy integrals over prepared sysfs trees
// come out as exact, hand-computable numbers.
//
// Only sample timestamps (and the time steps of the energy integrals) use
// this clock; sleeping, waiting for cooldown and timeouts use the real
// monotonic clock.
//
// Thread-safety: SampleNowNs may be called from any thread. REQUIRES:
// SetSampleClockForTesting is called while no Telemetry samples.
#pragma once

#include <cstdint>

namespace edgebench::runtime::telemetry_internal {

using ClockFn = int64_t (*)();

// nullptr restores MonotonicNs.
void SetSampleClockForTesting(ClockFn fn);

int64_t SampleNowNs();

}  // namespace edgebench::runtime::telemetry_internal
