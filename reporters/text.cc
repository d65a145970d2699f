#include "reporters/text.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "protocol/metrics.h"

namespace edgebench::reporters {
namespace {

using nlohmann::json;

// Identity columns, in order, with how to read them from a row.
struct IdColumn {
  const char* name;
  std::string (*get)(const ReportRow&);
  bool numeric;
};

std::string Num(int64_t v) { return v < 0 ? "*" : std::to_string(v); }

std::string Bytes(int64_t b) {
  if (b < 0) return "*";
  if (b == 0) return "";
  char buf[32];
  const double mib = static_cast<double>(b) / (1 << 20);
  if (mib >= 1024)
    std::snprintf(buf, sizeof buf, "%.2f GiB", mib / 1024);
  else
    std::snprintf(buf, sizeof buf, "%.1f MiB", mib);
  return buf;
}

const IdColumn kIdColumns[] = {
    {"device", [](const ReportRow& r) { return r.device; }, false},
    {"model", [](const ReportRow& r) { return r.model; }, false},
    {"quant", [](const ReportRow& r) { return r.quant; }, false},
    {"size", [](const ReportRow& r) { return Bytes(r.model_bytes); }, true},
    {"backend", [](const ReportRow& r) { return r.backend; }, false},
    {"threads", [](const ReportRow& r) { return Num(r.threads); }, true},
    {"n_prompt", [](const ReportRow& r) { return Num(r.n_prompt); }, true},
    {"n_gen", [](const ReportRow& r) { return Num(r.n_gen); }, true},
    {"n_depth", [](const ReportRow& r) { return Num(r.n_depth); }, true},
    {"n_batch", [](const ReportRow& r) { return Num(r.n_batch); }, true},
    {"n_ctx", [](const ReportRow& r) { return Num(r.n_ctx); }, true},
};

size_t RowN(const ReportRow& r) {
  size_t n = 0;
  for (const auto& [name, s] : r.metrics)
    if (name != "load_ms") n = std::max(n, s.n);
  return n;
}

std::string Flags(const ReportRow& r, const char* sep) {
  std::string s;
  for (const std::string& f : r.flags) s += (s.empty() ? "" : sep) + f;
  return s;
}

std::string Header(const std::string& metric) {
  const protocol::MetricField* f = protocol::FindMetricField(metric);
  if (!f || f->unit.empty()) return metric;
  return metric + " (" + std::string(f->unit) + ")";
}

}  // namespace

const std::vector<std::string>& DefaultReportMetrics() {
  static const std::vector<std::string> m = {
      "prefill_tps",  "decode_tps",        "ttft_ms",     "itl_p50_ms", "itl_p99_ms",
      "peak_rss_mb",  "decode_mj_per_tok", "avg_power_w", "temp_max_c"};
  return m;
}

Status CheckMetricNames(const std::vector<std::string>& metrics) {
  for (const std::string& m : metrics)
    if (!protocol::FindMetricField(m)) {
      std::string known;
      for (const protocol::MetricField& f : protocol::MetricFields())
        known += (known.empty() ? "" : ", ") + std::string(f.name);
      return InvalidArgumentError("unknown metric \"" + m + "\" (metrics: " + known + ")");
    }
  return Status::Ok();
}

std::string FormatValue(double v) {
  if (!std::isfinite(v)) return "-";
  char buf[32];
  const double a = std::fabs(v);
  if (a >= 1000)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else if (a >= 10)
    std::snprintf(buf, sizeof buf, "%.2f", v);
  else
    std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

std::string RenderMarkdown(const ReportData& data, const std::vector<std::string>& metrics) {
  // Identity columns that say something: device and model always, the rest
  // when rows differ in them (as llama-bench shows only what varies... and
  // the usual threads/test columns).
  std::vector<const IdColumn*> ids;
  for (const IdColumn& c : kIdColumns) {
    const std::string name = c.name;
    bool varies = false;
    for (const ReportRow& r : data.rows)
      if (c.get(r) != c.get(data.rows.front())) varies = true;
    if (name == "device" || name == "model" || name == "backend" || name == "threads" ||
        name == "size" || name == "quant" || varies)
      ids.push_back(&c);
  }
  std::vector<std::string> shown;
  for (const std::string& m : metrics)
    for (const ReportRow& r : data.rows)
      if (r.metrics.count(m) && r.metrics.at(m).n > 0) {
        shown.push_back(m);
        break;
      }
  std::vector<std::vector<std::string>> cells;
  std::vector<bool> right;
  std::vector<std::string> head;
  for (const IdColumn* c : ids) {
    head.push_back(c->name);
    right.push_back(c->numeric);
  }
  for (const std::string& m : shown) {
    head.push_back(Header(m));
    right.push_back(true);
  }
  head.push_back("n");
  right.push_back(true);
  head.push_back("flags");
  right.push_back(false);
  cells.push_back(head);
  for (const ReportRow& r : data.rows) {
    std::vector<std::string> row;
    for (const IdColumn* c : ids) row.push_back(MarkdownCell(c->get(r)));
    for (const std::string& m : shown) {
      auto it = r.metrics.find(m);
      if (it == r.metrics.end() || it->second.n == 0) {
        row.push_back("-");
        continue;
      }
      const MetricStat& s = it->second;
      row.push_back(FormatValue(s.median) + " [" + FormatValue(s.ci_lo) + ", " +
                    FormatValue(s.ci_hi) + "]");
    }
    row.push_back(std::to_string(RowN(r)));
    row.push_back(MarkdownCell(Flags(r, ", ")));
    cells.push_back(std::move(row));
  }
  std::vector<size_t> width(head.size(), 3);
  for (const auto& row : cells)
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  std::string out;
  for (size_t k = 0; k < cells.size(); ++k) {
    out += "|";
    for (size_t i = 0; i < cells[k].size(); ++i) {
      const std::string pad(width[i] - cells[k][i].size(), ' ');
      out += " " + (right[i] ? pad + cells[k][i] : cells[k][i] + pad) + " |";
    }
    out += "\n";
    if (k == 0) {
      out += "|";
      for (size_t i = 0; i < width.size(); ++i)
        out += right[i] ? " " + std::string(width[i] - 1, '-') + ": |"
                        : " " + std::string(width[i], '-') + " |";
      out += "\n";
    }
  }
  if (data.rows.empty()) out += "\n(no runs)\n";
  out += "\nmedian [95% bootstrap CI] over " + std::to_string(data.reps) +
         " measured repetitions (warmups excluded); sweeps:";
  for (const SweepInfo& s : data.sweeps) out += " " + s.uuid.substr(0, 8) + " (" + s.name + ")";
  out += "\n";
  return out;
}

std::string RenderCsv(const ReportData& data, const std::vector<std::string>& metrics) {
  std::string out;
  for (const IdColumn& c : kIdColumns) out += std::string(c.name) + ",";
  out += "config_key";
  for (const std::string& m : metrics)
    out += "," + m + "_median," + m + "_ci_lo," + m + "_ci_hi," + m + "_n";
  out += ",flags\n";
  char buf[48];
  for (const ReportRow& r : data.rows) {
    for (const IdColumn& c : kIdColumns) {
      std::string v = std::string(c.name) == "size" ? std::to_string(r.model_bytes) : c.get(r);
      out += CsvField(v) + ",";
    }
    out += CsvField(r.config_key);
    for (const std::string& m : metrics) {
      auto it = r.metrics.find(m);
      if (it == r.metrics.end() || it->second.n == 0) {
        out += ",,,,0";
        continue;
      }
      const MetricStat& s = it->second;
      for (double v : {s.median, s.ci_lo, s.ci_hi}) {
        std::snprintf(buf, sizeof buf, ",%.6g", v);
        out += buf;
      }
      out += "," + std::to_string(s.n);
    }
    out += "," + CsvField(Flags(r, ";")) + "\n";
  }
  return out;
}

std::string RenderJson(const ReportData& data, const std::vector<std::string>& metrics) {
  json sweeps = json::array();
  for (const SweepInfo& s : data.sweeps) {
    json labels = json::parse(s.labels_json, nullptr, false);
    sweeps.push_back({{"uuid", s.uuid},
                      {"name", s.name},
                      {"status", s.status},
                      {"started_at", s.started_at},
                      {"git_commit", s.git_commit},
                      {"labels", labels.is_discarded() ? json::array() : labels}});
  }
  json rows = json::array();
  for (const ReportRow& r : data.rows) {
    json m = json::object();
    for (const std::string& name : metrics) {
      auto it = r.metrics.find(name);
      if (it == r.metrics.end() || it->second.n == 0) continue;
      const MetricStat& s = it->second;
      m[name] = {{"n", s.n},         {"median", s.median}, {"ci_lo", s.ci_lo},
                 {"ci_hi", s.ci_hi}, {"mean", s.mean},     {"sd", s.sd},
                 {"cv", s.cv}};
    }
    rows.push_back({{"device", r.device},
                    {"device_key", r.device_key},
                    {"model", r.model},
                    {"quant", r.quant},
                    {"model_bytes", r.model_bytes},
                    {"model_params", r.model_params},
                    {"backend", r.backend},
                    {"threads", r.threads},
                    {"n_prompt", r.n_prompt},
                    {"n_gen", r.n_gen},
                    {"n_depth", r.n_depth},
                    {"n_batch", r.n_batch},
                    {"n_ctx", r.n_ctx},
                    {"config_key", r.config_key},
                    {"runs", r.run_ids.size()},
                    {"metrics", m},
                    {"flags", r.flags}});
  }
  return json{{"sweeps", sweeps}, {"reps", data.reps}, {"rows", rows}}.dump(2) + "\n";
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string MarkdownCell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n' || c == '\r') out += ' ';
    else out += c;
  }
  return out;
}

}  // namespace edgebench::reporters
