// reporters/html.h — the self-contained HTML report: one page with a header
// (sweeps, counts), a summary table (median [95% CI] (n) per metric, flags as
// badges) and eight inline SVG charts (decode and prefill throughput, TTFT
// against prompt length, decode throughput against context depth, energy
// per token, peak memory, inter-token latency distribution, and the
// telemetry timeline), and, when asked, a side-by-side table of backends
// (side_by_side.h) after the summary.
//
// The page loads nothing and runs nothing: no scripts, no external fonts or
// images, and a Content-Security-Policy that forbids both, so it can be
// mailed, archived as a CI artifact or opened from file://. All user text
// (device names, model labels, sweep labels) is escaped. Each chart is an
// <svg class="chart" data-chart="NAME">, NAME one of kHtmlCharts.
//
// Thread-safety: RenderHtml is a pure function of its arguments.
#pragma once

#include <string>
#include <string_view>

#include "reporters/report.h"

namespace edgebench::reporters {

struct SideBySide;

struct HtmlOptions {
  std::string title = "edgebench report";
  std::string generated_at;  // ISO 8601 time, shown in the header; may be empty
  // Shown after the summary when set; must outlive the RenderHtml call.
  const SideBySide* side_by_side = nullptr;
};

// The data-chart names of the page's charts, in page order.
inline constexpr std::string_view kHtmlCharts[] = {
    "decode_tps",      "prefill_tps", "ttft_vs_prompt",   "tps_vs_depth",
    "energy_per_token", "peak_memory", "itl_distribution", "timeline"};

// The whole page. Charts with nothing to draw say so ("no data"); NaN and
// infinite values are left out. Linear in the size of `data`; timeline
// series longer than 4000 points are reduced by min/max bucketing.
std::string RenderHtml(const ReportData& data, const HtmlOptions& options = {});

}  // namespace edgebench::reporters
