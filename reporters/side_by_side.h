// reporters/side_by_side.h — two (or more) engines side by side: the rows of
// a report that differ only in one field (the backend) merged into one row
// per configuration, with each side's median per metric and the ratio of
// the first side's median to each other side's, with its 95% bootstrap CI
// (the one `compare` computes, stats.h BootstrapMedianRatio).
//
//   | device | model | quant | threads | ... | decode_tps native (tok/s) |
//   decode_tps llamacpp (tok/s) | decode_tps native/llamacpp | ...
//
// A configuration that one side did not run (or did not measure a metric
// for) shows that side as missing ("—") and no ratio. Markdown, CSV, JSON
// and the HTML section (html.cc) are rendered from one table of columns.
//
// Thread-safety: values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "reporters/report.h"
#include "reporters/stats.h"

namespace edgebench::reporters {

// The fields a side-by-side view can split on: "backend".
const std::vector<std::string>& SideBySideFields();

// prefill_tps, decode_tps, ttft_ms, peak_rss_mb, decode_mj_per_tok (each
// shown only where measured).
const std::vector<std::string>& DefaultSideBySideMetrics();

struct SideBySideOptions {
  std::string field = "backend";
  std::vector<std::string> metrics = DefaultSideBySideMetrics();
  uint64_t seed = 1;      // bootstrap of the ratios
  int resamples = 1000;
};

// One metric of one merged row.
struct SideBySideMetric {
  std::vector<MetricStat> sides;  // per side (SideBySide::sides); n = 0: missing
  // Per other side k: median(sides[0]) / median(sides[k + 1]) and its CI;
  // NAN when either side is missing.
  std::vector<RatioCi> ratios;
};

struct SideBySideRow {
  // The configuration (device, model, quant, axes); the split field is
  // empty, metrics and values are not kept.
  ReportRow config;
  std::vector<bool> present;                   // per side: a row of it was merged
  std::vector<std::vector<std::string>> flags;  // per side: its row's flags
  std::vector<SideBySideMetric> metrics;       // as SideBySide::metrics
};

struct SideBySide {
  std::string field;               // "backend"
  // The field's values in the order rows first show them, "native" first
  // when the field is the backend and native ran.
  std::vector<std::string> sides;
  std::vector<std::string> metrics;  // the asked-for metrics that some side measured
  std::vector<SideBySideRow> rows;   // in the order configurations first appear
  std::vector<SweepInfo> sweeps;
  int64_t reps = 0;
};

// Merges `data`'s rows by PairKey(row, options.field). kInvalidArgument for
// a field not in SideBySideFields() or a metric protocol/metrics.h does not
// know, and when a row pools several values of the field (a --group-by
// that leaves it out: it reads "*").
Result<SideBySide> MakeSideBySide(const ReportData& data, const SideBySideOptions& options = {});

// "native/llamacpp": the ratio column's direction, for other side k.
std::string RatioName(const SideBySide& view, size_t k);

// Markdown: identity columns (device, model, quant, threads, n_prompt,
// n_gen always; n_depth, n_batch, n_ctx where they vary), per metric one
// median column per side and one ratio column per other side
// ("ratio [lo, hi]"), n per side and flags (a flag of every side once, one
// of some sides as "side: flag").
std::string RenderSideBySideMarkdown(const SideBySide& view);
// CSV (RFC 4180): every identity column; per metric and side
// <metric>_<side>_median, <metric>_<side>_n; per ratio <metric>_<a>_over_<b>,
// ..._ci_lo, ..._ci_hi (empty when missing); flags.
std::string RenderSideBySideCsv(const SideBySide& view);
// JSON: {"field", "sides", "ratios", "metrics", "sweeps", "rows": [{identity,
// "<metric>_<side>": {n, median, ci_lo, ci_hi} | null,
// "<metric>_<a>_over_<b>": {ratio, ci_lo, ci_hi} | null, "flags": {side: [...]}}]}.
std::string RenderSideBySideJson(const SideBySide& view);
// The table Markdown shows and the HTML page (html.h) renders: the shown
// columns' titles and alignment, and per row one cell per column.
struct SideBySideCell {
  std::string text;                    // as Markdown shows it, unescaped
  const MetricStat* median = nullptr;  // a median column's measured side
  const RatioCi* ratio = nullptr;      // a ratio column with both sides measured
  bool missing = false;                // a median or ratio not measured ("—")
};
struct SideBySideTable {
  std::vector<std::string> titles;
  std::vector<bool> numeric;  // per column: right-aligned
  std::vector<std::vector<SideBySideCell>> rows;
};
// The cells' median and ratio point into `view`, which must outlive the table.
SideBySideTable ShownSideBySideTable(const SideBySide& view);

}  // namespace edgebench::reporters
