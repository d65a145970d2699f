// protocol/rep_metrics.h — the metrics of one repetition, computed from its
// raw timestamps and telemetry samples exactly as DESIGN.md "Metrics"
// defines them. The runtime reports them in `rep_end`; the harness and the
// tests can recompute them from the raw events and must get the same
// numbers.
//
// Telemetry sample values are named "<kind>.<name>" with the unit as the
// suffix: mem.rss_kb, mem.hwm_kb, mem.pss_kb, freq.<cluster>_khz,
// temp.<zone>_c, power.<source>_w, and energy.primary_j, the cumulative
// energy of the device's primary energy source (a RAPL counter unwrapped, or
// the integral of a power reading), from which all energy metrics come.
//
// Thread-safety: pure functions.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace edgebench::protocol {

struct Sample {
  int64_t t_ns = 0;
  std::vector<std::pair<std::string, double>> values;
};

struct RepTiming {
  int64_t t_request_ns = 0;  // request start, before tokenization
  int64_t prefill_t0_ns = 0;
  int64_t prefill_t1_ns = 0;
  int n_prompt = 0;          // tokens prefilled (timed)
  std::vector<int64_t> token_ns;  // when each generated token was ready
  int64_t t_end_ns = 0;      // end of the repetition's timed part
  // The closing telemetry reading (every source read) taken right after
  // t_end_ns; the sample window ends there. 0: unknown, the window ends at
  // the first sample after t_end_ns.
  int64_t t_close_ns = 0;
  double cooldown_ms = NAN;  // NaN: no cooldown
  double temp_start_c = NAN; // hottest zone before the repetition
  double hwm_kb = NAN;       // VmHWM at the end
  double baseline_w = NAN;   // idle power, for energy_net_j
};

// Linear interpolation between closest ranks (numpy's default), q in [0,1].
inline double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

namespace rep_metrics_internal {

// A named series of (t_ns, value) from the samples, in time order.
inline std::vector<std::pair<int64_t, double>> Series(std::span<const Sample> samples,
                                                     const std::string& name) {
  std::vector<std::pair<int64_t, double>> s;
  for (const Sample& x : samples)
    for (const auto& [k, v] : x.values)
      if (k == name) s.emplace_back(x.t_ns, v);
  return s;
}

// The series' value at t by linear interpolation; NaN outside its span
// (energy at a boundary must be observed around it, not extrapolated).
inline double At(const std::vector<std::pair<int64_t, double>>& s, int64_t t) {
  if (s.empty() || t < s.front().first || t > s.back().first) return NAN;
  auto it = std::lower_bound(s.begin(), s.end(), t,
                             [](const auto& p, int64_t x) { return p.first < x; });
  if (it->first == t || it == s.begin()) return it->second;
  const auto& [t1, v1] = *it;
  const auto& [t0, v0] = *(it - 1);
  return v0 + (v1 - v0) * static_cast<double>(t - t0) / static_cast<double>(t1 - t0);
}

inline bool StartsWith(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

}  // namespace rep_metrics_internal

// Metric name (protocol/metrics.h) -> value. Metrics that cannot be
// computed (no energy source, n_gen < 2 for decode_tps) are absent, never
// zero. REQUIRES: `samples` in time order.
inline std::map<std::string, double> ComputeRepMetrics(const RepTiming& r,
                                                       std::span<const Sample> samples) {
  using namespace rep_metrics_internal;
  std::map<std::string, double> m;
  const auto ms = [](int64_t ns) { return static_cast<double>(ns) / 1e6; };
  const int n_gen = static_cast<int>(r.token_ns.size());

  if (n_gen > 0) m["ttft_ms"] = ms(r.token_ns.front() - r.t_request_ns);
  if (r.n_prompt > 0 && r.prefill_t1_ns > r.prefill_t0_ns) {
    m["prefill_ms"] = ms(r.prefill_t1_ns - r.prefill_t0_ns);
    m["prefill_tps"] = r.n_prompt / (static_cast<double>(r.prefill_t1_ns - r.prefill_t0_ns) / 1e9);
  }
  if (n_gen >= 2 && r.token_ns.back() > r.token_ns.front()) {
    m["decode_tps"] =
        (n_gen - 1) / (static_cast<double>(r.token_ns.back() - r.token_ns.front()) / 1e9);
    std::vector<double> itl;
    for (int i = 1; i < n_gen; ++i) itl.push_back(ms(r.token_ns[i] - r.token_ns[i - 1]));
    m["itl_p50_ms"] = Percentile(itl, 0.50);
    m["itl_p90_ms"] = Percentile(itl, 0.90);
    m["itl_p99_ms"] = Percentile(itl, 0.99);
  }
  if (!std::isnan(r.cooldown_ms)) m["cooldown_ms"] = r.cooldown_ms;
  if (!std::isnan(r.hwm_kb)) m["peak_rss_mb"] = r.hwm_kb / 1024.0;

  // Samples taken during the repetition up to its closing reading: the
  // runtime reads every source right as the timed part ends, so a short
  // repetition always has at least that complete reading (a sampler under
  // its CPU budget reads costly sources such as PSS less often, and its
  // thread may tick between t_end_ns and that reading).
  std::vector<Sample> in;
  for (const Sample& s : samples) {
    if (s.t_ns < r.t_request_ns) continue;
    if (r.t_close_ns > 0 && s.t_ns > r.t_close_ns) break;
    in.push_back(s);
    if (r.t_close_ns <= 0 && s.t_ns > r.t_end_ns) break;
  }
  double pss_max = NAN, temp_max = NAN;
  std::map<std::string, std::vector<double>> freq;
  for (const Sample& s : in)
    for (const auto& [k, v] : s.values) {
      if (k == "mem.pss_kb") pss_max = std::isnan(pss_max) ? v : std::max(pss_max, v);
      if (StartsWith(k, "temp.")) temp_max = std::isnan(temp_max) ? v : std::max(temp_max, v);
      if (StartsWith(k, "freq.")) freq[k].push_back(v);
    }
  if (!std::isnan(pss_max)) m["pss_mb"] = pss_max / 1024.0;
  if (!std::isnan(temp_max)) m["temp_max_c"] = temp_max;
  if (!std::isnan(r.temp_start_c)) m["temp_start_c"] = r.temp_start_c;
  // Throttling: how far a cluster ended below its peak during the
  // repetition (mean of the last tenth of samples against the maximum), so
  // the ramp-up from idle at the start is not counted as a drop.
  double drop = NAN;
  for (const auto& [k, f] : freq) {
    const double peak = *std::max_element(f.begin(), f.end());
    if (peak <= 0) continue;
    const size_t tail = std::max<size_t>(1, f.size() / 10);
    double end = 0;
    for (size_t i = f.size() - tail; i < f.size(); ++i) end += f[i];
    end /= static_cast<double>(tail);
    const double d = std::max(0.0, 100.0 * (peak - end) / peak);
    drop = std::isnan(drop) ? d : std::max(drop, d);
  }
  if (!std::isnan(drop)) m["freq_drop_pct"] = drop;

  // Energy from the cumulative primary series, interpolated at the
  // boundaries of each phase.
  const auto energy = Series(samples, "energy.primary_j");
  const double e0 = At(energy, r.t_request_ns), e_end = At(energy, r.t_end_ns);
  if (!std::isnan(e0) && !std::isnan(e_end) && r.t_end_ns > r.t_request_ns) {
    const double e = e_end - e0;
    const double secs = static_cast<double>(r.t_end_ns - r.t_request_ns) / 1e9;
    m["energy_j"] = e;
    m["avg_power_w"] = e / secs;
    if (!std::isnan(r.baseline_w)) m["energy_net_j"] = e - r.baseline_w * secs;
    const double p0 = At(energy, r.prefill_t0_ns), p1 = At(energy, r.prefill_t1_ns);
    if (r.n_prompt > 0 && !std::isnan(p0) && !std::isnan(p1))
      m["prefill_mj_per_tok"] = 1000.0 * (p1 - p0) / r.n_prompt;
    if (n_gen >= 2) {
      const double d0 = At(energy, r.token_ns.front()), d1 = At(energy, r.token_ns.back());
      if (!std::isnan(d0) && !std::isnan(d1))
        m["decode_mj_per_tok"] = 1000.0 * (d1 - d0) / (n_gen - 1);
    }
  }
  return m;
}

}  // namespace edgebench::protocol
