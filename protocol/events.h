// protocol/events.h — what the runtime writes on stdout: JSON Lines, one
// event per line, flushed per event. Every event has "ev" (its kind) and
// "t_ns" (CLOCK_MONOTONIC, one clock for the whole stream). The kinds, in the
// order they come:
//
//   hello      runtime version and build, CPU features, device facts,
//              telemetry sources present/absent, pid
//   load       t0_ns, t1_ns, load_ms, model facts, rss_kb, hwm_kb
//   then per repetition of each run:
//   rep_start  run_id, rep, warmup, cooldown {waited_ms, timed_out, temps_c}
//   prefill    run_id, rep, t_request_ns, t0_ns, t1_ns, n
//   decode     run_id, rep, token_ns [one timestamp per generated token]
//   sample     v {"mem.rss_kb": ..., "temp.cpu_c": ..., ...}  (telemetry)
//   rep_end    run_id, rep, warmup, t_end_ns (end of the timed part),
//              t_close_ns (the full telemetry reading that closes the
//              sample window; absent without telemetry), n_prompt,
//              n_gen, n_depth, hwm_kb, baseline_w, metrics {...}; from the
//              command backend: "timing": "external" (the engine's own
//              durations, no prefill/decode events; n_gen counts its timed
//              decode steps), load_ms, total_ms (llama-bench -pg)
//   error      code, message, fatal; run_id and rep when they apply
//   done       status ("ok", "failed", "interrupted"), reps, errors
//
// A repetition is finished when its rep_end is out: everything up to it is
// on the host even if the runtime is killed right after. Samples taken
// during a repetition are written just before its rep_end (not while it
// runs, so writing them never competes with the measurement).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "protocol/rep_metrics.h"

namespace edgebench::protocol {

inline constexpr std::string_view kEventKinds[] = {
    "hello", "load", "rep_start", "prefill", "decode", "sample", "rep_end", "error", "done"};

inline bool IsEventKind(std::string_view k) {
  for (std::string_view e : kEventKinds)
    if (e == k) return true;
  return false;
}

inline nlohmann::json SampleToJson(const Sample& s) {
  nlohmann::json v = nlohmann::json::object();
  for (const auto& [k, x] : s.values) v[k] = x;
  return {{"ev", "sample"}, {"t_ns", s.t_ns}, {"v", v}};
}

inline Result<Sample> SampleFromJson(const nlohmann::json& e) {
  if (!e.is_object() || !e.contains("t_ns") || !e["t_ns"].is_number_integer() ||
      !e.contains("v") || !e["v"].is_object())
    return InvalidArgumentError("sample event needs t_ns and an object v");
  Sample s;
  s.t_ns = e["t_ns"].get<int64_t>();
  for (auto it = e["v"].begin(); it != e["v"].end(); ++it) {
    if (!it.value().is_number())
      return InvalidArgumentError("sample value \"" + it.key() + "\" is not a number");
    s.values.emplace_back(it.key(), it.value().get<double>());
  }
  return s;
}

// The raw timing of one repetition from its prefill and decode events (and
// the cooldown and end facts of rep_start / rep_end).
inline Result<RepTiming> RepTimingFromEvents(const nlohmann::json& rep_start,
                                             const nlohmann::json& prefill,
                                             const nlohmann::json& decode,
                                             const nlohmann::json& rep_end) {
  try {
    RepTiming r;
    r.t_request_ns = prefill.at("t_request_ns").get<int64_t>();
    r.prefill_t0_ns = prefill.at("t0_ns").get<int64_t>();
    r.prefill_t1_ns = prefill.at("t1_ns").get<int64_t>();
    r.n_prompt = prefill.at("n").get<int>();
    r.token_ns = decode.at("token_ns").get<std::vector<int64_t>>();
    r.t_end_ns = rep_end.at("t_end_ns").get<int64_t>();
    if (rep_end.contains("t_close_ns") && rep_end["t_close_ns"].is_number_integer())
      r.t_close_ns = rep_end["t_close_ns"].get<int64_t>();
    const nlohmann::json& c = rep_start.at("cooldown");
    if (c.contains("waited_ms") && c["waited_ms"].is_number())
      r.cooldown_ms = c["waited_ms"].get<double>();
    if (c.contains("max_temp_c") && c["max_temp_c"].is_number())
      r.temp_start_c = c["max_temp_c"].get<double>();
    if (rep_end.contains("hwm_kb") && rep_end["hwm_kb"].is_number())
      r.hwm_kb = rep_end["hwm_kb"].get<double>();
    if (rep_end.contains("baseline_w") && rep_end["baseline_w"].is_number())
      r.baseline_w = rep_end["baseline_w"].get<double>();
    return r;
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError(std::string("malformed repetition events: ") + e.what());
  }
}

}  // namespace edgebench::protocol
