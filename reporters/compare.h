// reporters/compare.h — the regression gate: pairs identical configurations
// of a baseline and a candidate, and asks per metric whether the candidate
// is significantly worse, and by more than the metric's threshold.
//
// Per configuration and metric: the Mann-Whitney U test of the two sets of
// measured repetitions (two-sided), the ratio of medians candidate/baseline
// with its 95% bootstrap CI. A metric regresses when p < alpha and the
// change goes the bad way beyond the threshold: for a metric where higher
// is better (decode_tps) a threshold of -3% means "a drop of more than 3%";
// for one where lower is better (ttft_ms) +5% means "a rise of more than
// 5%". An improvement is the mirror image.
//
// Thread-safety: values and pure functions (Compare reads one store).
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "reporters/report.h"

namespace edgebench::reporters {

struct Threshold {
  std::string metric;
  double pct = 0;  // signed: -3 for "-3%"
};

// "decode_tps=-3%,ttft_ms=+5%" (the % is optional). Errors name the item.
Result<std::vector<Threshold>> ParseThresholds(const std::string& text);
// decode_tps=-3%, prefill_tps=-3%, ttft_ms=+5%.
const std::vector<Threshold>& DefaultThresholds();

struct CompareOptions {
  std::vector<Threshold> thresholds = DefaultThresholds();
  double alpha = 0.05;
  uint64_t seed = 1;
  int resamples = 1000;
  size_t min_reps = 5;  // fewer on a side: a warning
  // Pairing across backends ("native vs llamacpp in the same sweep"): when
  // set, baseline rows of `baseline_backend` pair with candidate rows of
  // `candidate_backend` by PairKey(row, "backend"), and rows of other
  // backends are left out. Empty: rows pair by their configuration key,
  // backend included (native with native, llamacpp with llamacpp).
  // REQUIRES: both set or both empty.
  std::string baseline_backend, candidate_backend;
};

enum class Verdict { kSame, kRegression, kImprovement, kNotMeasured };
std::string_view VerdictName(Verdict v);  // "ok", "REGRESSION", "improved", "not measured"

struct MetricComparison {
  std::string metric;
  double threshold_pct = 0;
  size_t n_baseline = 0, n_candidate = 0;
  double baseline_median = 0, candidate_median = 0;
  double ratio = 0, ratio_lo = 0, ratio_hi = 0;  // candidate / baseline
  double p = 1;
  Verdict verdict = Verdict::kNotMeasured;
};

struct ConfigComparison {
  // The baseline's identity (device, model, axes); paired across backends,
  // its backend reads "BASELINE->CANDIDATE" ("llamacpp->native").
  ReportRow row;
  std::vector<MetricComparison> metrics;
};

struct CompareResult {
  std::string baseline, candidate;  // the selectors, described
  std::vector<ConfigComparison> pairs;
  std::vector<std::string> only_baseline;   // config keys without a partner
  std::vector<std::string> only_candidate;
  std::vector<std::string> warnings;
  size_t regressions = 0, improvements = 0;
};

// Compares two loaded reports (rows keyed by configuration).
CompareResult CompareReports(const ReportData& baseline, const ReportData& candidate,
                             const CompareOptions& options);

// The pull-request comment: a verdict line, then a table of every
// configuration × metric (regressions first), then warnings.
std::string CompareMarkdown(const CompareResult& result);
// JUnit XML: one testsuite, one testcase per configuration × metric, a
// <failure> for each regression, <skipped> when not measured on both sides.
std::string CompareJunit(const CompareResult& result);

// "device=pixel model=q4 threads=4 n_prompt=512 ..." without the defaults a
// reader does not need: the short name of a configuration.
std::string ConfigName(const ReportRow& row);

}  // namespace edgebench::reporters
