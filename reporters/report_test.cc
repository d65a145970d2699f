#include <cmath>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <tinyxml2.h>

#include "reporters/compare.h"
#include "reporters/report.h"
#include "reporters/text.h"
#include "store/store.h"
#include "reporters/testing/store_fixture.h"
#include "tests/testing/testing.h"

namespace edgebench::reporters {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;
using edgebench::testing::TempDir;
using test_store::Around;
using test_store::StoreFixture;

TEST(Report, RowsHoldMediansWithIntervalsWithoutWarmups) {
  TempDir dir;
  StoreFixture f(dir.File("eb.db"));
  const int64_t sweep = f.Sweep("s");
  f.Run(sweep, 1, {10, 11, 12, 13, 14});
  f.Run(sweep, 2, {20, 20.2, 19.8, 20.1, 19.9}, {0, 12});
  auto data = LoadReport(f.store(), Selector{.sweep = "last"});
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  ASSERT_EQ(data->rows.size(), 2u);
  EXPECT_EQ(data->reps, 10);
  const ReportRow& a = data->rows[0];
  EXPECT_EQ(a.device, "pixel");
  EXPECT_EQ(a.model, "tiny-q4");
  EXPECT_EQ(a.quant, "Q4_0");
  EXPECT_EQ(a.threads, 1);
  const MetricStat& d = a.metrics.at("decode_tps");
  EXPECT_EQ(d.n, 5u);  // the warmup at 1 tok/s is not in
  EXPECT_DOUBLE_EQ(d.median, 12);
  EXPECT_LE(d.ci_lo, 12);
  EXPECT_GE(d.ci_hi, 12);
  EXPECT_GE(d.ci_lo, 10);
  EXPECT_LE(d.ci_hi, 14);
  EXPECT_DOUBLE_EQ(a.metrics.at("load_ms").median, 12.5);
  // 10..14: CV 13% -> noisy; the second row is steady but throttled.
  EXPECT_THAT(a.flags, ::testing::Contains("noisy"));
  EXPECT_THAT(a.flags, ::testing::Contains("missing:power"));
  const ReportRow& b = data->rows[1];
  EXPECT_THAT(b.flags, ::testing::Not(::testing::Contains("noisy")));
  EXPECT_THAT(b.flags, ::testing::Contains("throttled"));
  EXPECT_EQ(b.itl_ms.size(), 10u);  // 2 gaps x 5 repetitions
  EXPECT_DOUBLE_EQ(b.itl_ms[1], 20);
  // The timeline: one temperature series per device and zone.
  ASSERT_EQ(data->timeline.size(), 1u);
  EXPECT_EQ(data->timeline[0].name, "temp_c");
  EXPECT_EQ(data->timeline[0].t_s.size(), 10u);
  EXPECT_DOUBLE_EQ(data->timeline[0].t_s[0], 0);
}

TEST(Report, FailedAndInterruptedRunsAreFlaggedWithTheCause) {
  TempDir dir;
  StoreFixture f(dir.File("eb.db"));
  const int64_t sweep = f.Sweep("s");
  const int64_t lost = f.Run(sweep, 1, {10});
  ASSERT_TRUE(f.store()
                  .FinishRun(lost, store::RunStatus::kFailed, {}, "unavailable",
                             "device lost: ssh:pi5")
                  .ok());
  const int64_t stopped = f.Run(sweep, 2, {20});
  ASSERT_TRUE(f.store().FinishRun(stopped, store::RunStatus::kInterrupted, {}).ok());
  f.Run(sweep, 4, {30});
  const ReportData data = LoadReport(f.store(), Selector{}).value();
  ASSERT_EQ(data.rows.size(), 3u);
  EXPECT_THAT(data.rows[0].flags, ::testing::Contains("failed"));
  EXPECT_EQ(data.rows[0].error, "unavailable: device lost: ssh:pi5");
  EXPECT_THAT(data.rows[1].flags, ::testing::Contains("interrupted"));
  EXPECT_EQ(data.rows[1].error, "");
  EXPECT_THAT(data.rows[2].flags, ::testing::Not(::testing::Contains("failed")));
}

TEST(Report, SelectorsPickSweepsByIdLabelAndCommit) {
  TempDir dir;
  StoreFixture f(dir.File("eb.db"));
  f.Run(f.Sweep("nightly-1", R"(["purpose=nightly"])", "1111aaaa"), 1, {10, 10, 10});
  f.Run(f.Sweep("nightly-2", R"(["purpose=nightly"])", "2222bbbb"), 1, {12, 12, 12});
  f.Run(f.Sweep("pr", R"(["purpose=pr"])", "3333cccc"), 1, {14, 14, 14});
  auto by_label = LoadReport(f.store(), Selector::Parse("label:purpose=nightly").value());
  ASSERT_TRUE(by_label.ok()) << by_label.status().ToString();
  EXPECT_EQ(by_label->sweeps.size(), 2u);
  ASSERT_EQ(by_label->rows.size(), 1u);  // the same configuration, pooled
  EXPECT_EQ(by_label->rows[0].metrics.at("decode_tps").n, 6u);
  EXPECT_EQ(LoadReport(f.store(), Selector::Parse("label:purpose").value())->sweeps.size(), 3u);
  auto by_commit = LoadReport(f.store(), Selector::Parse("commit:2222").value());
  ASSERT_TRUE(by_commit.ok());
  EXPECT_DOUBLE_EQ(by_commit->rows[0].metrics.at("decode_tps").median, 12);
  auto by_id = LoadReport(f.store(), Selector::Parse(f.uuid(2).substr(0, 8)).value());
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(by_id->sweeps[0].name, "pr");
  EXPECT_EQ(LoadReport(f.store(), Selector::Parse("label:nope=1").value()).status().code(),
            StatusCode::kNotFound);
  EXPECT_FALSE(Selector::Parse("commit:ab").ok());
  // A bare word: a sweep id, else a label, else a commit.
  EXPECT_EQ(LoadReport(f.store(), Selector::Parse("purpose=pr").value())->sweeps.size(), 1u);
  EXPECT_EQ(LoadReport(f.store(), Selector::Parse("1111aa").value())->sweeps[0].name,
            "nightly-1");
  EXPECT_THAT(LoadReport(f.store(), Selector::Parse("nothing-at-all").value()).status().message(),
              HasSubstr("no sweep, label or commit \"nothing-at-all\""));
}

TEST(Report, GroupByPoolsAndMarksWhatVaries) {
  TempDir dir;
  StoreFixture f(dir.File("eb.db"));
  const int64_t sweep = f.Sweep("s");
  f.Run(sweep, 1, {10, 10});
  f.Run(sweep, 2, {20, 20});
  LoadOptions o;
  o.group_by = {"device", "model"};
  auto data = LoadReport(f.store(), Selector{}, o);
  ASSERT_TRUE(data.ok());
  ASSERT_EQ(data->rows.size(), 1u);
  EXPECT_EQ(data->rows[0].threads, -1);
  EXPECT_EQ(data->rows[0].metrics.at("decode_tps").n, 4u);
  EXPECT_THAT(RenderMarkdown(*data, DefaultReportMetrics()), HasSubstr(" * |"));
  o.group_by = {"colour"};
  EXPECT_EQ(LoadReport(f.store(), Selector{}, o).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(Report, MarkdownCsvAndJson) {
  TempDir dir;
  StoreFixture f(dir.File("eb.db"));
  const int64_t sweep = f.Sweep("s");
  f.Run(sweep, 1, {10, 11, 12});
  f.Run(sweep, 4, {30, 31, 32});
  const ReportData data = LoadReport(f.store(), Selector{}).value();
  const std::string md = RenderMarkdown(data, DefaultReportMetrics());
  EXPECT_THAT(md, HasSubstr("| device | model   | quant |    size | backend | threads |"));
  EXPECT_THAT(md, HasSubstr("decode_tps (tok/s)"));
  EXPECT_THAT(md, HasSubstr("11.00 ["));
  EXPECT_THAT(md, ::testing::Not(HasSubstr("avg_power_w")));  // nobody measured it
  const std::string csv = RenderCsv(data, {"decode_tps"});
  EXPECT_THAT(csv, ::testing::StartsWith("device,model,quant,size,backend,threads,"));
  EXPECT_THAT(csv, HasSubstr(",decode_tps_median,decode_tps_ci_lo,decode_tps_ci_hi,"
                             "decode_tps_n,flags\n"));
  EXPECT_THAT(csv, HasSubstr("pixel,tiny-q4,Q4_0,9437184,native,4,64,16,0,0,0,"));
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3);
  const json j = json::parse(RenderJson(data, DefaultReportMetrics()));
  ASSERT_EQ(j["rows"].size(), 2u);
  EXPECT_EQ(j["rows"][1]["threads"], 4);
  EXPECT_EQ(j["rows"][1]["metrics"]["decode_tps"]["median"], 31);
  EXPECT_EQ(j["rows"][1]["metrics"]["decode_tps"]["n"], 3);
  EXPECT_EQ(j["reps"], 6);
  EXPECT_FALSE(CheckMetricNames({"decode_tps", "speed"}).ok());
}

CompareResult CompareSweeps(StoreFixture& f, const std::string& a, const std::string& b,
                            CompareOptions o = {}) {
  const ReportData base = LoadReport(f.store(), Selector::Parse(a).value()).value();
  const ReportData cand = LoadReport(f.store(), Selector::Parse(b).value()).value();
  CompareResult r = CompareReports(base, cand, o);
  r.baseline = a;
  r.candidate = b;
  return r;
}

TEST(Compare, TenPercentSlowerIsARegressionAndTheSameBuildIsNot) {
  TempDir dir;
  StoreFixture f(dir.File("eb.db"));
  const int64_t base = f.Sweep("base");
  f.Run(base, 1, Around(100, 1, 10));
  f.Run(base, 2, Around(180, 2, 10));
  const int64_t same = f.Sweep("same");
  f.Run(same, 1, Around(100, 1, 10, 3));
  f.Run(same, 2, Around(180, 2, 10, 5));
  const int64_t slow = f.Sweep("slow");
  f.Run(slow, 1, Around(90, 1, 10, 1));
  f.Run(slow, 2, Around(180, 2, 10, 2));  // only threads=1 got slower

  CompareResult ok = CompareSweeps(f, f.uuid(0), f.uuid(1));
  EXPECT_EQ(ok.regressions, 0u);
  ASSERT_EQ(ok.pairs.size(), 2u);
  ASSERT_EQ(ok.pairs[0].metrics.size(), 3u);  // the default thresholds
  EXPECT_EQ(ok.pairs[0].metrics[0].verdict, Verdict::kSame);

  CompareResult bad = CompareSweeps(f, f.uuid(0), f.uuid(2));
  // decode_tps and prefill_tps fall 10%, ttft rises 11%: three regressions
  // in threads=1, none in threads=2.
  EXPECT_EQ(bad.regressions, 3u);
  const MetricComparison& d = bad.pairs[0].metrics[0];
  EXPECT_EQ(d.metric, "decode_tps");
  EXPECT_EQ(d.verdict, Verdict::kRegression);
  EXPECT_NEAR(d.ratio, 0.9, 0.01);
  EXPECT_LT(d.ratio_hi, 1);
  EXPECT_LT(d.p, 0.001);
  EXPECT_EQ(bad.pairs[1].metrics[0].verdict, Verdict::kSame);
  // A threshold wider than the drop lets it pass.
  CompareOptions loose;
  loose.thresholds = ParseThresholds("decode_tps=-15%").value();
  EXPECT_EQ(CompareSweeps(f, f.uuid(0), f.uuid(2), loose).regressions, 0u);
  // The other way round it is an improvement.
  CompareResult better = CompareSweeps(f, f.uuid(2), f.uuid(0));
  EXPECT_EQ(better.regressions, 0u);
  EXPECT_EQ(better.improvements, 3u);

  const std::string md = CompareMarkdown(bad);
  EXPECT_THAT(md, HasSubstr("### edgebench compare: ❌ 3 regressions"));
  EXPECT_THAT(md, HasSubstr("| pixel tiny-q4 Q4_0 t1 pp64 tg16 | decode_tps | -3% |"));
  EXPECT_THAT(md, HasSubstr("**REGRESSION**"));
  EXPECT_THAT(CompareMarkdown(ok), HasSubstr("✅ no regression"));
}

TEST(Compare, JunitIsWellFormedWithOneCasePerConfigurationAndMetric) {
  TempDir dir;
  StoreFixture f(dir.File("eb.db"));
  f.Run(f.Sweep("base"), 1, Around(100, 1, 8));
  f.Run(f.Sweep("cand \"<&>\""), 1, Around(80, 1, 8, 2));
  CompareResult r = CompareSweeps(f, f.uuid(0), f.uuid(1));
  r.candidate = "cand \"<&>\"";
  const std::string xml = CompareJunit(r);
  tinyxml2::XMLDocument doc;
  ASSERT_EQ(doc.Parse(xml.c_str()), tinyxml2::XML_SUCCESS) << xml;
  const tinyxml2::XMLElement* suites = doc.FirstChildElement("testsuites");
  ASSERT_NE(suites, nullptr);
  EXPECT_EQ(suites->IntAttribute("tests"), 3);
  EXPECT_EQ(suites->IntAttribute("failures"), 3);
  const tinyxml2::XMLElement* suite = suites->FirstChildElement("testsuite");
  ASSERT_NE(suite, nullptr);
  EXPECT_THAT(suite->Attribute("name"), HasSubstr("cand \"<&>\""));
  int cases = 0, failures = 0;
  for (const tinyxml2::XMLElement* c = suite->FirstChildElement("testcase"); c;
       c = c->NextSiblingElement("testcase")) {
    ++cases;
    EXPECT_THAT(c->Attribute("name"), HasSubstr("pixel tiny-q4"));
    if (const tinyxml2::XMLElement* fail = c->FirstChildElement("failure")) {
      ++failures;
      EXPECT_THAT(fail->Attribute("message"), HasSubstr("regression: "));
    }
  }
  EXPECT_EQ(cases, 3);
  EXPECT_EQ(failures, 3);
}

TEST(Compare, FewRepetitionsWarnAndUnpairedConfigurationsAreListed) {
  TempDir dir;
  StoreFixture f(dir.File("eb.db"));
  const int64_t a = f.Sweep("a");
  f.Run(a, 1, {10, 10, 10});
  f.Run(a, 8, {50, 50, 50});
  const int64_t b = f.Sweep("b");
  f.Run(b, 1, {10, 10, 10});
  f.Run(b, 2, {20, 20, 20});
  CompareResult r = CompareSweeps(f, f.uuid(0), f.uuid(1));
  EXPECT_EQ(r.pairs.size(), 1u);
  ASSERT_EQ(r.only_baseline.size(), 1u);
  EXPECT_THAT(r.only_baseline[0], HasSubstr("threads=8"));
  ASSERT_EQ(r.only_candidate.size(), 1u);
  ASSERT_FALSE(r.warnings.empty());
  EXPECT_THAT(r.warnings[0], HasSubstr("1 of 1 configurations have fewer than 5 repetitions"));
  EXPECT_EQ(r.warnings.size(), 1u);  // one line, not one per metric
  EXPECT_THAT(CompareMarkdown(r), HasSubstr("only in the baseline"));
}

TEST(Compare, WithoutBackendFlagsEachBackendPairsWithItself) {
  TempDir dir;
  StoreFixture f(dir.File("eb.db"));
  // llama.cpp at half native's speed in both sweeps: pairing across
  // backends would read as a 2x change.
  for (const char* name : {"a", "b"}) {
    const int64_t s = f.Sweep(name);
    f.RunBackend(s, "native", 1, Around(100, 1, 8, name[0] == 'a' ? 0 : 3));
    f.RunBackend(s, "llamacpp", 1, Around(50, 0.5, 8, name[0] == 'a' ? 1 : 4));
  }
  CompareResult r = CompareSweeps(f, f.uuid(0), f.uuid(1));
  ASSERT_EQ(r.pairs.size(), 2u);
  EXPECT_TRUE(r.only_baseline.empty());
  EXPECT_TRUE(r.only_candidate.empty());
  EXPECT_EQ(r.regressions, 0u);
  EXPECT_EQ(r.improvements, 0u);
  EXPECT_EQ(r.pairs[0].row.backend, "native");
  EXPECT_EQ(r.pairs[1].row.backend, "llamacpp");
  for (const ConfigComparison& c : r.pairs) {
    EXPECT_NEAR(c.metrics[0].ratio, 1, 0.02) << c.row.backend;
    EXPECT_NEAR(c.metrics[0].baseline_median, c.metrics[0].candidate_median, 2);
  }
}

TEST(Compare, BackendFlagsPairTwoBackendsOfOneSweep) {
  TempDir dir;
  StoreFixture f(dir.File("eb.db"));
  const int64_t s = f.Sweep("engines");
  f.RunBackend(s, "llamacpp", 1, Around(110, 1, 8));
  f.RunBackend(s, "native", 1, Around(100, 1, 8, 2));  // 9% slower
  f.RunBackend(s, "llamacpp", 2, Around(200, 1, 8));
  f.RunBackend(s, "native", 2, Around(200, 1, 8, 3));  // the same
  f.RunBackend(s, "native", 4, Around(300, 1, 8));     // no llama.cpp run
  CompareOptions o;
  o.baseline_backend = "llamacpp";
  o.candidate_backend = "native";
  CompareResult r = CompareSweeps(f, "last", "last", o);
  ASSERT_EQ(r.pairs.size(), 2u);
  EXPECT_EQ(r.pairs[0].row.threads, 1);
  EXPECT_EQ(r.pairs[0].row.backend, "llamacpp->native");
  const MetricComparison& d = r.pairs[0].metrics[0];
  EXPECT_EQ(d.metric, "decode_tps");
  EXPECT_NEAR(d.baseline_median, 110, 1.5);
  EXPECT_NEAR(d.candidate_median, 100, 1.5);
  EXPECT_NEAR(d.ratio, 100.0 / 110, 0.02);
  EXPECT_EQ(d.verdict, Verdict::kRegression);
  EXPECT_EQ(r.pairs[1].metrics[0].verdict, Verdict::kSame);
  EXPECT_EQ(r.regressions, 3u);  // threads=1: decode, prefill, ttft
  EXPECT_TRUE(r.only_baseline.empty());
  ASSERT_EQ(r.only_candidate.size(), 1u);
  EXPECT_THAT(r.only_candidate[0], HasSubstr("threads=4"));
  EXPECT_THAT(CompareMarkdown(r), HasSubstr("| pixel tiny-q4 Q4_0 llamacpp->native t1 pp64 tg16 |"));
  // The other way round, native is the baseline: an improvement.
  std::swap(o.baseline_backend, o.candidate_backend);
  CompareResult back = CompareSweeps(f, "last", "last", o);
  EXPECT_EQ(back.regressions, 0u);
  EXPECT_EQ(back.improvements, 3u);
  // A backend nobody ran: nothing pairs, and the warning says why.
  o.baseline_backend = "llama.cpp";
  CompareResult none = CompareSweeps(f, "last", "last", o);
  EXPECT_TRUE(none.pairs.empty());
  EXPECT_THAT(none.warnings, ::testing::Contains(HasSubstr(
                                 "the baseline has no row with backend \"llama.cpp\" "
                                 "(backends: llamacpp, native)")));
}

TEST(Compare, ThresholdsParse) {
  auto t = ParseThresholds("decode_tps=-3%,ttft_ms=+5");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->size(), 2u);
  EXPECT_EQ((*t)[0].metric, "decode_tps");
  EXPECT_DOUBLE_EQ((*t)[0].pct, -3);
  EXPECT_DOUBLE_EQ((*t)[1].pct, 5);
  EXPECT_THAT(ParseThresholds("speed=-3%").status().message(), HasSubstr("unknown metric"));
  EXPECT_THAT(ParseThresholds("decode_tps=fast").status().message(),
              HasSubstr("expected METRIC=±N%"));
  EXPECT_THAT(ParseThresholds("temp_start_c=+1%").status().message(),
              HasSubstr("neither higher nor lower"));
  EXPECT_FALSE(ParseThresholds("").ok());
}

}  // namespace
}  // namespace edgebench::reporters
