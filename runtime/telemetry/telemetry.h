// runtime/telemetry/telemetry.h — sampling a device's memory, CPU
// frequency, temperatures, power and energy while the runtime measures.
//
// Sources, each discovered under the configured proc and sys roots (tests
// point them at prepared trees shaped like real devices):
//   mem           VmRSS, VmHWM from <proc>/<pid>/status; PSS from
//                 <proc>/<pid>/smaps_rollup (Linux 4.14+)
//   cpufreq       scaling_cur_freq of one core per cpufreq policy, grouped
//                 into clusters of policies with the same cpuinfo_max_freq
//                 (internal/cpu_clusters.h has the whole rule); a cluster's
//                 value is its fastest policy's
//   thermal       every <sys>/class/thermal/thermal_zone*: type and temp
//                 (m°C); a zone whose temp cannot be read is absent
//   power_supply  every Battery (not scope "Device", not present=0):
//                 power_now (µW), or current_now × voltage_now in the ABI's
//                 µA/µV; Samsung's batt_current_ua_now (µA; its current_now
//                 is mA) where it exists; mA/mV when voltage_now reads below
//                 100000 (no battery is 0.1 V, so that is millivolts). The
//                 sign of current_now differs between fuel gauges, so the
//                 direction comes from `status`: power is positive while
//                 Discharging, negative while Charging, and only otherwise
//                 from the ABI's sign (negative current = discharging)
//   hwmon         rails: power*_input (µW), or curr*_input (mA) × in*_input
//                 (mV) of the same index when that channel is labelled
//                 (INA3221 on Jetson: in1_label "VDD_IN"; its unlabelled
//                 in4-6 are shunt µV and curr4 a sum). The Raspberry Pi 5
//                 exposes no power in sysfs (its PMIC is read by vcgencmd)
//   rapl          <sys>/class/powercap/intel-rapl:*/energy_uj (not
//                 intel-rapl-mmio, the same package again), unwrapped at
//                 max_energy_range_uj assuming at most one wrap between two
//                 readings (internal/power.h)
// A source that is not there is reported absent (Describe), never as zeros.
// A read that fails later (the file is gone, empty, not a number) stops
// that item for good; the others go on, and Describe lists it under "lost".
//
// Sample values use the names of protocol/rep_metrics.h: mem.rss_kb,
// mem.hwm_kb, mem.pss_kb, freq.<cluster>_khz (cluster0 the slowest),
// temp.<zone type>_c, power.<source>_w, energy.<source>_j (cumulative from
// the first sample, power integrated by the trapezoid rule between
// samples), and energy.primary_j, the cumulative energy of the primary
// source: RAPL package (all packages summed) when present, else the
// battery (the one named "battery" first; kept while charging, with a note
// in Describe, since its energy then is not the device's), else the hwmon
// rail that measures the whole board input (label VDD_IN, POM_5V_IN, 5V_IN,
// VIN, VDD_TOTAL or TOTAL), else none. Names are lower case, [a-z0-9_].
//
// Cost: the sampler thread keeps every file open and re-reads it with one
// pread, and parses by hand. It stays within 1% of one core by
// construction: a group of sources (mem, pss, cpufreq, thermal, power,
// rapl) whose last read cost c of CPU is read again only after
// 100 × groups × c, so a costly group (60 thermal zones on a phone) is left
// out of some samples. PSS is never read by the sampler thread: walking
// smaps_rollup takes milliseconds for a model-sized process and stalls a
// decode worker when every core is busy, so it is read by SampleNow only
// (the runtime calls it at the start and end of every repetition).
// SampleNow always reads everything.
//
// Thread-safety: every method may be called from any thread (one mutex
// inside); Start/Stop/Drain/SetPid are meant for one controlling thread.
// The sampler thread is internal; SampleNow may be called while it runs.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/status.h"
#include "protocol/rep_metrics.h"
#include "protocol/run_spec.h"

namespace edgebench::runtime {

// CLOCK_MONOTONIC in nanoseconds: the one clock of the event stream.
int64_t MonotonicNs();

class Telemetry {
 public:
  // Discovers the sources named in `spec.sources` under its roots.
  static Result<std::unique_ptr<Telemetry>> Create(const protocol::TelemetrySpec& spec);
  ~Telemetry();

  // {"sources": {"mem": "present", "rapl": "absent", "hwmon": "off", ...},
  //  "primary_energy": "rapl:package-0" or null, "primary_note": ...,
  //  "clusters": [...], "thermal_zones": [...], "power": [...],
  //  "values": [every name a sample may carry], "notes": {kind: why absent},
  //  "lost": [{source, error, t_ns}], "sampler": {CPU cost per group}}:
  // goes into the hello event. A source kind is "present", "absent", "off"
  // (not asked for) or "lost" (every item of it failed during the run).
  nlohmann::json Describe() const;

  // Whose memory mem.* samples (default: this process).
  void SetPid(pid_t pid);

  // Starts / stops the sampler thread (period from the spec). Samples
  // accumulate until Drain.
  Status Start();
  void Stop();
  std::vector<protocol::Sample> Drain();

  // One sample of every source taken now, on the calling thread (it is
  // also appended to the buffer, so energy series stay continuous).
  protocol::Sample SampleNow();

  // Temperatures of every zone now, °C (empty when no thermal zones).
  std::map<std::string, double> Temperatures() const;

  // Mean power of the primary source over `duration_ms` of idling, in W;
  // NaN when there is no energy source (or duration_ms <= 0). Samples
  // every period itself when the sampler thread is not running; its
  // samples stay in the buffer.
  double MeasureIdlePowerW(int duration_ms);

 private:
  struct Impl;
  explicit Telemetry(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct CooldownResult {
  double waited_ms = 0;
  bool timed_out = false;
  std::map<std::string, double> temps_c;  // at the end of the wait
  double max_temp_c = NAN;                // hottest zone then; NaN: no zones
};

// Waits until every thermal zone is at or below spec.max_temp_c, polling
// every spec.poll_ms, at most spec.timeout_s; returns early (within ~10 ms)
// when `cancel` becomes true. Without thermal zones, or with
// spec.enabled false, it returns at once with the temperatures now.
CooldownResult WaitForCooldown(Telemetry& telemetry, const protocol::CooldownSpec& spec,
                               const std::atomic<bool>& cancel);

// The cores of the fastest ("big") or slowest ("little") cluster by
// cpuinfo_max_freq under `sys_root` (internal/cpu_clusters.h); all online
// cores when they are all alike or there is no cpufreq. "little" is the
// slowest cluster, "big" every other core: on a three-cluster phone
// (Snapdragon 8 Gen 2: 4 + 3 + 1) the performance cores and the prime core,
// where "threads: 4, cpus: big" is meant to run. NotFound when no core is
// found.
Result<std::vector<int>> ClusterCores(const std::string& sys_root, bool big);

// MemAvailable from <proc_root>/meminfo, in kB; NotFound without it.
Result<int64_t> MemAvailableKb(const std::string& proc_root);

}  // namespace edgebench::runtime
