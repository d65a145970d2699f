#include "backends/sampler/sampler.h"

#include <cmath>
#include <map>

#include <gtest/gtest.h>

namespace edgebench::backends {
namespace {

Sampler Make(SamplerOptions o) { return std::move(Sampler::Create(o).value()); }

TEST(Sampler, GreedyTakesTheArgmaxLowestIdOnTies) {
  Sampler s = Make({});
  EXPECT_EQ(s.Sample(std::vector<float>{1, 5, 3, 5}), 1);
  EXPECT_EQ(s.Sample(std::vector<float>{-2, -1, -3}), 1);
  EXPECT_EQ(Argmax(std::vector<float>{0, 0, 0}), 0);
}

TEST(Sampler, TopKOfOneIsGreedy) {
  Sampler s = Make({.temperature = 5.0f, .top_k = 1, .seed = 3});
  for (int i = 0; i < 100; ++i) EXPECT_EQ(s.Sample(std::vector<float>{0.1f, 0.3f, 0.2f}), 1);
}

TEST(Sampler, SameSeedSameTokens) {
  std::vector<float> logits(1000);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = std::sin(i * 0.37f) * 3;
  Sampler a = Make({.temperature = 0.8f, .top_k = 40, .top_p = 0.95f, .seed = 42});
  Sampler b = Make({.temperature = 0.8f, .top_k = 40, .top_p = 0.95f, .seed = 42});
  Sampler c = Make({.temperature = 0.8f, .top_k = 40, .top_p = 0.95f, .seed = 43});
  int differ = 0;
  for (int i = 0; i < 200; ++i) {
    const int32_t x = a.Sample(logits);
    EXPECT_EQ(x, b.Sample(logits));
    differ += x != c.Sample(logits);
  }
  EXPECT_GT(differ, 50);
}

// Draws many samples and returns the frequency of each token.
std::map<int32_t, double> Frequencies(Sampler& s, const std::vector<float>& logits, int n) {
  std::map<int32_t, double> f;
  for (int i = 0; i < n; ++i) f[s.Sample(logits)] += 1.0 / n;
  return f;
}

TEST(Sampler, TemperatureOneFollowsTheSoftmax) {
  const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
  Sampler s = Make({.temperature = 1.0f, .seed = 7});
  auto f = Frequencies(s, logits, 200000);
  // 200k draws: the standard error of p = 0.5 is ~0.0011; 0.006 is > 5 sigma.
  EXPECT_NEAR(f[0], 0.5, 0.006);
  EXPECT_NEAR(f[1], 0.3, 0.006);
  EXPECT_NEAR(f[2], 0.2, 0.006);
}

TEST(Sampler, TemperatureSharpensAndFlattens) {
  const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
  Sampler cold = Make({.temperature = 0.5f, .seed = 1});
  // p ∝ p_i^2: 0.25, 0.09, 0.04 -> 0.658, 0.237, 0.105
  auto f = Frequencies(cold, logits, 200000);
  EXPECT_NEAR(f[0], 0.25 / 0.38, 0.006);
  EXPECT_NEAR(f[2], 0.04 / 0.38, 0.006);
}

TEST(Sampler, TopPKeepsTheSmallestNucleus) {
  // Probabilities 0.5, 0.3, 0.15, 0.05: top_p 0.75 keeps the first two (0.8).
  const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.15f),
                                     std::log(0.05f)};
  Sampler s = Make({.temperature = 1.0f, .top_p = 0.75f, .seed = 5});
  auto f = Frequencies(s, logits, 50000);
  EXPECT_EQ(f.count(2) + f.count(3), 0u);
  EXPECT_NEAR(f[0], 0.5 / 0.8, 0.01);
}

TEST(Sampler, MinPDropsTokensFarBelowTheBest) {
  // Relative to the best (0.5): 0.3 -> 0.6, 0.15 -> 0.3, 0.05 -> 0.1.
  const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.15f),
                                     std::log(0.05f)};
  Sampler s = Make({.temperature = 1.0f, .min_p = 0.2f, .seed = 9});
  auto f = Frequencies(s, logits, 50000);
  EXPECT_EQ(f.count(3), 0u);
  EXPECT_GT(f[2], 0.1);
}

TEST(Sampler, RejectsBadOptions) {
  EXPECT_FALSE(Sampler::Create({.top_k = -1}).ok());
  EXPECT_FALSE(Sampler::Create({.top_p = 0}).ok());
  EXPECT_FALSE(Sampler::Create({.top_p = 1.5f}).ok());
  EXPECT_FALSE(Sampler::Create({.min_p = 1}).ok());
  EXPECT_FALSE(Sampler::Create({.temperature = NAN}).ok());
  EXPECT_EQ(Sampler::Create({.top_p = 2}).status().message(), "sampler top_p must be in (0, 1]");
}

}  // namespace
}  // namespace edgebench::backends
