#include "reporters/html.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol/metrics.h"
#include "reporters/side_by_side.h"
#include "reporters/svg.h"
#include "reporters/text.h"

namespace edgebench::reporters {
namespace {

using svg::AppendEscaped;
using svg::Escape;

constexpr double kChartWidth = 620;   // two charts side by side
constexpr double kWideWidth = 1240;   // a chart across the page
constexpr size_t kTimelineMaxPoints = 4000;
constexpr size_t kCdfPoints = 400;
constexpr size_t kMaxItlLines = 10;

// The summary table's metric columns, in order.
constexpr std::string_view kSummaryMetrics[] = {
    "prefill_tps", "decode_tps",        "ttft_ms",     "itl_p50_ms", "itl_p99_ms",
    "peak_rss_mb", "decode_mj_per_tok", "avg_power_w", "temp_max_c"};

constexpr std::string_view kStyle = R"css(
:root{color-scheme:light}
*{box-sizing:border-box}
body{margin:0;background:#f5f6f8;color:#1f2430;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"DejaVu Sans",sans-serif}
main{max-width:1296px;margin:0 auto;padding:20px 24px 40px}
h1{font-size:24px;margin:0 0 2px;overflow-wrap:anywhere}
h2{font-size:18px;margin:0 0 10px}
a{color:#2f5f8f}
.meta{color:#5b6472;margin:0}
nav{margin:6px 0 0;font-size:13px}
nav a{margin-right:12px}
.counts{display:flex;flex-wrap:wrap;gap:8px;margin:14px 0 0}
.count{background:#fff;border:1px solid #e1e4ea;border-radius:8px;padding:6px 14px;color:#5b6472;font-size:12px}
.count b{display:block;font-size:18px;color:#1f2430;font-variant-numeric:tabular-nums}
section{margin:22px 0 0}
.card{background:#fff;border:1px solid #e1e4ea;border-radius:10px;overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:12.5px}
th,td{padding:5px 7px;border-bottom:1px solid #eceef2;text-align:left;vertical-align:top;white-space:nowrap}
tr:last-child td{border-bottom:0}
th{background:#f0f2f5;font-weight:600;font-size:12px}
th small{display:block;font-weight:400;color:#6b7280}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.wrap{white-space:normal;min-width:140px;max-width:320px;overflow-wrap:anywhere}
.med{font-weight:600}
.ci{display:block;color:#6b7280;font-size:10.5px}
th.metric{white-space:normal;min-width:44px}
td.flags{white-space:normal;min-width:90px;max-width:150px}
th:first-child,td:first-child{position:sticky;left:0;background:#fff;z-index:1}
th:first-child{background:#f0f2f5}
.na{color:#a0a7b3}
tr.failed td{background:#fff6f6}
code{font:12px ui-monospace,"DejaVu Sans Mono",monospace}
.badge{display:inline-block;padding:0 7px;margin:1px 3px 1px 0;border-radius:9px;font-size:11px;font-weight:600;line-height:18px;background:#eef1f6;color:#3b4556}
.badge.warn{background:#fff1d6;color:#7a4300}
.badge.bad{background:#fde6e6;color:#9b1c1c}
.badge.ok{background:#e3f3e8;color:#1c6132}
.chip{display:inline-block;padding:0 6px;margin:1px 3px 1px 0;border:1px solid #dfe3ea;border-radius:4px;font-size:11px;color:#3b4556}
.charts{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:16px}
figure{margin:0;background:#fff;border:1px solid #e1e4ea;border-radius:10px;padding:6px;overflow-x:auto}
figure.wide{grid-column:1/-1}
figcaption{color:#5b6472;font-size:12px;padding:2px 10px 6px}
footer{margin:28px 0 0;color:#8a93a3;font-size:12px}
svg.chart{display:block;max-width:100%;height:auto}
svg.chart .bg{fill:#fff}
svg.chart text{fill:#1f2430;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"DejaVu Sans",sans-serif}
svg.chart .title{font-size:15px;font-weight:600}
svg.chart .panel-title{font-size:13px;font-weight:600}
svg.chart .tick{font-size:11px;fill:#5b6472}
svg.chart .axis-label{font-size:12px;fill:#5b6472}
svg.chart .legend{font-size:12px}
svg.chart .value{font-size:10px;fill:#3b4556}
svg.chart .outer{font-size:12px;font-weight:600}
svg.chart .note{font-size:14px;fill:#7b8494;font-style:italic}
svg.chart .note-small{font-size:11px;fill:#7b8494}
svg.chart .grid{stroke:#e9ecf1}
svg.chart .zero,svg.chart .axis{stroke:#8a93a3}
svg.chart .sep{stroke:#d5d9e0;stroke-dasharray:3 3}
svg.chart .bracket{stroke:#b8bec9}
svg.chart .err{stroke:#1f2430;stroke-width:1.2}
svg.chart .err-line{stroke-width:1.2}
svg.chart .line{fill:none;stroke-width:1.6;stroke-linejoin:round;stroke-linecap:round}
svg.chart .frame{fill:none;stroke:#e9ecf1}
svg.chart .marker{stroke:#fff;stroke-width:1}
@media (max-width:1000px){.charts{grid-template-columns:1fr}}
)css";

std::string Num(int64_t v) { return std::to_string(v); }

// A metric of a row, or nullptr when it was not measured (n = 0) or its
// median is not a number.
const MetricStat* Stat(const ReportRow& row, std::string_view name) {
  auto it = row.metrics.find(std::string(name));
  if (it == row.metrics.end() || it->second.n == 0 || !std::isfinite(it->second.median))
    return nullptr;
  return &it->second;
}

std::string_view Unit(std::string_view metric) {
  const protocol::MetricField* f = protocol::FindMetricField(metric);
  return f == nullptr ? std::string_view() : f->unit;
}

// "25.3 [24.9, 25.8]" with one precision for the median and its interval.
std::string MedianWithCi(const MetricStat& s) {
  int d = svg::DecimalsFor(std::max(std::fabs(s.median), std::fabs(s.ci_hi)));
  d = std::max(d, svg::DecimalsFor(s.median));
  std::string text = svg::FormatFixed(s.median, d);
  if (std::isfinite(s.ci_lo) && std::isfinite(s.ci_hi))
    text += " [" + svg::FormatFixed(s.ci_lo, d) + ", " + svg::FormatFixed(s.ci_hi, d) + "]";
  return text;
}

// The configuration axes, in sort and label order.
struct AxisDef {
  std::string_view name;
  std::string_view prefix;  // in labels: "t4 p512 g128 d0"
  int ReportRow::*field;
};
constexpr AxisDef kAxes[] = {
    {"threads", "t", &ReportRow::threads}, {"n_prompt", "p", &ReportRow::n_prompt},
    {"n_gen", "g", &ReportRow::n_gen},     {"n_depth", "d", &ReportRow::n_depth},
    {"n_batch", "b", &ReportRow::n_batch}, {"n_ctx", "c", &ReportRow::n_ctx}};

// Names rows for charts, mentioning only what differs between them: the
// variant ("llama-3.2-1b Q4_0 · cpu") and the configuration ("t4 p512").
class Labeler {
 public:
  explicit Labeler(const std::vector<ReportRow>& rows) {
    std::set<std::string> quants, backends;
    for (const ReportRow& r : rows) {
      quants.insert(r.quant);
      backends.insert(r.backend);
      if (std::find(devices_.begin(), devices_.end(), r.device) == devices_.end())
        devices_.push_back(r.device);
    }
    show_quant_ = quants.size() > 1;
    show_backend_ = backends.size() > 1;
    for (size_t a = 0; a < std::size(kAxes); ++a) {
      std::set<int> values;
      for (const ReportRow& r : rows) values.insert(r.*kAxes[a].field);
      varies_[a] = values.size() > 1;
    }
    for (const ReportRow& r : rows) {
      std::string v = Variant(r);
      if (std::find(variants_.begin(), variants_.end(), v) == variants_.end())
        variants_.push_back(v);
    }
  }

  std::string Variant(const ReportRow& r) const {
    std::string s = r.model.empty() ? "(model)" : r.model;
    if (show_quant_ && !r.quant.empty()) s += " " + r.quant;
    if (show_backend_ && !r.backend.empty()) s += " · " + r.backend;
    return s;
  }

  // The varying axes of `r` except `except`.
  std::string Config(const ReportRow& r, std::string_view except = {}) const {
    std::string s;
    for (size_t a = 0; a < std::size(kAxes); ++a) {
      if (!varies_[a] || kAxes[a].name == except) continue;
      if (!s.empty()) s += ' ';
      s += kAxes[a].prefix;
      s += std::to_string(r.*kAxes[a].field);
    }
    return s;
  }

  // A sort key: device in order of appearance, then the axes.
  std::vector<int64_t> SortKey(const ReportRow& r) const {
    std::vector<int64_t> key;
    key.push_back(std::find(devices_.begin(), devices_.end(), r.device) - devices_.begin());
    for (const AxisDef& a : kAxes) key.push_back(r.*a.field);
    key.push_back(VariantIndex(r));
    return key;
  }

  size_t VariantIndex(const ReportRow& r) const {
    return static_cast<size_t>(std::find(variants_.begin(), variants_.end(), Variant(r)) -
                               variants_.begin());
  }
  const std::vector<std::string>& variants() const { return variants_; }
  const std::vector<std::string>& devices() const { return devices_; }
  bool any_axis_varies() const {
    return std::any_of(std::begin(varies_), std::end(varies_), [](bool b) { return b; });
  }

 private:
  bool show_quant_ = false, show_backend_ = false;
  bool varies_[std::size(kAxes)] = {};
  std::vector<std::string> devices_;
  std::vector<std::string> variants_;
};

// Row indices ordered by device, configuration, variant.
std::vector<size_t> SortedRows(const std::vector<ReportRow>& rows, const Labeler& lab) {
  std::vector<size_t> order(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) order[i] = i;
  std::vector<std::vector<int64_t>> keys;
  keys.reserve(rows.size());
  for (const ReportRow& r : rows) keys.push_back(lab.SortKey(r));
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return keys[a] < keys[b]; });
  return order;
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string s;
  for (const std::string& p : parts) {
    if (p.empty()) continue;
    if (!s.empty()) s += sep;
    s += p;
  }
  return s;
}

void Figure(std::string& out, std::string_view chart, const std::string& svg_text,
            std::string_view caption, bool wide) {
  out += wide ? "<figure class=\"wide\"" : "<figure";
  out += " id=\"chart-";
  out += chart;
  out += "\">";
  out += svg_text;
  if (!caption.empty()) {
    out += "<figcaption>";
    AppendEscaped(out, caption);
    out += "</figcaption>";
  }
  out += "</figure>\n";
}

// ---- Charts ---------------------------------------------------------------

// Bars of one metric: a group per device × configuration, a bar per variant.
std::string MetricBars(const std::vector<ReportRow>& rows, const Labeler& lab,
                       std::string_view id, std::string_view title, std::string_view metric,
                       std::string_view y_label, std::string_view empty_note) {
  svg::BarChart chart;
  chart.id = std::string(id);
  chart.title = std::string(title);
  chart.y_label = std::string(y_label);
  chart.series = lab.variants();
  chart.empty_note = std::string(empty_note);
  chart.width = kChartWidth;
  std::map<std::pair<std::string, std::string>, size_t> group_of;
  std::string_view unit = Unit(metric);
  for (size_t i : SortedRows(rows, lab)) {
    const ReportRow& r = rows[i];
    const MetricStat* s = Stat(r, metric);
    if (s == nullptr) continue;
    std::string config = lab.Config(r);
    auto [it, inserted] = group_of.try_emplace({r.device, config}, chart.groups.size());
    if (inserted) {
      svg::BarGroup g;
      g.label = config;
      g.outer = r.device;
      g.bars.resize(chart.series.size(), svg::Bar{.value = NAN});
      chart.groups.push_back(std::move(g));
    }
    svg::Bar& bar = chart.groups[it->second].bars[lab.VariantIndex(r)];
    if (std::isfinite(bar.value)) continue;  // rows differing only in what labels omit
    bar.value = s->median;
    bar.ci_lo = s->ci_lo;
    bar.ci_hi = s->ci_hi;
    bar.tooltip = Join({r.device, lab.Variant(r), config}, " · ") + ": " + MedianWithCi(*s) +
                  " " + std::string(unit) + ", n=" + std::to_string(s->n);
  }
  return svg::RenderBarChart(chart);
}

// A metric against one axis (n_prompt, n_depth): a line per device ×
// variant × the other axes, with CI whiskers.
std::string MetricVsAxis(const std::vector<ReportRow>& rows, const Labeler& lab,
                         std::string_view id, std::string_view title, std::string_view metric,
                         std::string_view axis, std::string_view x_label,
                         std::string_view y_label, std::string* caption) {
  int ReportRow::*field = nullptr;
  for (const AxisDef& a : kAxes)
    if (a.name == axis) field = a.field;
  struct Pt {
    double x;
    const MetricStat* s;
  };
  std::vector<std::string> keys;
  std::map<std::string, std::vector<Pt>> lines;
  std::map<std::string, size_t> color;
  std::string_view unit = Unit(metric);
  for (size_t i : SortedRows(rows, lab)) {
    const ReportRow& r = rows[i];
    const MetricStat* s = Stat(r, metric);
    if (s == nullptr) continue;
    std::string key = Join({r.device, lab.Variant(r), lab.Config(r, axis)}, " · ");
    if (!lines.count(key)) keys.push_back(key);
    lines[key].push_back({static_cast<double>(r.*field), s});
  }
  bool any_multi = std::any_of(lines.begin(), lines.end(),
                               [](const auto& kv) { return kv.second.size() > 1; });
  svg::LinePanel panel;
  panel.y_label = std::string(y_label);
  panel.y_from_zero = true;
  size_t dropped = 0;
  for (const std::string& key : keys) {
    std::vector<Pt>& pts = lines[key];
    if (any_multi && pts.size() < 2) {
      ++dropped;
      continue;
    }
    std::stable_sort(pts.begin(), pts.end(), [](const Pt& a, const Pt& b) { return a.x < b.x; });
    svg::Line line;
    line.label = key;
    for (const Pt& p : pts) {
      line.x.push_back(p.x);
      line.y.push_back(p.s->median);
      line.y_lo.push_back(p.s->ci_lo);
      line.y_hi.push_back(p.s->ci_hi);
      line.tooltips.push_back(key + " · " + std::string(axis) + "=" +
                              svg::FormatNumber(p.x) + ": " + MedianWithCi(*p.s) + " " +
                              std::string(unit) + ", n=" + std::to_string(p.s->n));
    }
    panel.lines.push_back(std::move(line));
  }
  if (dropped > 0 && caption != nullptr)
    *caption += " " + std::to_string(dropped) + " configuration" + (dropped == 1 ? "" : "s") +
                " with a single " + std::string(axis) + " value left out.";
  svg::LineChart chart;
  chart.id = std::string(id);
  chart.title = std::string(title);
  chart.x_label = std::string(x_label);
  chart.width = kChartWidth;
  chart.panel_height = 230;
  chart.panels.push_back(std::move(panel));
  return svg::RenderLineChart(chart);
}

double SortedQuantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return NAN;
  double pos = q * static_cast<double>(sorted.size() - 1);
  size_t i = static_cast<size_t>(pos);
  if (i + 1 >= sorted.size()) return sorted.back();
  double f = pos - static_cast<double>(i);
  return sorted[i] * (1 - f) + sorted[i + 1] * f;
}

// Empirical CDFs of inter-token latency: a line per device × variant ×
// configuration, or pooled over configurations when that gives too many.
std::string ItlChart(const std::vector<ReportRow>& rows, const Labeler& lab,
                     std::string* caption) {
  auto collect = [&](bool with_config) {
    std::vector<std::pair<std::string, std::vector<double>>> groups;
    for (size_t i : SortedRows(rows, lab)) {
      const ReportRow& r = rows[i];
      std::string key = Join({r.device, lab.Variant(r), with_config ? lab.Config(r) : ""}, " · ");
      auto it = std::find_if(groups.begin(), groups.end(),
                             [&](const auto& g) { return g.first == key; });
      bool any = false;
      for (double v : r.itl_ms) any = any || (std::isfinite(v) && v >= 0);
      if (!any) continue;
      if (it == groups.end()) {
        groups.push_back({key, {}});
        it = groups.end() - 1;
      }
      for (double v : r.itl_ms)
        if (std::isfinite(v) && v >= 0) it->second.push_back(v);
    }
    return groups;
  };
  auto groups = collect(true);
  if (groups.size() > kMaxItlLines && lab.any_axis_varies()) {
    groups = collect(false);
    *caption += " Configurations pooled per device and model.";
  }
  svg::LinePanel panel;
  panel.y_label = "fraction of tokens";
  panel.y_from_zero = true;
  std::vector<double> all;
  for (auto& [key, values] : groups) {
    std::sort(values.begin(), values.end());
    all.insert(all.end(), values.begin(), values.end());
    svg::Line line;
    line.label = key + " (" + std::to_string(values.size()) + " tokens, p50 " +
                 svg::FormatNumber(SortedQuantile(values, 0.5)) + " ms, p99 " +
                 svg::FormatNumber(SortedQuantile(values, 0.99)) + " ms)";
    line.markers = false;
    size_t n = values.size();
    size_t k = std::min(n, kCdfPoints);
    line.x.push_back(values.front());
    line.y.push_back(0);
    for (size_t j = 1; j <= k; ++j) {
      // The j-th of k evenly spaced ranks: a step CDF, thinned.
      size_t rank = std::max<size_t>(1, (j * n + k - 1) / k);
      line.x.push_back(values[rank - 1]);
      line.y.push_back(static_cast<double>(rank) / static_cast<double>(n));
    }
    panel.lines.push_back(std::move(line));
  }
  if (!all.empty()) {
    std::sort(all.begin(), all.end());
    double p995 = SortedQuantile(all, 0.995);
    if (all.back() > p995 * 1.5 && p995 > 0) panel.x_max = p995 * 1.1;
  }
  svg::LineChart chart;
  chart.id = "itl_distribution";
  chart.title = "Inter-token latency distribution (CDF)";
  chart.x_label = "inter-token latency (ms)";
  chart.width = kWideWidth;
  chart.panel_height = 260;
  chart.panels.push_back(std::move(panel));
  return svg::RenderLineChart(chart);
}

std::pair<std::string, std::string> SeriesTitle(const std::string& name) {
  if (name == "temp_c") return {"Temperature", "°C"};
  if (name == "freq_mhz") return {"CPU frequency", "MHz"};
  if (name == "power_w") return {"Power", "W"};
  return {name, name};
}

std::string TimelineChart(const std::vector<Series>& timeline) {
  std::vector<std::string> names;
  for (const Series& s : timeline)
    if (std::find(names.begin(), names.end(), s.name) == names.end()) names.push_back(s.name);
  auto rank = [](const std::string& n) {
    return n == "temp_c" ? 0 : n == "freq_mhz" ? 1 : n == "power_w" ? 2 : 3;
  };
  std::stable_sort(names.begin(), names.end(), [&](const std::string& a, const std::string& b) {
    return std::make_pair(rank(a), a) < std::make_pair(rank(b), b);
  });
  svg::LineChart chart;
  chart.id = "timeline";
  chart.title = "Telemetry across the sweep";
  chart.x_label = "seconds since the series' first sample";
  chart.width = kWideWidth;
  chart.panel_height = 180;
  chart.max_points = kTimelineMaxPoints;
  for (const std::string& name : names) {
    svg::LinePanel panel;
    auto [title, unit] = SeriesTitle(name);
    panel.title = title;
    panel.y_label = unit;
    panel.y_from_zero = name == "power_w" || name == "freq_mhz";
    for (const Series& s : timeline) {
      if (s.name != name) continue;
      svg::Line line;
      line.label = s.label.empty() ? Join({s.device, s.name}, " ") : s.label;
      line.markers = false;
      line.x = s.t_s;
      line.y = s.value;
      panel.lines.push_back(std::move(line));
    }
    chart.panels.push_back(std::move(panel));
  }
  return svg::RenderLineChart(chart);
}

// ---- Page parts -------------------------------------------------------------

std::string_view FlagClass(std::string_view flag) {
  if (flag == "failed" || flag == "asserts" || flag == "sanitizers" || flag == "debug")
    return "bad";
  if (flag == "noisy" || flag == "throttled") return "warn";
  return "info";
}

// Sweep statuses as store/store.h names them.
std::string_view StatusClass(std::string_view status) {
  if (status == "completed") return "ok";
  if (status == "failed") return "bad";
  return "warn";  // running, interrupted
}

void Badge(std::string& out, std::string_view css_class, std::string_view text) {
  out += "<span class=\"badge ";
  out += css_class;
  out += "\">";
  AppendEscaped(out, text);
  out += "</span>";
}

void Labels(std::string& out, const std::string& labels_json) {
  if (labels_json.empty()) return;
  nlohmann::json j = nlohmann::json::parse(labels_json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    out += "<code>";
    AppendEscaped(out, labels_json);
    out += "</code>";
    return;
  }
  for (const auto& [key, value] : j.items()) {
    std::string v = value.is_string()
                        ? value.get<std::string>()
                        : value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out += "<span class=\"chip\">";
    AppendEscaped(out, key);
    out += '=';
    AppendEscaped(out, v);
    out += "</span>";
  }
}

void Td(std::string& out, std::string_view text, std::string_view css_class = {}) {
  out += css_class.empty() ? "<td>" : "<td class=\"" + std::string(css_class) + "\">";
  AppendEscaped(out, text);
  out += "</td>";
}

// A cell with the first `shown` characters of a long id; the whole id on
// hover.
void ShortCodeTd(std::string& out, std::string_view id, size_t shown) {
  out += "<td><code title=\"";
  AppendEscaped(out, id);
  out += "\">";
  AppendEscaped(out, id.substr(0, shown));
  out += "</code></td>";
}

void Header(std::string& out, const ReportData& data, const HtmlOptions& options) {
  out += "<header><h1>";
  AppendEscaped(out, options.title);
  out += "</h1><p class=\"meta\">";
  if (!options.generated_at.empty()) {
    out += "Generated ";
    AppendEscaped(out, options.generated_at);
    out += " · ";
  }
  out += "medians of measured repetitions (warmups excluded) with 95% bootstrap "
         "confidence intervals</p><nav><a href=\"#summary\">Summary</a>"
         "<a href=\"#charts\">Charts</a><a href=\"#sweeps\">Sweeps</a></nav>";
  std::set<std::string> devices, models;
  for (const ReportRow& r : data.rows) {
    devices.insert(r.device);
    models.insert(r.model);
  }
  std::pair<std::string, int64_t> counts[] = {
      {"sweeps", static_cast<int64_t>(data.sweeps.size())},
      {"rows", static_cast<int64_t>(data.rows.size())},
      {"devices", static_cast<int64_t>(devices.size())},
      {"models", static_cast<int64_t>(models.size())},
      {"repetitions", data.reps},
      {"telemetry samples", data.samples}};
  out += "<div class=\"counts\">";
  for (const auto& [name, n] : counts)
    out += "<div class=\"count\"><b>" + Num(n) + "</b>" + name + "</div>";
  out += "</div></header>\n";
}

void SweepsTable(std::string& out, const ReportData& data) {
  out += "<section id=\"sweeps\"><h2>Sweeps</h2><div class=\"card\">";
  if (data.sweeps.empty()) {
    out += "<table><tr><td class=\"na\">no sweeps</td></tr></table></div></section>\n";
    return;
  }
  out += "<table><thead><tr><th>sweep</th><th>name</th><th>status</th><th>started</th>"
         "<th>commit</th><th>labels</th></tr></thead><tbody>";
  for (const SweepInfo& s : data.sweeps) {
    out += "<tr>";
    ShortCodeTd(out, s.uuid, 8);
    Td(out, s.name);
    out += "<td>";
    Badge(out, StatusClass(s.status), s.status.empty() ? "?" : s.status);
    out += "</td>";
    Td(out, s.started_at);
    ShortCodeTd(out, s.git_commit, 12);
    out += "<td class=\"wrap\">";
    Labels(out, s.labels_json);
    out += "</td></tr>";
  }
  out += "</tbody></table></div></section>\n";
}

// A metric or axis name that may wrap after its underscores (narrow headers).
void AppendBreakable(std::string& out, std::string_view name) {
  for (char c : name) {
    out += c;
    if (c == '_') out += "<wbr>";
  }
}

void StatCell(std::string& out, const ReportRow& row, std::string_view metric) {
  const MetricStat* s = Stat(row, metric);
  if (s == nullptr) {
    out += "<td class=\"num na\">–</td>";
    return;
  }
  int d = svg::DecimalsFor(s->median);
  std::string tip = "mean " + svg::FormatFixed(s->mean, d) + ", sd " +
                    svg::FormatFixed(s->sd, d + 1) + ", cv " +
                    svg::FormatFixed(s->cv * 100, 1) + "%";
  out += "<td class=\"num\" title=\"" + tip + "\"><span class=\"med\">";
  out += svg::FormatFixed(s->median, d);
  out += "</span> <span class=\"ci\">";
  if (std::isfinite(s->ci_lo) && std::isfinite(s->ci_hi))
    out += "[" + svg::FormatFixed(s->ci_lo, d) + ", " + svg::FormatFixed(s->ci_hi, d) + "] ";
  out += "(" + std::to_string(s->n) + ")</span></td>";
}

void SummaryTable(std::string& out, const ReportData& data) {
  out += "<section id=\"summary\"><h2>Summary</h2><div class=\"card\">";
  if (data.rows.empty()) {
    out += "<table><tr><td class=\"na\">no data: the selection holds no runs</td></tr>"
           "</table></div></section>\n";
    return;
  }
  out += "<table><thead><tr><th>device</th><th>model</th><th>quant</th><th>backend</th>";
  for (std::string_view axis : {"threads", "n_prompt", "n_gen", "n_depth"}) {
    out += "<th class=\"num metric\">";
    AppendBreakable(out, axis);
    out += "</th>";
  }
  out += "<th>flags</th>";
  for (std::string_view metric : kSummaryMetrics) {
    const protocol::MetricField* f = protocol::FindMetricField(metric);
    out += "<th class=\"num metric\"";
    if (f != nullptr) {
      out += " title=\"";
      AppendEscaped(out, f->description);
      out += '"';
    }
    out += '>';
    AppendBreakable(out, metric);
    if (f != nullptr) {
      out += "<small>";
      AppendEscaped(out, f->unit.empty() ? "" : f->unit);
      if (f->better == protocol::Better::kHigher) out += " ↑";
      if (f->better == protocol::Better::kLower) out += " ↓";
      out += "</small>";
    }
    out += "</th>";
  }
  out += "</tr></thead><tbody>\n";
  for (const ReportRow& r : data.rows) {
    bool failed = std::find(r.flags.begin(), r.flags.end(), "failed") != r.flags.end();
    out += failed ? "<tr class=\"failed\">" : "<tr>";
    out += "<td title=\"";
    AppendEscaped(out, r.device_key);
    out += "\">";
    AppendEscaped(out, r.device);
    out += "</td>";
    std::string model_tip;
    if (r.model_params > 0) model_tip += svg::FormatNumber(static_cast<double>(r.model_params) / 1e9) + "B params";
    if (r.model_bytes > 0)
      model_tip += (model_tip.empty() ? "" : ", ") +
                   svg::FormatNumber(static_cast<double>(r.model_bytes) / (1024.0 * 1024.0)) + " MiB";
    out += "<td title=\"" + Escape(model_tip) + "\">";
    AppendEscaped(out, r.model);
    out += "</td>";
    Td(out, r.quant);
    Td(out, r.backend);
    for (int v : {r.threads, r.n_prompt, r.n_gen, r.n_depth}) Td(out, std::to_string(v), "num");
    out += "<td class=\"flags\">";
    for (const std::string& flag : r.flags) Badge(out, FlagClass(flag), flag);
    out += "</td>";
    for (std::string_view metric : kSummaryMetrics) StatCell(out, r, metric);
    out += "</tr>\n";
  }
  out += "</tbody></table></div></section>\n";
}

// The engines side by side (side_by_side.h): medians and ratios as the
// Markdown table prints them (FormatValue), each with its CI.
void SideBySideSection(std::string& out, const SideBySide& v) {
  out += "<section id=\"side-by-side\"><h2>Side by side: ";
  AppendEscaped(out, v.field);
  out += "</h2><div class=\"card\">";
  if (v.rows.empty()) {
    out += "<table><tr><td class=\"na\">no data: the selection holds no runs</td></tr>"
           "</table></div></section>\n";
    return;
  }
  const SideBySideTable t = ShownSideBySideTable(v);
  out += "<table><thead><tr>";
  for (size_t i = 0; i < t.titles.size(); ++i) {
    out += t.numeric[i] ? "<th class=\"num metric\">" : "<th>";
    AppendEscaped(out, t.titles[i]);
    out += "</th>";
  }
  out += "</tr></thead><tbody>\n";
  for (const std::vector<SideBySideCell>& row : t.rows) {
    out += "<tr>";
    for (size_t i = 0; i < row.size(); ++i) {
      const SideBySideCell& c = row[i];
      if (c.missing) {
        out += "<td class=\"num na\">";
        AppendEscaped(out, c.text);
        out += "</td>";
      } else if (c.median != nullptr) {
        out += "<td class=\"num\"><span class=\"med\">" + FormatValue(c.median->median) +
               "</span> <span class=\"ci\">[" + FormatValue(c.median->ci_lo) + ", " +
               FormatValue(c.median->ci_hi) + "] (" + std::to_string(c.median->n) +
               ")</span></td>";
      } else if (c.ratio != nullptr) {
        out += "<td class=\"num\"><span class=\"med\">" + FormatValue(c.ratio->ratio) +
               "</span> <span class=\"ci\">[" + FormatValue(c.ratio->lo) + ", " +
               FormatValue(c.ratio->hi) + "]</span></td>";
      } else {
        out += t.numeric[i] ? "<td class=\"num\">" : "<td>";
        AppendEscaped(out, c.text);
        out += "</td>";
      }
    }
    out += "</tr>\n";
  }
  out += "</tbody></table></div></section>\n";
}

void Charts(std::string& out, const ReportData& data) {
  const Labeler lab(data.rows);
  const std::vector<ReportRow>& rows = data.rows;
  std::string legend_note =
      lab.any_axis_varies()
          ? " Configurations: t threads, p prompt tokens, g generated tokens, d context depth, "
            "b batch, c context size."
          : "";
  out += "<section id=\"charts\"><h2>Charts</h2><div class=\"charts\">\n";

  Figure(out, "decode_tps",
         MetricBars(rows, lab, "decode_tps", "Decode throughput (tok/s)", "decode_tps",
                    "tok/s", "no data"),
         "Median decode tokens per second; error bars: 95% CI. Higher is better." + legend_note,
         false);
  Figure(out, "prefill_tps",
         MetricBars(rows, lab, "prefill_tps", "Prefill throughput (tok/s)", "prefill_tps",
                    "tok/s", "no data"),
         "Median prompt tokens per second; error bars: 95% CI. Higher is better." + legend_note,
         false);

  std::string caption = "Median time to first token against prompt length; whiskers: 95% CI.";
  std::string svg_text =
      MetricVsAxis(rows, lab, "ttft_vs_prompt", "Time to first token vs prompt length",
                   "ttft_ms", "n_prompt", "prompt tokens (n_prompt)", "ms", &caption);
  Figure(out, "ttft_vs_prompt", svg_text, caption, false);

  caption = "Median decode tokens per second against context depth; whiskers: 95% CI.";
  svg_text = MetricVsAxis(rows, lab, "tps_vs_depth", "Decode throughput vs context depth",
                          "decode_tps", "n_depth", "context depth (n_depth)", "tok/s", &caption);
  Figure(out, "tps_vs_depth", svg_text, caption, false);

  bool any_energy = std::any_of(rows.begin(), rows.end(), [](const ReportRow& r) {
    return Stat(r, "decode_mj_per_tok") != nullptr;
  });
  caption = "Median decode energy per generated token; error bars: 95% CI. Lower is better.";
  if (any_energy) {
    std::vector<std::string> without;
    for (const std::string& device : lab.devices()) {
      bool has = std::any_of(rows.begin(), rows.end(), [&](const ReportRow& r) {
        return r.device == device && Stat(r, "decode_mj_per_tok") != nullptr;
      });
      if (!has) without.push_back(device);
    }
    if (!without.empty()) caption += " No power measured on: " + Join(without, ", ") + ".";
  } else if (!rows.empty()) {
    caption += " No power meter was read for any run.";
  }
  Figure(out, "energy_per_token",
         MetricBars(rows, lab, "energy_per_token", "Decode energy per token (mJ/tok)",
                    "decode_mj_per_tok", "mJ/tok",
                    rows.empty() ? "no data" : "no power measured"),
         caption, false);

  Figure(out, "peak_memory",
         MetricBars(rows, lab, "peak_memory", "Peak memory (RSS, MiB)", "peak_rss_mb", "MiB",
                    "no data"),
         "Median peak resident set size (VmHWM) per repetition. Lower is better.", false);

  caption = "Fraction of inter-token latencies at or below x, all measured repetitions.";
  svg_text = ItlChart(rows, lab, &caption);
  Figure(out, "itl_distribution", svg_text, caption, true);

  Figure(out, "timeline", TimelineChart(data.timeline),
         "Telemetry samples across the sweep, per device and source (series longer than "
         "4000 points keep each bucket's minimum and maximum).",
         true);
  out += "</div></section>\n";
}

}  // namespace

std::string RenderHtml(const ReportData& data, const HtmlOptions& options) {
  std::string out;
  size_t points = 0;
  for (const Series& s : data.timeline) points += std::min(s.t_s.size(), kTimelineMaxPoints);
  out.reserve(64 * 1024 + data.rows.size() * 4096 + points * 14);
  out += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         // Nothing to load, nothing to run: a label that slipped past the
         // escaping still could not execute or fetch anything.
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
         "style-src 'unsafe-inline'; img-src data:\">"
         "<meta name=\"generator\" content=\"edgebench\"><title>";
  AppendEscaped(out, options.title);
  out += "</title><style>";
  out += kStyle;
  out += "</style></head>\n<body><main>\n";
  Header(out, data, options);
  SummaryTable(out, data);
  if (options.side_by_side != nullptr) SideBySideSection(out, *options.side_by_side);
  Charts(out, data);
  SweepsTable(out, data);
  out += "<footer>edgebench · a self-contained page: no scripts, nothing loaded from the "
         "network</footer>\n</main></body></html>\n";
  return out;
}

}  // namespace edgebench::reporters
