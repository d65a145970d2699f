#include "backends/native/gguf/quants.h"

#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace edgebench::gguf {
namespace {

std::vector<float> Gaussian(int64_t n, uint64_t seed, float scale = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

std::vector<float> RoundTrip(TensorType t, const std::vector<float>& x) {
  std::vector<uint8_t> q(RowBytes(t, static_cast<int64_t>(x.size())));
  QuantizeRow(t, x.data(), q.data(), static_cast<int64_t>(x.size()));
  std::vector<float> y(x.size());
  DequantizeRow(t, q.data(), y.data(), static_cast<int64_t>(x.size()));
  return y;
}

double RelRmsError(const std::vector<float>& x, const std::vector<float>& y) {
  double num = 0, den = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    num += (x[i] - y[i]) * double(x[i] - y[i]);
    den += x[i] * double(x[i]);
  }
  return std::sqrt(num / den);
}

TEST(Fp16, EveryHalfRoundTrips) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = Fp16ToFp32(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(Fp16ToFp32(Fp32ToFp16(f)))) << h;
      continue;
    }
    ASSERT_EQ(Fp32ToFp16(f), h) << "half 0x" << std::hex << h;
  }
  EXPECT_EQ(Fp16ToFp32(0x3c00), 1.0f);
  EXPECT_EQ(Fp16ToFp32(0xc000), -2.0f);
  EXPECT_EQ(Fp16ToFp32(0x7bff), 65504.0f);
  EXPECT_EQ(Fp16ToFp32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(Fp32ToFp16(1e6f), 0x7c00);                     // overflow to +inf
  EXPECT_EQ(Fp32ToFp16(-1e-9f), 0x8000);                   // underflow to -0
}

#if defined(__x86_64__)
__attribute__((target("f16c"))) uint16_t HardwareFp16(float f) {
  return static_cast<uint16_t>(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
}

TEST(Fp16, MatchesF16cRounding) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_F16C))
    GTEST_SKIP() << "this CPU has no F16C";
  std::mt19937 rng(7);
  for (int i = 0; i < 2000000; ++i) {
    uint32_t bits = rng();
    float f;
    std::memcpy(&f, &bits, 4);
    if (std::isnan(f)) continue;
    ASSERT_EQ(Fp32ToFp16(f), HardwareFp16(f)) << "bits 0x" << std::hex << bits;
  }
}
#endif

TEST(Bf16, RoundsToNearestEven) {
  EXPECT_EQ(Fp32ToBf16(1.0f), 0x3f80);
  EXPECT_EQ(Bf16ToFp32(0x3f80), 1.0f);
  // 1 + 2^-8 is exactly halfway between two bf16 values: ties to even (down).
  EXPECT_EQ(Fp32ToBf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);
  // 1 + 3·2^-8 is halfway too, and rounds up to the even neighbour.
  EXPECT_EQ(Fp32ToBf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
  EXPECT_TRUE(std::isnan(Bf16ToFp32(Fp32ToBf16(NAN))));
}

TEST(Q4_0, ExactValuesSurviveAndNibblesAreWhereGgmlPutsThem) {
  // Integers in -8..7 whose largest magnitude is -8 give d = 1 exactly.
  std::vector<float> x(32);
  for (int i = 0; i < 16; ++i) {
    x[i] = static_cast<float>(i - 8);       // -8 .. 7
    x[i + 16] = static_cast<float>(7 - i);  //  7 .. -8
  }
  EXPECT_EQ(RoundTrip(TensorType::kQ4_0, x), x);
  BlockQ4_0 b;
  QuantizeRow(TensorType::kQ4_0, x.data(), &b, 32);
  EXPECT_EQ(Fp16ToFp32(b.d), 1.0f);
  // Element i < 16 is the low nibble of qs[i], element i + 16 the high one.
  EXPECT_EQ(b.qs[0], 0xF0);   // x[0] = -8 -> 0, x[16] = 7 -> 15
  EXPECT_EQ(b.qs[15], 0x0F);  // x[15] = 7 -> 15, x[31] = -8 -> 0
}

TEST(Q8_0, ErrorWithinHalfAStep) {
  auto x = Gaussian(4096, 1);
  auto y = RoundTrip(TensorType::kQ8_0, x);
  for (size_t b = 0; b < x.size(); b += 32) {
    float amax = 0;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[b + i]));
    const float step = amax / 127;
    for (int i = 0; i < 32; ++i)
      ASSERT_LE(std::fabs(x[b + i] - y[b + i]), step * 0.5f + amax * 1e-3f) << b + i;
  }
}

TEST(Quants, ErrorIsWhatEachFormatAllows) {
  // Gaussian weights: relative RMS error of each format. The bounds are
  // what the bit budgets give (≈ 2^-bits scaled by the block's range), with
  // margin; they catch a wrong layout or scale by orders of magnitude.
  auto x = Gaussian(256 * 64, 2, 0.02f);
  EXPECT_LT(RelRmsError(x, RoundTrip(TensorType::kF16, x)), 1e-3);
  EXPECT_LT(RelRmsError(x, RoundTrip(TensorType::kBF16, x)), 4e-3);
  EXPECT_LT(RelRmsError(x, RoundTrip(TensorType::kQ8_0, x)), 0.01);
  EXPECT_LT(RelRmsError(x, RoundTrip(TensorType::kQ6_K, x)), 0.04);
  EXPECT_LT(RelRmsError(x, RoundTrip(TensorType::kQ4_K, x)), 0.12);
  EXPECT_LT(RelRmsError(x, RoundTrip(TensorType::kQ4_0, x)), 0.15);
  EXPECT_EQ(RoundTrip(TensorType::kF32, x), x);
}

TEST(Quants, ZerosStayZero) {
  std::vector<float> z(512, 0.0f);
  for (TensorType t : {TensorType::kQ4_0, TensorType::kQ8_0, TensorType::kQ4_K,
                       TensorType::kQ6_K, TensorType::kQ8_K})
    EXPECT_EQ(RoundTrip(t, z), z) << GetTypeTraits(t).name;
}

TEST(Q8_K, BlockSumsMatchQuants) {
  auto x = Gaussian(512, 3);
  std::vector<BlockQ8_K> q(2);
  QuantizeRow(TensorType::kQ8_K, x.data(), q.data(), 512);
  for (const BlockQ8_K& b : q)
    for (int g = 0; g < 16; ++g) {
      int sum = 0;
      for (int i = 0; i < 16; ++i) sum += b.qs[16 * g + i];
      EXPECT_EQ(b.bsums[g], sum);
    }
  EXPECT_LT(RelRmsError(x, RoundTrip(TensorType::kQ8_K, x)), 0.01);
}

TEST(Q4_K, ScaleAndMinPackingCoversAll6BitValues) {
  // Pack every (scale, min) pair into each of the 8 positions through the
  // quantizer's layout and read them back with GetScaleMinK4.
  for (int j = 0; j < 8; ++j)
    for (int sc = 0; sc < 64; ++sc)
      for (int m = 0; m < 64; m += 7) {
        uint8_t scales[12] = {};
        if (j < 4) {
          scales[j] = static_cast<uint8_t>(sc);
          scales[j + 4] = static_cast<uint8_t>(m);
        } else {
          scales[j + 4] = static_cast<uint8_t>((sc & 0xF) | ((m & 0xF) << 4));
          scales[j - 4] |= static_cast<uint8_t>((sc >> 4) << 6);
          scales[j] |= static_cast<uint8_t>((m >> 4) << 6);
        }
        uint8_t got_sc, got_m;
        GetScaleMinK4(j, scales, &got_sc, &got_m);
        ASSERT_EQ(got_sc, sc);
        ASSERT_EQ(got_m, m);
      }
}

}  // namespace
}  // namespace edgebench::gguf
