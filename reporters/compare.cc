#include "reporters/compare.h"

#include <algorithm>
#include <cassert>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "protocol/metrics.h"
#include "reporters/stats.h"
#include "reporters/text.h"

namespace edgebench::reporters {
namespace {

std::string Pct(double ratio) {
  if (!std::isfinite(ratio)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.1f%%", (ratio - 1) * 100);
  return buf;
}

std::string XmlEscape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 has no other control characters than tab, LF, CR.
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') out += ' ';
        else out += static_cast<char>(c);
    }
  }
  return out;
}

std::string MdEscape(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

}  // namespace

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kSame: return "ok";
    case Verdict::kRegression: return "REGRESSION";
    case Verdict::kImprovement: return "improved";
    case Verdict::kNotMeasured: return "not measured";
  }
  return "ok";
}

Result<std::vector<Threshold>> ParseThresholds(const std::string& text) {
  std::vector<Threshold> out;
  size_t p = 0;
  while (p <= text.size()) {
    size_t comma = text.find(',', p);
    if (comma == std::string::npos) comma = text.size();
    const std::string item = text.substr(p, comma - p);
    p = comma + 1;
    if (item.empty()) {
      if (comma == text.size()) break;
      continue;
    }
    const size_t eq = item.find('=');
    const auto bad = [&] {
      return InvalidArgumentError("--threshold \"" + item +
                                  "\": expected METRIC=±N% (decode_tps=-3%, ttft_ms=+5%)");
    };
    if (eq == std::string::npos || eq == 0) return bad();
    Threshold t;
    t.metric = item.substr(0, eq);
    RETURN_IF_ERROR(CheckMetricNames({t.metric}));
    std::string num = item.substr(eq + 1);
    if (!num.empty() && num.back() == '%') num.pop_back();
    char* end = nullptr;
    t.pct = std::strtod(num.c_str(), &end);
    if (num.empty() || *end != '\0' || !std::isfinite(t.pct)) return bad();
    const protocol::MetricField* f = protocol::FindMetricField(t.metric);
    if (f->better == protocol::Better::kNone)
      return InvalidArgumentError("--threshold " + t.metric +
                                  ": neither higher nor lower is better for it");
    out.push_back(t);
  }
  if (out.empty()) return InvalidArgumentError("--threshold: no metric given");
  return out;
}

const std::vector<Threshold>& DefaultThresholds() {
  static const std::vector<Threshold> t = {
      {"decode_tps", -3}, {"prefill_tps", -3}, {"ttft_ms", 5}};
  return t;
}

std::string ConfigName(const ReportRow& r) {
  std::string s = r.device + " " + r.model;
  std::string lower_model = r.model, lower_quant = r.quant;
  for (std::string* t : {&lower_model, &lower_quant})
    for (char& ch : *t) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (!r.quant.empty() && lower_model.find(lower_quant) == std::string::npos) s += " " + r.quant;
  if (r.backend != "native") s += " " + r.backend;
  s += " t" + std::to_string(r.threads);
  if (r.n_prompt > 0) s += " pp" + std::to_string(r.n_prompt);
  if (r.n_gen > 0) s += " tg" + std::to_string(r.n_gen);
  if (r.n_depth > 0) s += " d" + std::to_string(r.n_depth);
  return s;
}

CompareResult CompareReports(const ReportData& base, const ReportData& cand,
                             const CompareOptions& o) {
  assert(o.baseline_backend.empty() == o.candidate_backend.empty());
  CompareResult res;
  const bool across = !o.baseline_backend.empty();
  const auto key = [&](const ReportRow& r) {
    return across ? PairKey(r, "backend") : r.config_key;
  };
  const auto wanted = [&](const ReportRow& r, const std::string& backend) {
    return !across || r.backend == backend;
  };
  std::map<std::string, const ReportRow*> cand_rows;
  for (const ReportRow& r : cand.rows)
    if (wanted(r, o.candidate_backend)) cand_rows[key(r)] = &r;
  std::map<std::string, bool> matched;
  std::vector<std::string> few_names;
  size_t fewest = SIZE_MAX;
  size_t base_wanted = 0;
  for (const ReportRow& b : base.rows) {
    if (!wanted(b, o.baseline_backend)) continue;
    ++base_wanted;
    auto it = cand_rows.find(key(b));
    if (it == cand_rows.end()) {
      res.only_baseline.push_back(b.config_key);
      continue;
    }
    matched[key(b)] = true;
    const ReportRow& c = *it->second;
    ConfigComparison cc;
    bool few = false;
    cc.row = b;
    cc.row.values.clear();
    cc.row.itl_ms.clear();
    if (across) cc.row.backend = o.baseline_backend + "->" + o.candidate_backend;
    for (const Threshold& t : o.thresholds) {
      MetricComparison m;
      m.metric = t.metric;
      m.threshold_pct = t.pct;
      static const std::vector<double> kNone;
      auto bv = b.values.find(t.metric);
      auto cv = c.values.find(t.metric);
      const std::vector<double>& x = bv == b.values.end() ? kNone : bv->second;
      const std::vector<double>& y = cv == c.values.end() ? kNone : cv->second;
      m.n_baseline = x.size();
      m.n_candidate = y.size();
      if (x.empty() || y.empty()) {
        cc.metrics.push_back(m);
        continue;
      }
      m.baseline_median = Median(x);
      m.candidate_median = Median(y);
      const RatioCi r = BootstrapMedianRatio(x, y, o.seed, o.resamples);
      m.ratio = r.ratio;
      m.ratio_lo = r.lo;
      m.ratio_hi = r.hi;
      m.p = MannWhitneyU(x, y).p;
      const bool higher_better =
          protocol::FindMetricField(t.metric)->better == protocol::Better::kHigher;
      const double change_pct = (m.ratio - 1) * 100;
      // Worse by more than the threshold (higher-better: a drop below
      // -|t|; lower-better: a rise above +|t|), and significant.
      const double limit = std::fabs(t.pct);
      const double worse = higher_better ? -change_pct : change_pct;
      const bool significant = m.p < o.alpha;
      if (!std::isfinite(m.ratio))
        m.verdict = Verdict::kNotMeasured;
      else if (significant && worse > limit)
        m.verdict = Verdict::kRegression;
      else if (significant && -worse > limit)
        m.verdict = Verdict::kImprovement;
      else
        m.verdict = Verdict::kSame;
      if (m.verdict == Verdict::kRegression) ++res.regressions;
      if (m.verdict == Verdict::kImprovement) ++res.improvements;
      if (x.size() < o.min_reps || y.size() < o.min_reps) {
        few = true;
        fewest = std::min({fewest, x.size(), y.size()});
      }
      cc.metrics.push_back(m);
    }
    if (few) few_names.push_back(ConfigName(b));
    res.pairs.push_back(std::move(cc));
  }
  if (!few_names.empty()) {
    // One line, not one per metric: the fix (more repetitions) is the same.
    std::string w = std::to_string(few_names.size()) + " of " +
                    std::to_string(res.pairs.size()) + " configurations have fewer than " +
                    std::to_string(o.min_reps) + " repetitions on a side (as few as " +
                    std::to_string(fewest) + "): too few to show a change reliably (" +
                    few_names.front() + (few_names.size() > 1 ? ", ..." : "") + ")";
    res.warnings.push_back(w);
  }
  for (const ReportRow& c : cand.rows)
    if (wanted(c, o.candidate_backend) && !matched.count(key(c)))
      res.only_candidate.push_back(c.config_key);
  if (across) {
    // Say which side had none of its backend: a misspelt name, or a sweep
    // without that backend, is the usual cause of "nothing to compare".
    const auto none_of = [](const char* side, const std::string& backend,
                            const ReportData& d) {
      std::vector<std::string> seen;
      for (const ReportRow& r : d.rows)
        if (std::find(seen.begin(), seen.end(), r.backend) == seen.end())
          seen.push_back(r.backend);
      std::string names;
      for (const std::string& n : seen) names += (names.empty() ? "" : ", ") + n;
      return std::string(side) + " has no row with backend \"" + backend + "\" (backends: " +
             (names.empty() ? std::string("none") : names) + ")";
    };
    if (base_wanted == 0)
      res.warnings.push_back(none_of("the baseline", o.baseline_backend, base));
    if (cand_rows.empty())
      res.warnings.push_back(none_of("the candidate", o.candidate_backend, cand));
  }
  if (res.pairs.empty())
    res.warnings.push_back("no configuration is in both the baseline and the candidate");
  return res;
}

std::string CompareMarkdown(const CompareResult& r) {
  std::string out = "### edgebench compare: ";
  size_t measured = 0;
  for (const ConfigComparison& c : r.pairs)
    for (const MetricComparison& m : c.metrics) measured += m.verdict != Verdict::kNotMeasured;
  if (r.regressions)
    out += "❌ " + std::to_string(r.regressions) + " regression" +
           (r.regressions == 1 ? "" : "s");
  else
    out += "✅ no regression";
  out += "\n\nBaseline " + MdEscape(r.baseline) + ", candidate " + MdEscape(r.candidate) + ": " +
         std::to_string(r.pairs.size()) + " configurations, " + std::to_string(measured) +
         " metric comparisons, " + std::to_string(r.improvements) + " improved.\n\n";
  out += "| configuration | metric | threshold | baseline | candidate | change [95% CI] | p | "
         "verdict |\n|---|---|--:|--:|--:|--:|--:|---|\n";
  std::vector<std::pair<const ConfigComparison*, const MetricComparison*>> lines;
  for (const ConfigComparison& c : r.pairs)
    for (const MetricComparison& m : c.metrics) lines.emplace_back(&c, &m);
  std::stable_sort(lines.begin(), lines.end(), [](const auto& a, const auto& b) {
    auto rank = [](Verdict v) {
      return v == Verdict::kRegression ? 0 : v == Verdict::kImprovement ? 1 : 2;
    };
    return rank(a.second->verdict) < rank(b.second->verdict);
  });
  char buf[64];
  for (const auto& [c, m] : lines) {
    std::snprintf(buf, sizeof buf, "%+.0f%%", m->threshold_pct);
    std::string p = "-";
    if (m->verdict != Verdict::kNotMeasured) {
      char pb[32];
      std::snprintf(pb, sizeof pb, m->p < 0.001 ? "%.1e" : "%.3f", m->p);
      p = pb;
    }
    std::string verdict(VerdictName(m->verdict));
    if (m->verdict == Verdict::kRegression) verdict = "**" + verdict + "**";
    out += "| " + MdEscape(ConfigName(c->row)) + " | " + m->metric + " | " + buf + " | " +
           (m->n_baseline ? FormatValue(m->baseline_median) : "-") + " | " +
           (m->n_candidate ? FormatValue(m->candidate_median) : "-") + " | " +
           (m->verdict == Verdict::kNotMeasured
                ? std::string("-")
                : Pct(m->ratio) + " [" + Pct(m->ratio_lo) + ", " + Pct(m->ratio_hi) + "]") +
           " | " + p + " | " + verdict + " |\n";
  }
  if (!r.only_baseline.empty() || !r.only_candidate.empty())
    out += "\n" + std::to_string(r.only_baseline.size()) + " configurations only in the baseline, " +
           std::to_string(r.only_candidate.size()) + " only in the candidate (not compared).\n";
  if (!r.warnings.empty()) {
    out += "\n";
    for (const std::string& w : r.warnings) out += "> ⚠️ " + MdEscape(w) + "\n";
  }
  return out;
}

std::string CompareJunit(const CompareResult& r) {
  size_t tests = 0, skipped = 0;
  for (const ConfigComparison& c : r.pairs)
    for (const MetricComparison& m : c.metrics) {
      ++tests;
      skipped += m.verdict == Verdict::kNotMeasured;
    }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<testsuites name=\"edgebench compare\" tests=\"" + std::to_string(tests) +
         "\" failures=\"" + std::to_string(r.regressions) + "\">\n";
  out += "  <testsuite name=\"" + XmlEscape("edgebench compare " + r.baseline + " -> " +
                                            r.candidate) +
         "\" tests=\"" + std::to_string(tests) + "\" failures=\"" +
         std::to_string(r.regressions) + "\" errors=\"0\" skipped=\"" +
         std::to_string(skipped) + "\">\n";
  for (const ConfigComparison& c : r.pairs)
    for (const MetricComparison& m : c.metrics) {
      out += "    <testcase classname=\"" + XmlEscape(c.row.device + "." + c.row.model) +
             "\" name=\"" + XmlEscape(ConfigName(c.row) + " " + m.metric) + "\">";
      char detail[256];
      std::snprintf(detail, sizeof detail,
                    "%s: baseline %s, candidate %s, change %s [%s, %s], p=%.3g, threshold %+.1f%%",
                    m.metric.c_str(), FormatValue(m.baseline_median).c_str(),
                    FormatValue(m.candidate_median).c_str(), Pct(m.ratio).c_str(),
                    Pct(m.ratio_lo).c_str(), Pct(m.ratio_hi).c_str(), m.p, m.threshold_pct);
      if (m.verdict == Verdict::kRegression)
        out += "\n      <failure message=\"" + XmlEscape(std::string("regression: ") + detail) +
               "\" type=\"regression\"/>\n    ";
      else if (m.verdict == Verdict::kNotMeasured)
        out += "\n      <skipped message=\"not measured on both sides\"/>\n    ";
      else
        out += "\n      <system-out>" + XmlEscape(detail) + "</system-out>\n    ";
      out += "</testcase>\n";
    }
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

}  // namespace edgebench::reporters
