// reporters/report.h — what a report shows, read from the store: one row
// per device × model × quantization × backend × configuration, each metric
// as median with a 95% bootstrap confidence interval and n (warmups
// excluded), flags for rows that should not be trusted blindly, and the
// series the HTML charts draw.
//
// Thread-safety: LoadReport reads through the store's connection (one call
// at a time per Store); the rest are values and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "store/store.h"

namespace edgebench::reporters {

// Median, its 95% bootstrap CI (percentile method, seeded), mean, standard
// deviation and coefficient of variation of one metric over the measured
// repetitions of a row. n = 0: the metric was not measured.
struct MetricStat {
  size_t n = 0;
  double median = 0;
  double ci_lo = 0;
  double ci_hi = 0;
  double mean = 0;
  double sd = 0;
  double cv = 0;  // sd / mean; 0 when n < 2
};

struct ReportRow {
  std::string device;      // name
  std::string device_key;  // "ssh:pi5"
  std::string model;       // the model's name (the sweep's label)
  std::string quant;       // "Q4_0"
  int64_t model_bytes = 0;
  int64_t model_params = 0;
  std::string backend;
  int threads = 0, n_prompt = 0, n_gen = 0, n_depth = 0, n_batch = 0, n_ctx = 0;
  std::string config_key;  // pairs rows in `compare` (device name, model label, axes)
  std::vector<int64_t> run_ids;  // the runs pooled in this row (several sweeps)
  std::map<std::string, MetricStat> metrics;  // names from protocol/metrics.h
  // The measured values behind `metrics` (for `compare`'s tests).
  std::map<std::string, std::vector<double>> values;
  // Why to be careful: "noisy" (a throughput metric's CV above 5%),
  // "throttled" (a cluster's frequency fell during the run), "asserts",
  // "sanitizers", "debug" (the runtime build), "failed" (a run failed),
  // "interrupted" (a run was stopped by Ctrl-C),
  // "missing:<source>" (telemetry source absent: power, thermal, cpufreq).
  std::vector<std::string> flags;
  // The first failed run's cause ("unavailable: device lost: ..."); empty
  // when none failed.
  std::string error;
  // Inter-token latencies of every measured repetition, ms (for the ITL
  // distribution chart).
  std::vector<double> itl_ms;
};

// One telemetry series across the sweep, for the timeline chart.
struct Series {
  std::string device;
  std::string name;    // "temp_c", "freq_mhz", "power_w"
  std::string label;   // "pixel cpu-0 °C"
  std::vector<double> t_s;    // seconds since the series' first sample
  std::vector<double> value;  // same length as t_s
};

struct SweepInfo {
  int64_t id = 0;
  std::string uuid;
  std::string name;
  std::string status;
  std::string started_at;
  std::string git_commit;
  std::string labels_json;
};

struct ReportData {
  std::vector<SweepInfo> sweeps;
  std::vector<ReportRow> rows;
  std::vector<Series> timeline;  // downsampled for drawing
  int64_t reps = 0;              // measured repetitions read
  int64_t samples = 0;           // telemetry samples read
};

// Which runs a report (or one side of `compare`) reads.
struct Selector {
  std::string sweep;   // UUID, 8+ characters of one, or "last"
  std::string label;   // "key=value" or a bare key: sweeps with that label
  std::string commit;  // sweeps made by this edgebench git commit (prefix)
  // Parses "last", "label:K=V", "commit:abc123", or a sweep id. A bare
  // word that names no sweep is tried as a label, then as a commit.
  static Result<Selector> Parse(const std::string& text);
  std::string Describe() const;
};

struct LoadOptions {
  bool timeline = true;       // read telemetry samples for the timeline
  bool itl = true;            // read token timestamps into ReportRow::itl_ms
  size_t max_itl_per_row = 20000;
  // Which fields make a row: any of device, model, quant, backend, threads,
  // n_prompt, n_gen, n_depth, n_batch, n_ctx. Empty: the whole
  // configuration (its key). A field left out that varies inside a row
  // reads "*" (text) or -1 (number) there.
  std::vector<std::string> group_by;
  int max_points = 2000;      // per timeline series, after downsampling
  uint64_t seed = 1;          // bootstrap
  int resamples = 1000;       // bootstrap resamples per metric
};

// The fields LoadOptions::group_by accepts.
const std::vector<std::string>& GroupFields();

// The key shared by rows that differ only in `field` (one of GroupFields()):
// the row's configuration key without its "field=value" item, and its
// identity fields other than `field`. A configuration run by two backends
// gives two rows with one PairKey(row, "backend"); the side-by-side view and
// `compare --baseline-backend` pair rows by it.
std::string PairKey(const ReportRow& row, std::string_view field);

// Reads the runs a selector names. kNotFound when it names nothing; a bad
// group_by field is kInvalidArgument.
Result<ReportData> LoadReport(store::Store& store, const Selector& selector,
                              const LoadOptions& options = {});

}  // namespace edgebench::reporters
