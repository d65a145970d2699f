#include "reporters/side_by_side.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "reporters/html.h"
#include "reporters/report.h"
#include "reporters/stats.h"
#include "reporters/text.h"
#include "reporters/testing/store_fixture.h"
#include "tests/testing/testing.h"

namespace edgebench::reporters {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using edgebench::testing::TempDir;
using nlohmann::json;
using test_store::Around;
using test_store::StoreFixture;

// A percentile bootstrap of median(a) / median(b) written out here, with
// its own generator: the view's interval must agree with it up to the
// resampling noise.
Interval IndependentRatioCi(const std::vector<double>& a, const std::vector<double>& b) {
  std::mt19937_64 rng(12345);
  auto median_of_resample = [&](const std::vector<double>& v) {
    std::uniform_int_distribution<size_t> pick(0, v.size() - 1);
    std::vector<double> r(v.size());
    for (double& x : r) x = v[pick(rng)];
    std::sort(r.begin(), r.end());
    const size_t n = r.size();
    return n % 2 ? r[n / 2] : (r[n / 2 - 1] + r[n / 2]) / 2;
  };
  std::vector<double> ratios;
  for (int i = 0; i < 20000; ++i) ratios.push_back(median_of_resample(a) / median_of_resample(b));
  std::sort(ratios.begin(), ratios.end());
  auto quantile = [&](double q) {
    const double h = (static_cast<double>(ratios.size()) - 1) * q;
    const size_t lo = static_cast<size_t>(std::floor(h));
    const size_t hi = std::min(lo + 1, ratios.size() - 1);
    return ratios[lo] + (h - static_cast<double>(lo)) * (ratios[hi] - ratios[lo]);
  };
  return {quantile(0.025), quantile(0.975)};
}

double MedianOf(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

class SideBySideTest : public ::testing::Test {
 protected:
  // threads=1: both backends (llamacpp stored first); threads=2: native only.
  void SetUp() override {
    f_ = std::make_unique<StoreFixture>(dir_.File("eb.db"));
    const int64_t sweep = f_->Sweep("engines");
    f_->RunBackend(sweep, "llamacpp", 1, llama_);
    f_->RunBackend(sweep, "native", 1, native_);
    f_->RunBackend(sweep, "native", 2, Around(180, 2, 9, 4));
    data_ = LoadReport(f_->store(), Selector{}).value();
  }
  SideBySide View() {
    auto v = MakeSideBySide(data_);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return std::move(*v);
  }
  TempDir dir_;
  std::unique_ptr<StoreFixture> f_;
  const std::vector<double> native_ = Around(100, 1, 9);
  const std::vector<double> llama_ = Around(50, 1, 9, 2);
  ReportData data_;
};

TEST_F(SideBySideTest, RowsThatDifferOnlyInTheBackendAreMergedNativeFirst) {
  ASSERT_EQ(data_.rows.size(), 3u);
  const SideBySide v = View();
  EXPECT_EQ(v.field, "backend");
  EXPECT_THAT(v.sides, ::testing::ElementsAre("native", "llamacpp"));
  // Only what was measured: no memory or energy in this store.
  EXPECT_THAT(v.metrics, ::testing::ElementsAre("prefill_tps", "decode_tps", "ttft_ms"));
  ASSERT_EQ(v.rows.size(), 2u);
  EXPECT_EQ(v.rows[0].config.threads, 1);
  EXPECT_EQ(v.rows[0].config.backend, "");
  EXPECT_THAT(v.rows[0].present, ::testing::ElementsAre(true, true));
  EXPECT_EQ(v.rows[0].config.run_ids.size(), 2u);
  const SideBySideMetric& decode = v.rows[0].metrics[1];
  EXPECT_DOUBLE_EQ(decode.sides[0].median, MedianOf(native_));
  EXPECT_DOUBLE_EQ(decode.sides[1].median, MedianOf(llama_));
  EXPECT_EQ(decode.sides[1].n, 9u);
}

TEST_F(SideBySideTest, TheRatioIsFirstOverSecondWithTheBootstrapCiOfCompare) {
  const SideBySide v = View();
  const SideBySideMetric& decode = v.rows[0].metrics[1];
  ASSERT_EQ(decode.ratios.size(), 1u);
  const RatioCi& q = decode.ratios[0];
  EXPECT_DOUBLE_EQ(q.ratio, MedianOf(native_) / MedianOf(llama_));
  EXPECT_NEAR(q.ratio, 2, 0.05);
  // The very interval compare computes (same seed and resamples) ...
  const RatioCi direct = BootstrapMedianRatio(llama_, native_, 1, 1000);
  EXPECT_DOUBLE_EQ(q.lo, direct.lo);
  EXPECT_DOUBLE_EQ(q.hi, direct.hi);
  // ... and one computed independently agrees with it.
  const Interval independent = IndependentRatioCi(native_, llama_);
  EXPECT_NEAR(q.lo, independent.lo, 0.02);
  EXPECT_NEAR(q.hi, independent.hi, 0.02);
  EXPECT_LT(q.lo, q.ratio);
  EXPECT_GT(q.hi, q.ratio);
  // TTFT is 1000 / decode here: native's is half of llama.cpp's.
  EXPECT_NEAR(v.rows[0].metrics[2].ratios[0].ratio, 0.5, 0.02);
}

TEST_F(SideBySideTest, AConfigurationOfOneBackendShowsTheOtherAsMissing) {
  const SideBySide v = View();
  const SideBySideRow& only_native = v.rows[1];
  EXPECT_EQ(only_native.config.threads, 2);
  EXPECT_THAT(only_native.present, ::testing::ElementsAre(true, false));
  EXPECT_EQ(only_native.metrics[1].sides[1].n, 0u);
  EXPECT_TRUE(std::isnan(only_native.metrics[1].ratios[0].ratio));
  const std::string md = RenderSideBySideMarkdown(v);
  // threads=2: native's decode median, then llama.cpp's and the ratio missing.
  EXPECT_THAT(md, ::testing::ContainsRegex(
                      R"(\| +2 \| +64 \| +16 \|[^\n]*\| +1[78][0-9]\.[0-9]+ \| +— \| +— \|)"))
      << md;
  EXPECT_THAT(md, HasSubstr(" 9/— |")) << md;
}

TEST_F(SideBySideTest, MarkdownHasOneColumnPerSideAndTheRatioDirection) {
  const SideBySide v = View();
  const std::string md = RenderSideBySideMarkdown(v);
  EXPECT_THAT(md, HasSubstr("| device | model   | quant | threads | n_prompt | n_gen |"));
  EXPECT_THAT(md, HasSubstr("| decode_tps native (tok/s) | decode_tps llamacpp (tok/s) | "
                            "decode_tps native/llamacpp |"));
  EXPECT_THAT(md, HasSubstr("ttft_ms native (ms)"));
  EXPECT_THAT(md, Not(HasSubstr("n_depth")));  // it does not vary
  char ratio[64];
  const RatioCi& q = v.rows[0].metrics[1].ratios[0];
  std::snprintf(ratio, sizeof ratio, "%s [%s, %s]", FormatValue(q.ratio).c_str(),
                FormatValue(q.lo).c_str(), FormatValue(q.hi).c_str());
  EXPECT_THAT(md, HasSubstr(std::string(" ") + ratio + " |")) << md;
  EXPECT_THAT(md, HasSubstr("ratio of medians native/llamacpp [95% bootstrap CI]"));
  // Every line of the table has as many cells as the header.
  std::vector<size_t> bars;
  size_t start = 0;
  for (size_t nl; (nl = md.find('\n', start)) != std::string::npos; start = nl + 1) {
    const std::string line = md.substr(start, nl - start);
    if (line.empty() || line[0] != '|') break;
    bars.push_back(static_cast<size_t>(std::count(line.begin(), line.end(), '|')));
  }
  ASSERT_EQ(bars.size(), 4u);  // header, rule, two rows
  EXPECT_EQ(std::count(bars.begin(), bars.end(), bars[0]), 4);
}

TEST_F(SideBySideTest, CsvSplitsMediansAndRatiosIntoColumns) {
  const SideBySide v = View();
  const std::string csv = RenderSideBySideCsv(v);
  EXPECT_THAT(csv, ::testing::StartsWith(
                       "device,model,quant,threads,n_prompt,n_gen,n_depth,n_batch,n_ctx,"
                       "prefill_tps_native_median,prefill_tps_native_n,"
                       "prefill_tps_llamacpp_median,prefill_tps_llamacpp_n,"
                       "prefill_tps_native_over_llamacpp,prefill_tps_native_over_llamacpp_ci_lo,"
                       "prefill_tps_native_over_llamacpp_ci_hi,"));
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3);
  // The header and the rows have the same number of fields.
  const size_t header_fields = std::count(csv.begin(), csv.begin() + csv.find('\n'), ',');
  size_t line2 = csv.find('\n') + 1, line3 = csv.find('\n', line2) + 1;
  EXPECT_EQ(std::count(csv.begin() + line2, csv.begin() + line3, ','), header_fields);
  EXPECT_EQ(std::count(csv.begin() + line3, csv.end(), ','), header_fields);
  char want[64];
  std::snprintf(want, sizeof want, ",%.6g,", v.rows[0].metrics[1].ratios[0].ratio);
  EXPECT_THAT(csv.substr(line2, line3 - line2), HasSubstr(want));
  // threads=2: llama.cpp's decode is empty with n 0, the ratio empty.
  EXPECT_THAT(csv.substr(line3), ::testing::StartsWith("pixel,tiny-q4,Q4_0,2,64,16,0,0,0,"));
  EXPECT_THAT(csv.substr(line3), HasSubstr(",,0,,,,"));
}

TEST_F(SideBySideTest, JsonNamesTheSidesAndTheRatios) {
  const SideBySide v = View();
  const json j = json::parse(RenderSideBySideJson(v));
  EXPECT_EQ(j["field"], "backend");
  EXPECT_EQ(j["sides"], json({"native", "llamacpp"}));
  EXPECT_EQ(j["ratios"], json({"native/llamacpp"}));
  ASSERT_EQ(j["rows"].size(), 2u);
  const json& r0 = j["rows"][0];
  EXPECT_EQ(r0["threads"], 1);
  EXPECT_DOUBLE_EQ(r0["decode_tps_native"]["median"].get<double>(), MedianOf(native_));
  EXPECT_EQ(r0["decode_tps_llamacpp"]["n"], 9);
  EXPECT_DOUBLE_EQ(r0["decode_tps_native_over_llamacpp"]["ratio"].get<double>(),
                   v.rows[0].metrics[1].ratios[0].ratio);
  EXPECT_DOUBLE_EQ(r0["decode_tps_native_over_llamacpp"]["ci_lo"].get<double>(),
                   v.rows[0].metrics[1].ratios[0].lo);
  const json& r1 = j["rows"][1];
  EXPECT_TRUE(r1["decode_tps_llamacpp"].is_null());
  EXPECT_TRUE(r1["decode_tps_native_over_llamacpp"].is_null());
  EXPECT_TRUE(r1["flags"].contains("native"));
  EXPECT_FALSE(r1["flags"].contains("llamacpp"));
}

TEST_F(SideBySideTest, HtmlPageHasTheSectionOnlyWhenAsked) {
  const SideBySide v = View();
  EXPECT_THAT(RenderHtml(data_), Not(HasSubstr("id=\"side-by-side\"")));
  HtmlOptions o;
  o.side_by_side = &v;
  const std::string html = RenderHtml(data_, o);
  const size_t section = html.find("<section id=\"side-by-side\"><h2>Side by side: backend");
  ASSERT_NE(section, std::string::npos);
  EXPECT_LT(html.find("id=\"summary\""), section);  // after the summary
  const std::string part = html.substr(section, html.find("</section>", section) - section);
  EXPECT_THAT(part, HasSubstr("<th class=\"num metric\">decode_tps native/llamacpp</th>"));
  EXPECT_THAT(part, HasSubstr("<th class=\"num metric\">decode_tps llamacpp (tok/s)</th>"));
  EXPECT_THAT(part, HasSubstr("<td class=\"num na\">—</td>"));
  EXPECT_THAT(part,
              HasSubstr("<span class=\"med\">" + FormatValue(v.rows[0].metrics[1].ratios[0].ratio)));
  EXPECT_EQ(std::count(part.begin(), part.end(), '\n'), 3);  // head line and two rows
}

TEST(SideBySide, ThreeBackendsGiveEachOtherOneRatioAgainstTheFirst) {
  TempDir dir;
  StoreFixture f(dir.File("eb.db"));
  const int64_t sweep = f.Sweep("s");
  f.RunBackend(sweep, "command", 1, {25, 25, 25});
  f.RunBackend(sweep, "llamacpp", 1, {50, 50, 50});
  f.RunBackend(sweep, "native", 1, {100, 100, 100});
  const SideBySide v = MakeSideBySide(LoadReport(f.store(), Selector{}).value()).value();
  EXPECT_THAT(v.sides, ::testing::ElementsAre("native", "command", "llamacpp"));
  ASSERT_EQ(v.rows.size(), 1u);
  const SideBySideMetric& decode = v.rows[0].metrics[1];
  ASSERT_EQ(decode.ratios.size(), 2u);
  // Equal repetitions: the bootstrap cannot move the ratio.
  EXPECT_DOUBLE_EQ(decode.ratios[0].ratio, 4);
  EXPECT_DOUBLE_EQ(decode.ratios[0].lo, 4);
  EXPECT_DOUBLE_EQ(decode.ratios[0].hi, 4);
  EXPECT_DOUBLE_EQ(decode.ratios[1].ratio, 2);
  EXPECT_EQ(RatioName(v, 0), "native/command");
  EXPECT_EQ(RatioName(v, 1), "native/llamacpp");
  EXPECT_THAT(RenderSideBySideMarkdown(v),
              HasSubstr("| decode_tps native/command | decode_tps native/llamacpp |"));
}

TEST(SideBySide, FlagsOfBothSidesShowOnceAndTheRestWithTheirSide) {
  TempDir dir;
  StoreFixture f(dir.File("eb.db"));
  const int64_t sweep = f.Sweep("s");
  f.RunBackend(sweep, "native", 1, {10, 10, 10});
  f.RunBackend(sweep, "llamacpp", 1, {10, 14, 6});  // CV 40%: noisy
  const SideBySide v = MakeSideBySide(LoadReport(f.store(), Selector{}).value()).value();
  const std::string md = RenderSideBySideMarkdown(v);
  EXPECT_THAT(md, HasSubstr("| missing:cpufreq, missing:power, missing:thermal, "
                            "llamacpp: noisy |"))
      << md;
  EXPECT_THAT(RenderSideBySideCsv(v),
              HasSubstr(",missing:cpufreq;missing:power;missing:thermal;llamacpp:noisy\n"));
  const json j = json::parse(RenderSideBySideJson(v));
  EXPECT_THAT(j["rows"][0]["flags"]["llamacpp"].get<std::vector<std::string>>(),
              ::testing::Contains("noisy"));
  EXPECT_THAT(j["rows"][0]["flags"]["native"].get<std::vector<std::string>>(),
              Not(::testing::Contains("noisy")));
}

TEST(SideBySide, UnknownFieldsMetricsAndPooledBackendsAreErrors) {
  TempDir dir;
  StoreFixture f(dir.File("eb.db"));
  const int64_t sweep = f.Sweep("s");
  f.RunBackend(sweep, "native", 1, {10, 10});
  f.RunBackend(sweep, "llamacpp", 1, {5, 5});
  const ReportData data = LoadReport(f.store(), Selector{}).value();
  auto bad = MakeSideBySide(data, {.field = "threads"});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("unknown field \"threads\" (fields: backend)"));
  EXPECT_THAT(MakeSideBySide(data, {.metrics = {"speed"}}).status().message(),
              HasSubstr("unknown metric \"speed\""));
  LoadOptions pooled;
  pooled.group_by = {"device", "model"};
  auto mixed = MakeSideBySide(LoadReport(f.store(), Selector{}, pooled).value());
  EXPECT_THAT(mixed.status().message(), HasSubstr("keep backend in --group-by"));
}

TEST(PairKey, LeavesOutOnlyTheField) {
  ReportRow a;
  a.device_key = "adb:R5";
  a.backend = "native";
  a.threads = 4;
  a.config_key = R"(device="my phone" model="a \"b backend=x\"" backend=native threads=4)";
  ReportRow b = a;
  b.backend = "llamacpp";
  b.config_key = R"(device="my phone" model="a \"b backend=x\"" backend=llamacpp threads=4)";
  EXPECT_EQ(PairKey(a, "backend"), PairKey(b, "backend"));
  EXPECT_THAT(PairKey(a, "backend"), HasSubstr(R"(model="a \"b backend=x\"" threads=4)"));
  EXPECT_NE(a.config_key, b.config_key);
  ReportRow c = a;
  c.threads = 2;
  c.config_key = R"(device="my phone" model="a \"b backend=x\"" backend=native threads=2)";
  EXPECT_NE(PairKey(a, "backend"), PairKey(c, "backend"));
  EXPECT_NE(PairKey(a, "threads"), PairKey(b, "threads"));
}

}  // namespace
}  // namespace edgebench::reporters
