// protocol/metrics.h — the one table of metric fields.
//
// Every measured quantity is declared here once: its name (the key in the
// runtime's `rep_end` event, the column in the store, the column header in
// every report), its type, unit, and which direction is better. The store
// builds its columns from this table and reporters render from it, so adding
// a metric is one line below (the store adds the column on next open).
//
// Definitions follow DESIGN.md "Metrics"; one definition for every backend.
// Thread-safety: constant data.
#pragma once

#include <span>
#include <string_view>

namespace edgebench::protocol {

enum class FieldType { kInt, kReal };
enum class Better { kHigher, kLower, kNone };
// kRun: measured once per run (a run = one configuration on one device).
// kRep: measured once per repetition.
enum class Scope { kRun, kRep };

struct MetricField {
  std::string_view name;  // snake_case, unit suffix: a valid SQL identifier
  FieldType type;
  std::string_view unit;  // "ms", "tok/s", "MiB", "J", "mJ/tok", "W", "C", "%"
  Better better;
  Scope scope;
  std::string_view description;
};

inline constexpr MetricField kMetricFields[] = {
    // name                type               unit      better           scope
    {"load_ms",            FieldType::kReal, "ms",     Better::kLower,  Scope::kRun,
     "model open to ready for the first token"},
    {"ttft_ms",            FieldType::kReal, "ms",     Better::kLower,  Scope::kRep,
     "request start (tokenization included) to the first generated token"},
    {"prefill_ms",         FieldType::kReal, "ms",     Better::kLower,  Scope::kRep,
     "duration of prompt processing"},
    {"prefill_tps",        FieldType::kReal, "tok/s",  Better::kHigher, Scope::kRep,
     "n_prompt / prefill seconds"},
    {"decode_tps",         FieldType::kReal, "tok/s",  Better::kHigher, Scope::kRep,
     "(n_gen - 1) / (t_last_token - t_first_token)"},
    {"itl_p50_ms",         FieldType::kReal, "ms",     Better::kLower,  Scope::kRep,
     "inter-token latency, median"},
    {"itl_p90_ms",         FieldType::kReal, "ms",     Better::kLower,  Scope::kRep,
     "inter-token latency, 90th percentile"},
    {"itl_p99_ms",         FieldType::kReal, "ms",     Better::kLower,  Scope::kRep,
     "inter-token latency, 99th percentile"},
    {"peak_rss_mb",        FieldType::kReal, "MiB",    Better::kLower,  Scope::kRep,
     "VmHWM at the end of the repetition, in MiB"},
    {"pss_mb",             FieldType::kReal, "MiB",    Better::kLower,  Scope::kRep,
     "sampled peak of proportional set size (smaps_rollup), in MiB"},
    {"energy_j",           FieldType::kReal, "J",      Better::kLower,  Scope::kRep,
     "energy over the repetition"},
    {"energy_net_j",       FieldType::kReal, "J",      Better::kLower,  Scope::kRep,
     "energy minus the idle baseline measured before the run"},
    {"prefill_mj_per_tok", FieldType::kReal, "mJ/tok", Better::kLower,  Scope::kRep,
     "prefill energy per prompt token"},
    {"decode_mj_per_tok",  FieldType::kReal, "mJ/tok", Better::kLower,  Scope::kRep,
     "decode energy per generated token"},
    {"avg_power_w",        FieldType::kReal, "W",      Better::kLower,  Scope::kRep,
     "mean power over the repetition"},
    {"temp_start_c",       FieldType::kReal, "C",      Better::kNone,   Scope::kRep,
     "hottest thermal zone at repetition start"},
    {"temp_max_c",         FieldType::kReal, "C",      Better::kLower,  Scope::kRep,
     "hottest thermal zone during the repetition"},
    {"freq_drop_pct",      FieldType::kReal, "%",      Better::kLower,  Scope::kRep,
     "largest drop of a cluster's frequency below its start value (throttling)"},
    {"cooldown_ms",        FieldType::kReal, "ms",     Better::kNone,   Scope::kRep,
     "time waited for thermal zones to cool before the repetition"},
    {"perplexity",         FieldType::kReal, "",       Better::kLower,  Scope::kRun,
     "perplexity on the quality suite, same artifact as timed"},
    {"accuracy_pct",       FieldType::kReal, "%",      Better::kHigher, Scope::kRun,
     "task accuracy on the quality suite"},
};

inline constexpr std::span<const MetricField> MetricFields() {
  return kMetricFields;
}

// Returns the field named `name`, or nullptr.
inline constexpr const MetricField* FindMetricField(std::string_view name) {
  for (const MetricField& f : kMetricFields)
    if (f.name == name) return &f;
  return nullptr;
}

inline constexpr std::string_view BetterName(Better b) {
  switch (b) {
    case Better::kHigher: return "higher";
    case Better::kLower: return "lower";
    case Better::kNone: return "none";
  }
  return "none";
}

}  // namespace edgebench::protocol
