#include "reporters/report.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "protocol/metrics.h"
#include "reporters/stats.h"
#include "store/internal/sqlite.h"

namespace edgebench::reporters {
namespace {

using store::internal::Db;
using store::internal::Stmt;
using nlohmann::json;

// Above this coefficient of variation a throughput is "noisy".
constexpr double kNoisyCv = 0.05;
// A cluster that ran this much below its start clock was throttled.
constexpr double kThrottledDropPct = 5;

std::string IdList(const std::vector<int64_t>& ids) {
  std::string s;
  for (int64_t id : ids) s += (s.empty() ? "" : ",") + std::to_string(id);
  return s;
}

Result<std::vector<SweepInfo>> SelectSweeps(store::Store& st, const Selector& sel) {
  std::vector<SweepInfo> out;
  Db& db = st.db();
  const char* cols =
      "SELECT id, uuid, name, status, started_at, git_commit, labels_json FROM sweeps ";
  auto read = [&](Stmt& q) -> Status {
    for (;;) {
      ASSIGN_OR_RETURN(bool more, q.Step());
      if (!more) return Status::Ok();
      out.push_back({q.ColumnInt(0), q.ColumnText(1), q.ColumnText(2), q.ColumnText(3),
                     q.ColumnText(4), q.ColumnText(5), q.ColumnText(6)});
    }
  };
  if (!sel.label.empty()) {
    ASSIGN_OR_RETURN(Stmt q, db.Prepare(std::string(cols) + R"sql(
        WHERE EXISTS (SELECT 1 FROM json_each(sweeps.labels_json)
                      WHERE value = ?1 OR substr(value, 1, length(?1) + 1) = ?1 || '=')
        ORDER BY id)sql"));
    q.Bind(1, sel.label);
    RETURN_IF_ERROR(read(q));
  } else if (!sel.commit.empty()) {
    ASSIGN_OR_RETURN(Stmt q, db.Prepare(std::string(cols) + R"sql(
        WHERE substr(git_commit, 1, length(?1)) = ?1 ORDER BY id)sql"));
    q.Bind(1, sel.commit);
    RETURN_IF_ERROR(read(q));
  } else {
    const std::string id = sel.sweep.empty() ? "last" : sel.sweep;
    auto s = st.FindSweep(id);
    // A bare word that is no sweep id may be a label or a commit
    // (`--baseline nightly`, `--baseline 3f545be`).
    if (!s.ok() && id != "last" &&
        (s.status().code() == StatusCode::kNotFound || id.size() < 8)) {
      auto by_label = SelectSweeps(st, Selector{.label = id});
      if (by_label.ok() || by_label.status().code() != StatusCode::kNotFound) return by_label;
      if (id.size() >= 4) {
        auto by_commit = SelectSweeps(st, Selector{.commit = id});
        if (by_commit.ok() || by_commit.status().code() != StatusCode::kNotFound)
          return by_commit;
      }
      return NotFoundError(st.path() + ": no sweep, label or commit \"" + id + "\"");
    }
    if (!s.ok()) return s.status();
    out.push_back({s->id, s->record.uuid, s->record.name,
                   std::string(SweepStatusName(s->status)), s->started_at,
                   s->record.git_commit, s->record.labels_json});
  }
  if (out.empty())
    return NotFoundError(st.path() + ": no sweep matches " + sel.Describe());
  return out;
}

// Inter-token latencies of one repetition from its token timestamps.
void AppendItl(const void* blob, size_t bytes, std::vector<double>* out, size_t cap) {
  const size_t n = bytes / sizeof(int64_t);
  int64_t prev = 0;
  for (size_t i = 0; i < n && out->size() < cap; ++i) {
    int64_t t;
    std::memcpy(&t, static_cast<const char*>(blob) + i * sizeof t, sizeof t);
    if (i > 0) out->push_back(static_cast<double>(t - prev) / 1e6);
    prev = t;
  }
}

// Min/max bucketing: keeps the shape (peaks included) of a long series in
// at most `max_points` points.
void Downsample(Series* s, int max_points) {
  const size_t n = s->t_s.size();
  if (max_points < 4 || n <= static_cast<size_t>(max_points)) return;
  const size_t buckets = static_cast<size_t>(max_points) / 2;
  std::vector<double> t, v;
  t.reserve(buckets * 2);
  v.reserve(buckets * 2);
  for (size_t b = 0; b < buckets; ++b) {
    const size_t lo = b * n / buckets, hi = (b + 1) * n / buckets;
    if (lo >= hi) continue;
    size_t imin = lo, imax = lo;
    for (size_t i = lo; i < hi; ++i) {
      if (s->value[i] < s->value[imin]) imin = i;
      if (s->value[i] > s->value[imax]) imax = i;
    }
    for (size_t i : {std::min(imin, imax), std::max(imin, imax)}) {
      t.push_back(s->t_s[i]);
      v.push_back(s->value[i]);
      if (imin == imax) break;
    }
  }
  s->t_s = std::move(t);
  s->value = std::move(v);
}

// The row key of a run under `group_by` (empty: its configuration key).
std::string GroupKey(const ReportRow& r, const std::vector<std::string>& group_by) {
  if (group_by.empty()) return r.config_key;
  std::string k;
  for (const std::string& f : group_by) {
    k += f + "=";
    if (f == "device") k += r.device_key;
    else if (f == "model") k += r.model;
    else if (f == "quant") k += r.quant;
    else if (f == "backend") k += r.backend;
    else if (f == "threads") k += std::to_string(r.threads);
    else if (f == "n_prompt") k += std::to_string(r.n_prompt);
    else if (f == "n_gen") k += std::to_string(r.n_gen);
    else if (f == "n_depth") k += std::to_string(r.n_depth);
    else if (f == "n_batch") k += std::to_string(r.n_batch);
    else if (f == "n_ctx") k += std::to_string(r.n_ctx);
    k += '\x1f';
  }
  return k;
}

// Marks the fields where `next` differs from the row it is pooled into.
void MergeIdentity(ReportRow* row, const ReportRow& next) {
  auto text = [](std::string* a, const std::string& b) {
    if (*a != b) *a = "*";
  };
  auto num = [](auto* a, auto b) {
    if (*a != b) *a = -1;
  };
  text(&row->device, next.device);
  text(&row->device_key, next.device_key);
  text(&row->model, next.model);
  text(&row->quant, next.quant);
  text(&row->backend, next.backend);
  text(&row->config_key, next.config_key);
  num(&row->model_bytes, next.model_bytes);
  num(&row->model_params, next.model_params);
  num(&row->threads, next.threads);
  num(&row->n_prompt, next.n_prompt);
  num(&row->n_gen, next.n_gen);
  num(&row->n_depth, next.n_depth);
  num(&row->n_batch, next.n_batch);
  num(&row->n_ctx, next.n_ctx);
}

// `key` without its "field=value" item. Items are separated by spaces;
// values with spaces or quotes are quoted with backslash escapes
// (harness/sweep/product.cc), so a space inside quotes does not split.
std::string KeyWithoutItem(const std::string& key, std::string_view field) {
  std::string out;
  size_t i = 0;
  while (i < key.size()) {
    size_t end = i;
    bool quoted = false;
    for (; end < key.size(); ++end) {
      const char c = key[end];
      if (quoted && c == '\\') {
        ++end;  // the escaped character
      } else if (c == '"') {
        quoted = !quoted;
      } else if (c == ' ' && !quoted) {
        break;
      }
    }
    end = std::min(end, key.size());
    const std::string_view item(key.data() + i, end - i);
    const bool drop = item.size() > field.size() && item.substr(0, field.size()) == field &&
                      item[field.size()] == '=';
    if (!drop && !item.empty()) {
      if (!out.empty()) out += ' ';
      out += item;
    }
    i = end + 1;
  }
  return out;
}

}  // namespace

std::string PairKey(const ReportRow& row, std::string_view field) {
  std::vector<std::string> others;
  for (const std::string& f : GroupFields())
    if (f != field) others.push_back(f);
  return KeyWithoutItem(row.config_key, field) + '\x1e' + GroupKey(row, others);
}

const std::vector<std::string>& GroupFields() {
  static const std::vector<std::string> f = {"device", "model", "quant", "backend", "threads",
                                             "n_prompt", "n_gen", "n_depth", "n_batch", "n_ctx"};
  return f;
}

Result<Selector> Selector::Parse(const std::string& text) {
  Selector s;
  if (text.empty()) return InvalidArgumentError("empty selector: give a sweep id, \"last\", "
                                                "label:KEY=VALUE or commit:SHA");
  if (text.rfind("label:", 0) == 0) {
    s.label = text.substr(6);
    if (s.label.empty()) return InvalidArgumentError("\"" + text + "\": label:KEY[=VALUE]");
  } else if (text.rfind("commit:", 0) == 0) {
    s.commit = text.substr(7);
    if (s.commit.size() < 4)
      return InvalidArgumentError("\"" + text + "\": give at least 4 characters of the commit");
  } else {
    s.sweep = text;
  }
  return s;
}

std::string Selector::Describe() const {
  if (!label.empty()) return "label " + label;
  if (!commit.empty()) return "commit " + commit;
  return "sweep " + (sweep.empty() ? std::string("last") : sweep);
}

Result<ReportData> LoadReport(store::Store& st, const Selector& selector,
                              const LoadOptions& options) {
  for (const std::string& f : options.group_by)
    if (std::find(GroupFields().begin(), GroupFields().end(), f) == GroupFields().end())
      return InvalidArgumentError("--group-by: unknown field \"" + f +
                                  "\" (fields: device, model, quant, backend, threads, "
                                  "n_prompt, n_gen, n_depth, n_batch, n_ctx)");
  ReportData data;
  ASSIGN_OR_RETURN(data.sweeps, SelectSweeps(st, selector));
  std::vector<int64_t> sweep_ids;
  for (const SweepInfo& s : data.sweeps) sweep_ids.push_back(s.id);
  Db& db = st.db();

  // Runs, pooled into rows by configuration key.
  ASSIGN_OR_RETURN(Stmt runs, db.Prepare(
      "SELECT r.id, d.name, d.key, COALESCE(m.name, ''), COALESCE(m.quant, ''), "
      "COALESCE(m.size_bytes, 0), COALESCE(m.params, 0), r.backend, r.n_threads, r.n_prompt, "
      "r.n_gen, r.n_depth, r.n_batch, r.n_ctx, r.config_key, r.status, "
      "COALESCE(b.build_type, ''), COALESCE(b.sanitizers, ''), COALESCE(b.asserts, 0), "
      "r.error_code, r.error_message "
      "FROM runs r JOIN devices d ON d.id = r.device_id "
      "LEFT JOIN models m ON m.id = r.model_id LEFT JOIN builds b ON b.id = r.build_id "
      "WHERE r.sweep_id IN (" + IdList(sweep_ids) + ") ORDER BY r.id"));
  std::map<std::string, size_t> row_of_key;
  std::map<int64_t, size_t> row_of_run;
  std::vector<std::set<std::string>> flags;
  for (;;) {
    ASSIGN_OR_RETURN(bool more, runs.Step());
    if (!more) break;
    ReportRow r;
    r.device = runs.ColumnText(1);
    r.device_key = runs.ColumnText(2);
    r.model = runs.ColumnText(3);
    r.quant = runs.ColumnText(4);
    r.model_bytes = runs.ColumnInt(5);
    r.model_params = runs.ColumnInt(6);
    r.backend = runs.ColumnText(7);
    r.threads = static_cast<int>(runs.ColumnInt(8));
    r.n_prompt = static_cast<int>(runs.ColumnInt(9));
    r.n_gen = static_cast<int>(runs.ColumnInt(10));
    r.n_depth = static_cast<int>(runs.ColumnInt(11));
    r.n_batch = static_cast<int>(runs.ColumnInt(12));
    r.n_ctx = static_cast<int>(runs.ColumnInt(13));
    r.config_key = runs.ColumnText(14);
    auto [it, added] = row_of_key.emplace(GroupKey(r, options.group_by), data.rows.size());
    if (added) {
      data.rows.push_back(std::move(r));
      flags.emplace_back();
    } else {
      MergeIdentity(&data.rows[it->second], r);
    }
    const size_t row = it->second;
    const int64_t run_id = runs.ColumnInt(0);
    data.rows[row].run_ids.push_back(run_id);
    row_of_run[run_id] = row;
    std::set<std::string>& f = flags[row];
    const std::string status = runs.ColumnText(15);
    if (status == "failed") {
      f.insert("failed");
      if (data.rows[row].error.empty())
        data.rows[row].error = runs.ColumnText(19) + ": " + runs.ColumnText(20);
    }
    if (status == "interrupted") f.insert("interrupted");
    const std::string build_type = runs.ColumnText(16);
    if (build_type == "Debug") f.insert("debug");
    if (!runs.ColumnText(17).empty()) f.insert("sanitizers");
    if (runs.ColumnInt(18) != 0) f.insert("asserts");
  }

  // Measured repetitions: every metric column, pooled per row.
  std::vector<std::string> metric_names;
  std::string cols = "p.run_id, p.token_times_ns";
  for (const protocol::MetricField& m : protocol::MetricFields())
    if (m.scope == protocol::Scope::kRep) {
      metric_names.emplace_back(m.name);
      cols += ", p." + std::string(m.name);
    }
  std::vector<std::map<std::string, std::vector<double>>> values(data.rows.size());
  if (!row_of_run.empty()) {
    ASSIGN_OR_RETURN(Stmt reps, db.Prepare(
        "SELECT " + cols + " FROM reps p JOIN runs r ON r.id = p.run_id WHERE r.sweep_id IN (" +
        IdList(sweep_ids) + ") AND p.warmup = 0 AND p.status = 'ok' ORDER BY p.run_id, p.idx"));
    for (;;) {
      ASSIGN_OR_RETURN(bool more, reps.Step());
      if (!more) break;
      ++data.reps;
      const size_t row = row_of_run.at(reps.ColumnInt(0));
      if (options.itl && !reps.ColumnIsNull(1)) {
        const void* blob = sqlite3_column_blob(reps.get(), 1);
        const int bytes = sqlite3_column_bytes(reps.get(), 1);
        AppendItl(blob, static_cast<size_t>(bytes), &data.rows[row].itl_ms,
                  options.max_itl_per_row);
      }
      for (size_t i = 0; i < metric_names.size(); ++i) {
        const int c = static_cast<int>(i) + 2;
        if (reps.ColumnIsNull(c)) continue;
        const double v = reps.ColumnDouble(c);
        if (std::isfinite(v)) values[row][metric_names[i]].push_back(v);
      }
    }
  }
  // Run-scope metrics (load_ms), one value per run.
  {
    ASSIGN_OR_RETURN(Stmt q, db.Prepare("SELECT id, load_ms FROM runs WHERE sweep_id IN (" +
                                        IdList(sweep_ids) + ") AND load_ms IS NOT NULL"));
    for (;;) {
      ASSIGN_OR_RETURN(bool more, q.Step());
      if (!more) break;
      values[row_of_run.at(q.ColumnInt(0))]["load_ms"].push_back(q.ColumnDouble(1));
    }
  }

  for (size_t r = 0; r < data.rows.size(); ++r) {
    ReportRow& row = data.rows[r];
    std::set<std::string>& f = flags[r];
    for (auto& [name, v] : values[r]) {
      MetricStat s;
      s.n = v.size();
      s.median = Median(v);
      const Interval ci = BootstrapMedianCi(v, options.seed, options.resamples);
      s.ci_lo = ci.lo;
      s.ci_hi = ci.hi;
      const Moments m = ComputeMoments(v);
      s.mean = m.mean;
      s.sd = m.sd;
      s.cv = m.cv;
      row.metrics[name] = s;
      if ((name == "decode_tps" || name == "prefill_tps") && s.n >= 2 && s.cv > kNoisyCv)
        f.insert("noisy");
    }
    row.values = std::move(values[r]);
    auto has = [&](const char* m) { return row.metrics.count(m) > 0; };
    if (has("freq_drop_pct")) {
      const std::vector<double>& drop = row.values["freq_drop_pct"];
      if (*std::max_element(drop.begin(), drop.end()) > kThrottledDropPct)
        f.insert("throttled");
    }
    if (data.reps > 0 && !row.metrics.empty()) {
      if (!has("energy_j") && !has("avg_power_w")) f.insert("missing:power");
      if (!has("temp_max_c")) f.insert("missing:thermal");
      if (!has("freq_drop_pct")) f.insert("missing:cpufreq");
    }
    row.flags.assign(f.begin(), f.end());
  }

  if (options.timeline && !row_of_run.empty()) {
    // One series per device and sampled item: temperatures, clocks, power.
    ASSIGN_OR_RETURN(Stmt q, db.Prepare(
        "SELECT d.name, s.source, s.name, s.t_ns, s.value FROM samples s "
        "JOIN runs r ON r.id = s.run_id JOIN devices d ON d.id = r.device_id "
        "WHERE r.sweep_id IN (" + IdList(sweep_ids) + ") AND s.source IN ('temp', 'freq', "
        "'power') ORDER BY d.name, s.source, s.name, s.t_ns"));
    std::map<std::string, int64_t> t0;  // per device: its first sample
    Series* cur = nullptr;
    std::vector<std::pair<std::string, int64_t>> first;
    for (;;) {
      ASSIGN_OR_RETURN(bool more, q.Step());
      if (!more) break;
      ++data.samples;
      const std::string device = q.ColumnText(0), source = q.ColumnText(1),
                        name = q.ColumnText(2);
      const int64_t t = q.ColumnInt(3);
      double v = q.ColumnDouble(4);
      std::string kind = source == "temp" ? "temp_c" : source == "freq" ? "freq_mhz" : "power_w";
      if (source == "freq") v /= 1000;
      if (!cur || cur->device != device || cur->label != device + " " + name ||
          cur->name != kind) {
        data.timeline.push_back({device, kind, device + " " + name, {}, {}});
        cur = &data.timeline.back();
      }
      auto [it, added] = t0.emplace(device, t);
      if (!added && t < it->second) it->second = t;
      cur->t_s.push_back(static_cast<double>(t));
      cur->value.push_back(v);
    }
    for (Series& s : data.timeline) {
      const double origin = static_cast<double>(t0[s.device]);
      for (double& t : s.t_s) t = (t - origin) / 1e9;
      Downsample(&s, options.max_points);
    }
  }
  return data;
}

}  // namespace edgebench::reporters
