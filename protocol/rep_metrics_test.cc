#include "protocol/rep_metrics.h"

#include <gtest/gtest.h>

#include "protocol/metrics.h"

namespace edgebench::protocol {
namespace {

constexpr int64_t kMs = 1000000;

TEST(Percentile, LinearBetweenClosestRanks) {
  EXPECT_DOUBLE_EQ(Percentile({1, 2, 3, 4}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(Percentile({1, 2, 3, 4}, 0.0), 1);
  EXPECT_DOUBLE_EQ(Percentile({1, 2, 3, 4}, 1.0), 4);
  EXPECT_DOUBLE_EQ(Percentile({10, 20, 30, 40, 50}, 0.9), 46);  // numpy.percentile
  EXPECT_DOUBLE_EQ(Percentile({7}, 0.99), 7);
  EXPECT_TRUE(std::isnan(Percentile({}, 0.5)));
}

// A repetition with round numbers: request at 0, prefill 10..110 ms of 50
// tokens, 5 tokens at 120, 140, 160, 180, 220 ms, end at 230 ms.
RepTiming Timing() {
  RepTiming r;
  r.t_request_ns = 0;
  r.prefill_t0_ns = 10 * kMs;
  r.prefill_t1_ns = 110 * kMs;
  r.n_prompt = 50;
  r.token_ns = {120 * kMs, 140 * kMs, 160 * kMs, 180 * kMs, 220 * kMs};
  r.t_end_ns = 230 * kMs;
  return r;
}

TEST(RepMetrics, SpeedAndLatencyByHand) {
  const auto m = ComputeRepMetrics(Timing(), {});
  EXPECT_DOUBLE_EQ(m.at("ttft_ms"), 120);
  EXPECT_DOUBLE_EQ(m.at("prefill_ms"), 100);
  EXPECT_DOUBLE_EQ(m.at("prefill_tps"), 500);  // 50 tokens / 0.1 s
  // (5 - 1) tokens over 220 - 120 = 100 ms.
  EXPECT_DOUBLE_EQ(m.at("decode_tps"), 40);
  // Inter-token latencies 20, 20, 20, 40.
  EXPECT_DOUBLE_EQ(m.at("itl_p50_ms"), 20);
  EXPECT_DOUBLE_EQ(m.at("itl_p90_ms"), 34);  // 20 + 0.7 * 20
  EXPECT_NEAR(m.at("itl_p99_ms"), 39.4, 1e-9);
  // Nothing measured, nothing reported.
  for (const char* absent : {"energy_j", "avg_power_w", "temp_max_c", "pss_mb", "peak_rss_mb"})
    EXPECT_EQ(m.count(absent), 0u) << absent;
  for (const auto& [name, v] : m) EXPECT_NE(FindMetricField(name), nullptr) << name;
}

TEST(RepMetrics, EnergyFromTheCumulativeSeries) {
  // A constant 2 W source sampled every 50 ms, cumulative energy in J.
  std::vector<Sample> s;
  for (int64_t t = -50; t <= 250; t += 50)
    s.push_back({t * kMs, {{"energy.primary_j", 2.0 * (t + 50) / 1000.0},
                           {"temp.cpu_c", 40.0 + t / 50.0},
                           {"mem.pss_kb", 2048.0 + t}}});
  RepTiming r = Timing();
  r.baseline_w = 0.5;
  const auto m = ComputeRepMetrics(r, s);
  EXPECT_NEAR(m.at("energy_j"), 2.0 * 0.230, 1e-12);  // 230 ms at 2 W
  EXPECT_NEAR(m.at("avg_power_w"), 2.0, 1e-12);
  EXPECT_NEAR(m.at("energy_net_j"), 1.5 * 0.230, 1e-12);
  // Prefill: 100 ms at 2 W = 0.2 J over 50 tokens = 4 mJ/token.
  EXPECT_NEAR(m.at("prefill_mj_per_tok"), 4.0, 1e-9);
  // Decode: 100 ms at 2 W = 0.2 J over 4 tokens = 50 mJ/token.
  EXPECT_NEAR(m.at("decode_mj_per_tok"), 50.0, 1e-9);
  // Samples within [0, 230] ms and the first after it: t = 0 .. 250.
  EXPECT_DOUBLE_EQ(m.at("temp_max_c"), 45.0);
  EXPECT_DOUBLE_EQ(m.at("pss_mb"), (2048.0 + 250) / 1024);
}

TEST(RepMetrics, WindowEndsAtTheClosingReadingNotTheFirstTickAfterTheEnd) {
  // The sampler thread ticked at 232 ms (cheap sources only) before the
  // runtime's closing full reading at 235 ms; a tick after it belongs to
  // the gap before the next repetition.
  const std::vector<Sample> s = {{100 * kMs, {{"temp.cpu_c", 40.0}}},
                                 {232 * kMs, {{"temp.cpu_c", 41.0}}},
                                 {235 * kMs, {{"temp.cpu_c", 42.0}, {"mem.pss_kb", 4096.0}}},
                                 {240 * kMs, {{"temp.cpu_c", 50.0}}}};
  RepTiming r = Timing();
  r.t_close_ns = 235 * kMs;
  auto m = ComputeRepMetrics(r, s);
  EXPECT_DOUBLE_EQ(m.at("pss_mb"), 4.0);
  EXPECT_DOUBLE_EQ(m.at("temp_max_c"), 42.0);
  // Without the closing time (an older stream) it is the first sample
  // after the end, which here misses PSS.
  r.t_close_ns = 0;
  m = ComputeRepMetrics(r, s);
  EXPECT_EQ(m.count("pss_mb"), 0u);
  EXPECT_DOUBLE_EQ(m.at("temp_max_c"), 41.0);
}

TEST(RepMetrics, NoEnergyWithoutSamplesAroundTheBoundaries) {
  // Energy observed only inside the repetition cannot be extrapolated.
  std::vector<Sample> s = {{50 * kMs, {{"energy.primary_j", 1.0}}},
                           {100 * kMs, {{"energy.primary_j", 1.1}}}};
  EXPECT_EQ(ComputeRepMetrics(Timing(), s).count("energy_j"), 0u);
}

TEST(RepMetrics, ThrottlingIsTheDropFromPeakToTheEnd) {
  std::vector<Sample> s;
  // A cluster ramps 1.0 -> 3.0 GHz, holds, then throttles to 2.4 GHz.
  const double f[] = {1.0e6, 3.0e6, 3.0e6, 3.0e6, 2.7e6, 2.4e6};
  for (int i = 0; i < 6; ++i) s.push_back({i * 40 * kMs, {{"freq.cluster0_khz", f[i]}}});
  const auto m = ComputeRepMetrics(Timing(), s);
  EXPECT_NEAR(m.at("freq_drop_pct"), 20.0, 1e-9);  // 3.0 -> 2.4
}

TEST(RepMetrics, ShortGenerations) {
  RepTiming one = Timing();
  one.token_ns = {120 * kMs};
  auto m = ComputeRepMetrics(one, {});
  EXPECT_DOUBLE_EQ(m.at("ttft_ms"), 120);
  EXPECT_EQ(m.count("decode_tps"), 0u);
  RepTiming none = Timing();
  none.token_ns.clear();
  m = ComputeRepMetrics(none, {});
  EXPECT_EQ(m.count("ttft_ms"), 0u);
  EXPECT_DOUBLE_EQ(m.at("prefill_tps"), 500);
}

}  // namespace
}  // namespace edgebench::protocol
