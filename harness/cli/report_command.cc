// `edgebench report` and `edgebench compare`: read the store, write what a
// person reads (Markdown, CSV, JSON, HTML) and what CI acts on (an exit code,
// JUnit XML, a Markdown summary for the pull request).
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/exit_code.h"
#include "harness/cli/command.h"
#include "harness/cli/progress.h"
#include "reporters/compare.h"
#include "reporters/html.h"
#include "reporters/report.h"
#include "reporters/side_by_side.h"
#include "reporters/text.h"
#include "store/store.h"

namespace edgebench::cli {
namespace {

struct ReportArgs {
  std::string db = kDefaultDbPath;
  std::string sweep;
  bool last = false;
  std::string label;
  std::string commit;
  std::string format = "md";
  std::string out;
  std::vector<std::string> group_by;
  std::vector<std::string> metrics;
  std::string side_by_side;  // a field of reporters::SideBySideFields(), or empty
};

struct CompareArgs {
  std::string db = kDefaultDbPath;
  std::string baseline, candidate;
  std::string thresholds;
  std::string junit, markdown;
  double alpha = 0.05;
  std::string baseline_backend, candidate_backend;
};

// Writes `text` to `path` through a temporary file and a rename, so a full
// disk or Ctrl-C never leaves half a report under the name.
Status WriteOut(const std::string& path, const std::string& text) {
  if (path.empty() || path == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return Status::Ok();
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return ErrnoToStatus(errno, path);
    f.write(text.data(), static_cast<std::streamsize>(text.size()));
    f.flush();
    if (!f) {
      const int err = errno;
      std::remove(tmp.c_str());
      return ErrnoToStatus(err, path);
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    return ErrnoToStatus(err, path);
  }
  return Status::Ok();
}

Result<std::unique_ptr<store::Store>> OpenForReading(const std::string& db) {
  return store::Store::Open(db, {.create_if_missing = false});
}

int Report(const ReportArgs& a) {
  int given = !a.sweep.empty() + a.last + !a.label.empty() + !a.commit.empty();
  if (given > 1)
    return ReportError(InvalidArgumentError("report: give one of --sweep, --last, --label, "
                                            "--commit"));
  reporters::Selector sel;
  sel.sweep = a.sweep.empty() ? "last" : a.sweep;
  sel.label = a.label;
  sel.commit = a.commit;
  const std::vector<std::string> metrics =
      a.metrics.empty() ? reporters::DefaultReportMetrics() : a.metrics;
  if (Status s = reporters::CheckMetricNames(metrics); !s.ok()) return ReportError(s);
  auto st = OpenForReading(a.db);
  if (!st.ok()) return ReportError(st.status());
  reporters::LoadOptions lo;
  lo.group_by = a.group_by;
  // Side by side splits rows on the field: a --group-by must keep it.
  if (!a.side_by_side.empty() && !lo.group_by.empty() &&
      std::find(lo.group_by.begin(), lo.group_by.end(), a.side_by_side) == lo.group_by.end())
    lo.group_by.push_back(a.side_by_side);
  lo.timeline = a.format == "html";
  lo.itl = a.format == "html";
  auto data = reporters::LoadReport(**st, sel, lo);
  if (!data.ok()) return ReportError(data.status());
  std::optional<reporters::SideBySide> sbs;
  if (!a.side_by_side.empty()) {
    reporters::SideBySideOptions so;
    so.field = a.side_by_side;
    if (!a.metrics.empty()) so.metrics = a.metrics;
    auto v = reporters::MakeSideBySide(*data, so);
    if (!v.ok()) return ReportError(v.status());
    sbs = std::move(*v);
  }
  std::string text;
  if (sbs && a.format == "md") {
    text = reporters::RenderSideBySideMarkdown(*sbs);
  } else if (sbs && a.format == "csv") {
    text = reporters::RenderSideBySideCsv(*sbs);
  } else if (sbs && a.format == "json") {
    text = reporters::RenderSideBySideJson(*sbs);
  } else if (a.format == "md") {
    text = reporters::RenderMarkdown(*data, metrics);
  } else if (a.format == "csv") {
    text = reporters::RenderCsv(*data, metrics);
  } else if (a.format == "json") {
    text = reporters::RenderJson(*data, metrics);
  } else {
    reporters::HtmlOptions ho;
    ho.generated_at = UtcTimestamp();
    if (sbs) ho.side_by_side = &*sbs;
    text = reporters::RenderHtml(*data, ho);
  }
  if (Status s = WriteOut(a.out, text); !s.ok()) return ReportError(s);
  if (!a.out.empty() && a.out != "-")
    std::fprintf(stderr, "wrote %s: %zu rows from %lld repetitions\n", a.out.c_str(),
                 data->rows.size(), static_cast<long long>(data->reps));
  return kExitOk;
}

int Compare(const CompareArgs& a) {
  auto base_sel = reporters::Selector::Parse(a.baseline);
  if (!base_sel.ok()) return ReportError(base_sel.status().WithContext("--baseline"));
  auto cand_sel = reporters::Selector::Parse(a.candidate);
  if (!cand_sel.ok()) return ReportError(cand_sel.status().WithContext("--candidate"));
  reporters::CompareOptions o;
  if (!a.thresholds.empty()) {
    auto t = reporters::ParseThresholds(a.thresholds);
    if (!t.ok()) return ReportError(t.status());
    o.thresholds = std::move(*t);
  }
  o.alpha = a.alpha;
  o.baseline_backend = a.baseline_backend;
  o.candidate_backend = a.candidate_backend;
  auto st = OpenForReading(a.db);
  if (!st.ok()) return ReportError(st.status());
  reporters::LoadOptions lo;
  lo.timeline = false;
  lo.itl = false;
  auto base = reporters::LoadReport(**st, *base_sel, lo);
  if (!base.ok()) return ReportError(base.status().WithContext("--baseline"));
  auto cand = reporters::LoadReport(**st, *cand_sel, lo);
  if (!cand.ok()) return ReportError(cand.status().WithContext("--candidate"));
  reporters::CompareResult r = reporters::CompareReports(*base, *cand, o);
  r.baseline = base_sel->Describe();
  r.candidate = cand_sel->Describe();
  if (!a.baseline_backend.empty()) {
    r.baseline += " backend " + a.baseline_backend;
    r.candidate += " backend " + a.candidate_backend;
  }
  const std::string md = reporters::CompareMarkdown(r);
  std::fputs(md.c_str(), stdout);
  if (!a.markdown.empty())
    if (Status s = WriteOut(a.markdown, md); !s.ok()) return ReportError(s);
  if (!a.junit.empty())
    if (Status s = WriteOut(a.junit, reporters::CompareJunit(r)); !s.ok()) return ReportError(s);
  for (const std::string& w : r.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  if (r.pairs.empty())
    return ReportError(FailedPreconditionError(
        "nothing to compare: no configuration is in both " + r.baseline + " and " +
        r.candidate));
  return r.regressions ? kExitRegression : kExitOk;
}

}  // namespace

void AddReportCommand(CLI::App& app, Action* action) {
  auto r = std::make_shared<ReportArgs>();
  CLI::App* report = app.add_subcommand(
      "report", "Medians with 95% CIs per device x model x quantization x backend x config");
  report->add_option("--db", r->db, "Store file")->capture_default_str();
  report->add_option("--sweep", r->sweep, "A sweep (UUID, 8+ characters of one, or \"last\")");
  report->add_flag("--last", r->last, "The newest sweep (the default)");
  report->add_option("--label", r->label, "Every sweep with this label (KEY=VALUE or KEY)");
  report->add_option("--commit", r->commit, "Every sweep by this edgebench commit (prefix)");
  report->add_option("--format", r->format, "md, csv, json or html")
      ->check(CLI::IsMember({"md", "csv", "json", "html"}))
      ->capture_default_str();
  report->add_option("-o,--output", r->out, "Output file (default: stdout)");
  report->add_option("--group-by", r->group_by,
                     "Row fields: device,model,quant,backend,threads,n_prompt,n_gen,n_depth,"
                     "n_batch,n_ctx (default: the whole configuration)")
      ->delimiter(',');
  report->add_option("--metrics", r->metrics, "Metric columns (default: the usual nine)")
      ->delimiter(',');
  report
      ->add_option("--side-by-side", r->side_by_side,
                   "One row per configuration with the FIELD's values side by side: medians "
                   "and the ratio first/other with its 95% CI (FIELD: backend)")
      ->type_name("FIELD")
      ->check(CLI::Validator(
          [](std::string& field) -> std::string {
            const std::vector<std::string>& known = reporters::SideBySideFields();
            if (std::find(known.begin(), known.end(), field) != known.end()) return "";
            std::string names;
            for (const std::string& k : known) names += (names.empty() ? "" : ", ") + k;
            return "unknown field \"" + field + "\" (accepted: " + names + ")";
          },
          "FIELD"));
  report->final_callback([r, action] { *action = [r] { return Report(*r); }; });

  auto c = std::make_shared<CompareArgs>();
  CLI::App* compare = app.add_subcommand(
      "compare", "Regression gate: exit 3 when the candidate is significantly worse");
  compare->add_option("--db", c->db, "Store file")->capture_default_str();
  compare->add_option("--baseline", c->baseline,
                      "A sweep id, \"last\", label:KEY=VALUE or commit:SHA (a bare word: "
                      "a sweep id, else a label, else a commit)")
      ->required();
  compare->add_option("--candidate", c->candidate, "As --baseline")->required();
  compare->add_option("--threshold", c->thresholds,
                      "Per metric, the change allowed: decode_tps=-3%,ttft_ms=+5% (the default "
                      "also holds prefill_tps=-3%)");
  compare->add_option("--alpha", c->alpha, "Significance level of the Mann-Whitney U test")
      ->check(CLI::Range(1e-6, 0.5))
      ->capture_default_str();
  compare->add_option("--junit", c->junit, "Write JUnit XML (one case per config x metric)");
  compare->add_option("--markdown", c->markdown, "Write the Markdown summary (for a PR)");
  CLI::Option* bb = compare->add_option(
      "--baseline-backend", c->baseline_backend,
      "Pair the baseline's rows of this backend with the candidate's rows of "
      "--candidate-backend (same configuration otherwise)");
  CLI::Option* cb = compare->add_option("--candidate-backend", c->candidate_backend,
                                        "The candidate's backend (with --baseline-backend)");
  const CLI::Validator named(
      [](std::string& v) -> std::string { return v.empty() ? "give a backend name" : ""; },
      "NAME");
  bb->type_name("NAME")->check(named)->needs(cb);
  cb->type_name("NAME")->check(named)->needs(bb);
  compare->final_callback([c, action] { *action = [c] { return Compare(*c); }; });
}

}  // namespace edgebench::cli
