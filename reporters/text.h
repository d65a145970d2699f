// reporters/text.h — a report as Markdown (reads like llama-bench's table),
// CSV (one line per row, four columns per metric) or JSON.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "reporters/report.h"

namespace edgebench::reporters {

// The metrics a report shows when none are asked for.
const std::vector<std::string>& DefaultReportMetrics();

// Checks metric names against protocol/metrics.h; the error lists them.
Status CheckMetricNames(const std::vector<std::string>& metrics);

// Markdown: identity columns (those a row set varies in, plus device and
// model), one column per metric with data ("median [lo, hi]"), n, flags.
std::string RenderMarkdown(const ReportData& data, const std::vector<std::string>& metrics);
// CSV (RFC 4180 quoting): identity columns, then per metric
// <name>_median, <name>_ci_lo, <name>_ci_hi, <name>_n; flags joined by ';'.
std::string RenderCsv(const ReportData& data, const std::vector<std::string>& metrics);
// JSON: {"sweeps": [...], "rows": [{..., "metrics": {name: {n, median, ci_lo,
// ci_hi, mean, sd, cv}}, "flags": [...]}]}.
std::string RenderJson(const ReportData& data, const std::vector<std::string>& metrics);

// "1234", "123.4", "12.35", "1.235": four significant digits, at most two
// decimals for values >= 10.
std::string FormatValue(double v);

// One CSV field, quoted (RFC 4180) when it holds a comma, quote or newline.
std::string CsvField(const std::string& s);
// A Markdown table cell that cannot break the table: '|' escaped, newlines
// as spaces.
std::string MarkdownCell(const std::string& s);

}  // namespace edgebench::reporters
