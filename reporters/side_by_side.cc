#include "reporters/side_by_side.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include <nlohmann/json.hpp>

#include "protocol/metrics.h"
#include "reporters/text.h"

namespace edgebench::reporters {
namespace {

using nlohmann::json;

constexpr const char* kMissing = "—";

// A field rows can be split on: where a row keeps it, and which value goes
// first (our own engine, so the ratio reads "ours / theirs").
struct SplitField {
  const char* name;
  std::string ReportRow::*member;
  const char* first;
};
constexpr SplitField kSplitFields[] = {
    {"backend", &ReportRow::backend, "native"},
};

const SplitField* FindSplitField(std::string_view name) {
  for (const SplitField& f : kSplitFields)
    if (name == f.name) return &f;
  return nullptr;
}

// The table every format renders: identity columns, then per metric one
// median column per side and one ratio column per other side, then n and
// flags.
enum class Kind { kText, kNumber, kMedian, kRatio, kN, kFlags };

struct Column {
  Kind kind;
  std::string name;   // CSV and JSON: "threads", "decode_tps_native", "decode_tps_a_over_b"
  std::string title;  // Markdown and HTML: "decode_tps native (tok/s)", "decode_tps a/b"
  bool always = true;  // Markdown and HTML show an identity column that does not vary
  std::string (*text)(const ReportRow&) = nullptr;  // kText
  int64_t (*number)(const ReportRow&) = nullptr;    // kNumber
  size_t metric = 0;  // kMedian, kRatio: index into SideBySide::metrics
  size_t side = 0;    // kMedian: the side; kRatio: the other side k (sides[k + 1])
};

std::string WithUnit(const std::string& title, const std::string& metric) {
  const protocol::MetricField* f = protocol::FindMetricField(metric);
  if (f == nullptr || f->unit.empty()) return title;
  return title + " (" + std::string(f->unit) + ")";
}

std::vector<Column> Columns(const SideBySide& v) {
  std::vector<Column> c = {
      {Kind::kText, "device", "device", true, [](const ReportRow& r) { return r.device; }},
      {Kind::kText, "model", "model", true, [](const ReportRow& r) { return r.model; }},
      {Kind::kText, "quant", "quant", true, [](const ReportRow& r) { return r.quant; }},
  };
  auto number = [&](const char* name, bool always, int64_t (*get)(const ReportRow&)) {
    Column col{Kind::kNumber, name, name, always};
    col.number = get;
    c.push_back(col);
  };
  number("threads", true, [](const ReportRow& r) -> int64_t { return r.threads; });
  number("n_prompt", true, [](const ReportRow& r) -> int64_t { return r.n_prompt; });
  number("n_gen", true, [](const ReportRow& r) -> int64_t { return r.n_gen; });
  number("n_depth", false, [](const ReportRow& r) -> int64_t { return r.n_depth; });
  number("n_batch", false, [](const ReportRow& r) -> int64_t { return r.n_batch; });
  number("n_ctx", false, [](const ReportRow& r) -> int64_t { return r.n_ctx; });
  for (size_t m = 0; m < v.metrics.size(); ++m) {
    const std::string& metric = v.metrics[m];
    for (size_t s = 0; s < v.sides.size(); ++s) {
      Column col{Kind::kMedian, metric + "_" + v.sides[s],
                 WithUnit(metric + " " + v.sides[s], metric)};
      col.metric = m;
      col.side = s;
      c.push_back(col);
    }
    for (size_t k = 0; k + 1 < v.sides.size(); ++k) {
      Column col{Kind::kRatio, metric + "_" + v.sides[0] + "_over_" + v.sides[k + 1],
                 metric + " " + RatioName(v, k)};
      col.metric = m;
      col.side = k;
      c.push_back(col);
    }
  }
  std::string n_title = "n";
  for (size_t s = 0; s < v.sides.size(); ++s) n_title += (s ? "/" : " ") + v.sides[s];
  c.push_back({Kind::kN, "n", n_title});
  c.push_back({Kind::kFlags, "flags", "flags"});
  return c;
}

bool Numeric(const Column& c) { return c.kind != Kind::kText && c.kind != Kind::kFlags; }

// The columns Markdown and HTML show: identity columns that are always
// shown or vary between rows, and everything else.
std::vector<Column> ShownColumns(const SideBySide& v) {
  std::vector<Column> out;
  for (Column& c : Columns(v)) {
    if (!c.always && c.kind == Kind::kNumber) {
      bool varies = false;
      for (const SideBySideRow& r : v.rows)
        varies = varies || c.number(r.config) != c.number(v.rows.front().config);
      if (!varies) continue;
    }
    out.push_back(std::move(c));
  }
  return out;
}

const MetricStat* SideStat(const SideBySideRow& r, const Column& c) {
  const MetricStat& s = r.metrics[c.metric].sides[c.side];
  return s.n > 0 && std::isfinite(s.median) ? &s : nullptr;
}

const RatioCi* Ratio(const SideBySideRow& r, const Column& c) {
  const RatioCi& q = r.metrics[c.metric].ratios[c.side];
  return std::isfinite(q.ratio) ? &q : nullptr;
}

size_t SideN(const SideBySideRow& r, size_t side) {
  size_t n = 0;
  for (const SideBySideMetric& m : r.metrics) n = std::max(n, m.sides[side].n);
  return n;
}

// A flag every side that ran has once, plainly ("missing:power"); one only
// some sides have with its side ("llamacpp: noisy"): the column stays short
// where both engines ran on the same unmetered board.
std::string FlagsText(const SideBySide& v, const SideBySideRow& r, const char* sep,
                      const char* colon) {
  auto has = [&](size_t s, const std::string& f) {
    return std::find(r.flags[s].begin(), r.flags[s].end(), f) != r.flags[s].end();
  };
  auto everywhere = [&](const std::string& f) {
    for (size_t s = 0; s < v.sides.size(); ++s)
      if (r.present[s] && !has(s, f)) return false;
    return true;
  };
  std::string shared, own;
  size_t first = 0;
  while (first < v.sides.size() && !r.present[first]) ++first;
  if (first < v.sides.size())
    for (const std::string& f : r.flags[first])
      if (everywhere(f)) shared += (shared.empty() ? "" : sep) + f;
  for (size_t s = 0; s < v.sides.size(); ++s)
    for (const std::string& f : r.flags[s])
      if (!everywhere(f)) own += (own.empty() ? "" : sep) + v.sides[s] + colon + f;
  return shared + (shared.empty() || own.empty() ? "" : sep) + own;
}

std::string RatioText(const RatioCi& q) {
  std::string t = FormatValue(q.ratio);
  if (std::isfinite(q.lo) && std::isfinite(q.hi))
    t += " [" + FormatValue(q.lo) + ", " + FormatValue(q.hi) + "]";
  return t;
}

// A cell as Markdown and HTML show it (unescaped).
std::string CellText(const SideBySide& v, const SideBySideRow& r, const Column& c) {
  switch (c.kind) {
    case Kind::kText: return c.text(r.config);
    case Kind::kNumber: {
      const int64_t n = c.number(r.config);
      return n < 0 ? "*" : std::to_string(n);
    }
    case Kind::kMedian: {
      const MetricStat* s = SideStat(r, c);
      return s ? FormatValue(s->median) : kMissing;
    }
    case Kind::kRatio: {
      const RatioCi* q = Ratio(r, c);
      return q ? RatioText(*q) : kMissing;
    }
    case Kind::kN: {
      std::string t;
      for (size_t s = 0; s < v.sides.size(); ++s)
        t += (s ? "/" : "") + (r.present[s] ? std::to_string(SideN(r, s)) : kMissing);
      return t;
    }
    case Kind::kFlags: return FlagsText(v, r, ", ", ": ");
  }
  return "";
}

// Display columns of UTF-8 text ("—" is three bytes and one column).
size_t Width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string Real(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

json JsonReal(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

}  // namespace

const std::vector<std::string>& SideBySideFields() {
  static const std::vector<std::string> f = [] {
    std::vector<std::string> names;
    for (const SplitField& s : kSplitFields) names.emplace_back(s.name);
    return names;
  }();
  return f;
}

const std::vector<std::string>& DefaultSideBySideMetrics() {
  static const std::vector<std::string> m = {"prefill_tps", "decode_tps", "ttft_ms",
                                             "peak_rss_mb", "decode_mj_per_tok"};
  return m;
}

std::string RatioName(const SideBySide& view, size_t k) {
  return view.sides[0] + "/" + view.sides[k + 1];
}

Result<SideBySide> MakeSideBySide(const ReportData& data, const SideBySideOptions& o) {
  const SplitField* field = FindSplitField(o.field);
  if (field == nullptr) {
    std::string known;
    for (const std::string& f : SideBySideFields()) known += (known.empty() ? "" : ", ") + f;
    return InvalidArgumentError("side by side: unknown field \"" + o.field +
                                "\" (fields: " + known + ")");
  }
  RETURN_IF_ERROR(CheckMetricNames(o.metrics));
  SideBySide v;
  v.field = field->name;
  v.sweeps = data.sweeps;
  v.reps = data.reps;
  for (const ReportRow& r : data.rows) {
    const std::string& value = r.*field->member;
    if (value == "*")
      return InvalidArgumentError("side by side by " + v.field + ": a row pools several " +
                                  v.field + "s (keep " + v.field + " in --group-by)");
    if (std::find(v.sides.begin(), v.sides.end(), value) == v.sides.end())
      v.sides.push_back(value);
  }
  auto first = std::find(v.sides.begin(), v.sides.end(), field->first);
  if (first != v.sides.end()) std::rotate(v.sides.begin(), first, first + 1);
  for (const std::string& m : o.metrics)
    for (const ReportRow& r : data.rows)
      if (auto it = r.metrics.find(m); it != r.metrics.end() && it->second.n > 0) {
        v.metrics.push_back(m);
        break;
      }

  // Merge: per configuration, the row of each side.
  std::map<std::string, size_t> row_of_key;
  std::vector<std::vector<const ReportRow*>> members;
  for (const ReportRow& r : data.rows) {
    auto [it, added] = row_of_key.emplace(PairKey(r, v.field), v.rows.size());
    if (added) {
      SideBySideRow m;
      m.config = r;
      m.config.*field->member = "";
      m.config.metrics.clear();
      m.config.values.clear();
      m.config.itl_ms.clear();
      m.config.flags.clear();
      m.config.run_ids.clear();
      m.present.assign(v.sides.size(), false);
      m.flags.resize(v.sides.size());
      v.rows.push_back(std::move(m));
      members.emplace_back(v.sides.size(), nullptr);
    }
    const size_t side =
        std::find(v.sides.begin(), v.sides.end(), r.*field->member) - v.sides.begin();
    SideBySideRow& m = v.rows[it->second];
    // Rows of one side share no PairKey (it is their row key without the
    // field), so a side is merged at most once.
    if (m.present[side]) continue;
    m.present[side] = true;
    m.flags[side] = r.flags;
    m.config.run_ids.insert(m.config.run_ids.end(), r.run_ids.begin(), r.run_ids.end());
    members[it->second][side] = &r;
  }

  static const std::vector<double> kNone;
  for (size_t i = 0; i < v.rows.size(); ++i) {
    const std::vector<const ReportRow*>& rows = members[i];
    for (const std::string& metric : v.metrics) {
      SideBySideMetric sm;
      std::vector<const std::vector<double>*> values;
      for (const ReportRow* r : rows) {
        MetricStat s;
        const std::vector<double>* x = &kNone;
        if (r != nullptr) {
          if (auto it = r->metrics.find(metric); it != r->metrics.end()) s = it->second;
          if (auto it = r->values.find(metric); it != r->values.end()) x = &it->second;
        }
        sm.sides.push_back(s);
        values.push_back(x);
      }
      for (size_t k = 1; k < rows.size(); ++k) {
        RatioCi q{NAN, NAN, NAN};
        // BootstrapMedianRatio gives candidate / baseline: the first side is
        // the "candidate", so the ratio reads first / other.
        if (!values[0]->empty() && !values[k]->empty())
          q = BootstrapMedianRatio(*values[k], *values[0], o.seed, o.resamples);
        sm.ratios.push_back(q);
      }
      v.rows[i].metrics.push_back(std::move(sm));
    }
  }
  return v;
}

SideBySideTable ShownSideBySideTable(const SideBySide& v) {
  const std::vector<Column> cols = ShownColumns(v);
  SideBySideTable t;
  for (const Column& c : cols) {
    t.titles.push_back(c.title);
    t.numeric.push_back(Numeric(c));
  }
  for (const SideBySideRow& r : v.rows) {
    std::vector<SideBySideCell> row;
    for (const Column& c : cols) {
      SideBySideCell cell{.text = CellText(v, r, c)};
      if (c.kind == Kind::kMedian) {
        cell.median = SideStat(r, c);
        cell.missing = cell.median == nullptr;
      } else if (c.kind == Kind::kRatio) {
        cell.ratio = Ratio(r, c);
        cell.missing = cell.ratio == nullptr;
      }
      row.push_back(std::move(cell));
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

std::string RenderSideBySideMarkdown(const SideBySide& v) {
  const SideBySideTable t = ShownSideBySideTable(v);
  std::vector<std::vector<std::string>> cells(1);
  for (const std::string& title : t.titles) cells[0].push_back(MarkdownCell(title));
  for (const std::vector<SideBySideCell>& r : t.rows) {
    std::vector<std::string> row;
    for (const SideBySideCell& c : r) row.push_back(MarkdownCell(c.text));
    cells.push_back(std::move(row));
  }
  const size_t n_cols = t.titles.size();
  std::vector<size_t> width(n_cols, 3);
  for (const auto& row : cells)
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], Width(row[i]));
  std::string out;
  for (size_t k = 0; k < cells.size(); ++k) {
    out += "|";
    for (size_t i = 0; i < n_cols; ++i) {
      const std::string pad(width[i] - Width(cells[k][i]), ' ');
      out += " " + (t.numeric[i] ? pad + cells[k][i] : cells[k][i] + pad) + " |";
    }
    out += "\n";
    if (k == 0) {
      out += "|";
      for (size_t i = 0; i < n_cols; ++i)
        out += t.numeric[i] ? " " + std::string(width[i] - 1, '-') + ": |"
                            : " " + std::string(width[i], '-') + " |";
      out += "\n";
    }
  }
  if (v.rows.empty()) out += "\n(no runs)\n";
  out += "\nmedians per " + v.field + "; ratio of medians";
  for (size_t k = 0; k + 1 < v.sides.size(); ++k) out += (k ? ", " : " ") + RatioName(v, k);
  out += " [95% bootstrap CI]; " + std::string(kMissing) + ": not run or not measured; sweeps:";
  for (const SweepInfo& s : v.sweeps) out += " " + s.uuid.substr(0, 8) + " (" + s.name + ")";
  out += "\n";
  return out;
}

std::string RenderSideBySideCsv(const SideBySide& v) {
  const std::vector<Column> cols = Columns(v);
  std::string out;
  for (const Column& c : cols) {
    switch (c.kind) {
      case Kind::kN: continue;  // per metric and side in the median columns
      case Kind::kMedian: out += c.name + "_median," + c.name + "_n,"; break;
      case Kind::kRatio: out += c.name + "," + c.name + "_ci_lo," + c.name + "_ci_hi,"; break;
      default: out += CsvField(c.name) + ",";
    }
  }
  out.back() = '\n';
  for (const SideBySideRow& r : v.rows) {
    std::string line;
    for (const Column& c : cols) {
      switch (c.kind) {
        case Kind::kText: line += CsvField(c.text(r.config)) + ","; break;
        case Kind::kNumber: line += std::to_string(c.number(r.config)) + ","; break;
        case Kind::kMedian: {
          const MetricStat* s = SideStat(r, c);
          line += s ? Real(s->median) + "," + std::to_string(s->n) + "," : std::string(",0,");
          break;
        }
        case Kind::kRatio: {
          const RatioCi* q = Ratio(r, c);
          line += q ? Real(q->ratio) + "," + Real(q->lo) + "," + Real(q->hi) + ","
                    : std::string(",,,");
          break;
        }
        case Kind::kN: break;
        case Kind::kFlags: line += CsvField(FlagsText(v, r, ";", ":")) + ","; break;
      }
    }
    line.back() = '\n';
    out += line;
  }
  return out;
}

std::string RenderSideBySideJson(const SideBySide& v) {
  const std::vector<Column> cols = Columns(v);
  json rows = json::array();
  for (const SideBySideRow& r : v.rows) {
    json row = json::object();
    for (const Column& c : cols) {
      switch (c.kind) {
        case Kind::kText: row[c.name] = c.text(r.config); break;
        case Kind::kNumber: row[c.name] = c.number(r.config); break;
        case Kind::kMedian: {
          const MetricStat* s = SideStat(r, c);
          row[c.name] = s ? json{{"n", s->n},
                                 {"median", s->median},
                                 {"ci_lo", JsonReal(s->ci_lo)},
                                 {"ci_hi", JsonReal(s->ci_hi)}}
                          : json(nullptr);
          break;
        }
        case Kind::kRatio: {
          const RatioCi* q = Ratio(r, c);
          row[c.name] = q ? json{{"ratio", q->ratio},
                                 {"ci_lo", JsonReal(q->lo)},
                                 {"ci_hi", JsonReal(q->hi)}}
                          : json(nullptr);
          break;
        }
        case Kind::kN: break;  // n is in each median
        case Kind::kFlags: {
          json flags = json::object();
          for (size_t s = 0; s < v.sides.size(); ++s)
            if (r.present[s]) flags[v.sides[s]] = r.flags[s];
          row[c.name] = flags;
          break;
        }
      }
    }
    rows.push_back(std::move(row));
  }
  json sweeps = json::array();
  for (const SweepInfo& s : v.sweeps) sweeps.push_back({{"uuid", s.uuid}, {"name", s.name}});
  json ratios = json::array();
  for (size_t k = 0; k + 1 < v.sides.size(); ++k) ratios.push_back(RatioName(v, k));
  return json{{"field", v.field},   {"sides", v.sides}, {"ratios", ratios},
              {"metrics", v.metrics}, {"sweeps", sweeps}, {"reps", v.reps},
              {"rows", rows}}
             .dump(2) +
         "\n";
}

}  // namespace edgebench::reporters
