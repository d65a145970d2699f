// Every kernel variant against the generic one, the generic one against the
// format library's dequantize/quantize, and the run-time ISA choice.
//
// Tolerances are bounds, not guesses. With u = 2^-24 (float unit roundoff),
// recursive summation of m terms in float is off by at most about m * u *
// sum|term| (Higham, "Accuracy and Stability of Numerical Algorithms", 4.2).
// Integer parts are exact in every variant (int32 sums of int8 products; the
// ranges are checked in the kernels' comments), so variants differ only in
// the order of their float additions:
//  - float rows: every SIMD variant keeps >= 8 independent lane sums, so
//    each sum chain has <= n/8 terms plus a reduction and a scalar tail of
//    < 16; the generic one sums in double. Bound: (n/8 + 32) u S.
//  - quantized rows: one float term per block (d * integer sum), summed in
//    block order by generic and in lanes by SIMD. Bound: (2 nb + 32) u S.
// S is sum_i |w_i| |x_i| (for Q4_K the scale and min parts separately, as
// the kernel adds them separately). Quantization of activations must match
// gguf::QuantizeRow byte for byte: the SIMD versions use the same IEEE
// operations in the same order and reproduce roundf/lrintf ties exactly.
#include "backends/native/kernels/kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <ostream>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "backends/native/gguf/ggml_types.h"
#include "backends/native/gguf/quants.h"
#include "base/cpu_features.h"
#include "backends/native/kernels/internal/tables.h"

namespace edgebench::native::kernels {

namespace internal {
// gtest prints a parameter of a failing case: the name, not the bytes (found
// by argument-dependent lookup, so it lives beside the type).
void PrintTo(const NamedTable& v, std::ostream* os) { *os << v.name; }
}  // namespace internal

namespace {

using gguf::TensorType;

constexpr double kU = 1.0 / (1 << 24);  // float unit roundoff

const KernelTable& Generic() { return GetKernels(Isa::kGeneric); }

// ---- random but valid rows ----

class RowMaker {
 public:
  explicit RowMaker(uint32_t seed) : rng_(seed) {}

  float Uniform(float lo, float hi) {
    return std::uniform_real_distribution<float>(lo, hi)(rng_);
  }
  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  uint16_t Fp16(float lo, float hi) {  // finite, random sign
    const float v = Uniform(lo, hi);
    return gguf::Fp32ToFp16(Int(0, 1) ? v : -v);
  }
  void PutU16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }

  std::vector<float> Floats(int64_t n, float scale = 1.0f) {
    std::vector<float> v(static_cast<size_t>(n));
    for (float& f : v) f = Uniform(-scale, scale);
    return v;
  }

  // `n` weights of `type` at `out` (RowBytes(type, n) bytes).
  void Weights(TensorType type, int64_t n, uint8_t* out) {
    const int64_t bytes = gguf::RowBytes(type, n);
    switch (type) {
      case TensorType::kF32: {
        const std::vector<float> f = Floats(n);
        std::memcpy(out, f.data(), static_cast<size_t>(bytes));
        return;
      }
      case TensorType::kF16:
        for (int64_t i = 0; i < n; ++i)
          PutU16(out + 2 * i, gguf::Fp32ToFp16(Uniform(-2, 2)));
        return;
      case TensorType::kBF16:
        for (int64_t i = 0; i < n; ++i)
          PutU16(out + 2 * i, gguf::Fp32ToBf16(Uniform(-2, 2)));
        return;
      default:
        break;
    }
    // Quantized: random bytes everywhere, then valid scales. Every bit
    // pattern of the quant fields is a valid block.
    for (int64_t i = 0; i < bytes; ++i) out[i] = static_cast<uint8_t>(Int(0, 255));
    const int64_t nb = n / gguf::GetTypeTraits(type).block_size;
    const int64_t bs = gguf::GetTypeTraits(type).type_size;
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* blk = out + b * bs;
      switch (type) {
        case TensorType::kQ8_0:
        case TensorType::kQ4_0:
          PutU16(blk, Fp16(1e-3f, 2e-2f));
          break;
        case TensorType::kQ4_K:
          PutU16(blk, Fp16(1e-4f, 2e-3f));
          PutU16(blk + internal::kQ4_KDmin, Fp16(1e-4f, 2e-3f));
          break;
        case TensorType::kQ6_K:
          PutU16(blk + internal::kQ6_KD, Fp16(1e-5f, 1e-4f));
          break;
        default:
          ADD_FAILURE() << "no weight maker for "
                        << gguf::TypeName(static_cast<uint32_t>(type));
      }
    }
  }

  // `n` activations in VecDotType(weight_type): random quants in
  // [-127, 127] (what the quantizers produce), consistent Q8_K bsums.
  void Activations(TensorType weight_type, int64_t n, uint8_t* out) {
    const TensorType type = VecDotType(weight_type);
    if (type == TensorType::kF32) {
      const std::vector<float> f = Floats(n);
      std::memcpy(out, f.data(), f.size() * sizeof(float));
      return;
    }
    const int64_t nb = n / gguf::GetTypeTraits(type).block_size;
    for (int64_t b = 0; b < nb; ++b) {
      if (type == TensorType::kQ8_0) {
        uint8_t* blk = out + b * internal::kQ8_0Bytes;
        PutU16(blk, Fp16(1e-3f, 2e-2f));
        for (int i = 0; i < gguf::kQK8_0; ++i)
          blk[internal::kQ8_0Qs + i] =
              static_cast<uint8_t>(static_cast<int8_t>(Int(-127, 127)));
      } else {
        uint8_t* blk = out + b * internal::kQ8_KBytes;
        const float d = Uniform(1e-3f, 1e-2f);
        std::memcpy(blk, &d, 4);
        int8_t q[gguf::kQK_K];
        for (int8_t& v : q) v = static_cast<int8_t>(Int(-127, 127));
        std::memcpy(blk + internal::kQ8_KQs, q, sizeof q);
        for (int s = 0; s < gguf::kQK_K / 16; ++s) {
          int16_t sum = 0;
          for (int i = 0; i < 16; ++i) sum = static_cast<int16_t>(sum + q[16 * s + i]);
          std::memcpy(blk + internal::kQ8_KBsums + 2 * s, &sum, 2);
        }
      }
    }
  }

 private:
  std::mt19937 rng_;
};

// A byte buffer whose data starts `offset` bytes past a 64-byte boundary, so
// kernels see the misaligned rows an mmap'd GGUF file gives them.
class Buffer {
 public:
  Buffer(int64_t bytes, size_t offset)
      : storage_(static_cast<size_t>(bytes) + 128), offset_(offset) {}
  uint8_t* data() {
    const uintptr_t base = reinterpret_cast<uintptr_t>(storage_.data());
    return storage_.data() + ((64 - base % 64) % 64) + offset_;
  }

 private:
  std::vector<uint8_t> storage_;
  size_t offset_;
};

std::vector<float> Dequantize(TensorType type, const void* data, int64_t n) {
  // gguf::DequantizeRow reads block fields in place, so it needs the
  // blocks' natural alignment; the kernels do not (their rows are misaligned
  // on purpose), so the reference gets an aligned copy.
  std::vector<uint8_t> aligned(static_cast<size_t>(gguf::RowBytes(type, n)));
  std::memcpy(aligned.data(), data, aligned.size());
  std::vector<float> out(static_cast<size_t>(n));
  gguf::DequantizeRow(type, aligned.data(), out.data(), n);
  return out;
}

// S of the tolerance: sum |w_i| |x_i|; for Q4_K sum (|d sc q_i| + |dmin m|)|x_i|.
double AbsDotBound(TensorType type, const uint8_t* w, const uint8_t* x, int64_t n) {
  const std::vector<float> xf = Dequantize(VecDotType(type), x, n);
  if (type != TensorType::kQ4_K) {
    const std::vector<float> wf = Dequantize(type, w, n);
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += std::fabs(static_cast<double>(wf[i]) * xf[i]);
    return s;
  }
  double s = 0;
  for (int64_t b = 0; b < n / gguf::kQK_K; ++b) {
    const uint8_t* blk = w + b * internal::kQ4_KBytes;
    uint16_t dh, mh;
    std::memcpy(&dh, blk, 2);
    std::memcpy(&mh, blk + internal::kQ4_KDmin, 2);
    const double d = gguf::Fp16ToFp32(dh), dmin = gguf::Fp16ToFp32(mh);
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      gguf::GetScaleMinK4(j, blk + internal::kQ4_KScales, &sc, &m);
      for (int i = 0; i < 32; ++i) {
        const uint8_t byte = blk[internal::kQ4_KQs + 32 * (j / 2) + i];
        const int q = (j % 2) ? byte >> 4 : byte & 0xF;
        s += (std::fabs(d * sc * q) + std::fabs(dmin * m)) *
             std::fabs(xf[static_cast<size_t>(b * gguf::kQK_K + 32 * j + i)]);
      }
    }
  }
  return s;
}

double DotTolerance(TensorType type, int64_t n, double s) {
  const int64_t block = gguf::GetTypeTraits(type).block_size;
  const double terms = block == 1 ? n / 8.0 + 32 : 2.0 * (n / block) + 32;
  return terms * kU * s + 1e-30;
}

const TensorType kWeightTypes[] = {
    TensorType::kF32,  TensorType::kF16,  TensorType::kBF16, TensorType::kQ8_0,
    TensorType::kQ4_0, TensorType::kQ4_K, TensorType::kQ6_K};

// Row lengths: one block, a few (odd counts exercise pair loops), and rows
// of real models (4096, 5632, 11008 are multiples of 256). Float rows add
// lengths that leave every kind of SIMD tail.
std::vector<int64_t> Lengths(TensorType type) {
  switch (gguf::GetTypeTraits(type).block_size) {
    case 1:
      return {1, 3, 8, 15, 16, 17, 31, 33, 63, 64, 65, 127, 200, 4096, 5632, 11008};
    case 32:
      return {32, 64, 96, 160, 4096, 5632, 11008};
    default:
      return {256, 512, 768, 4096, 5632, 11008};
  }
}

std::string Name(TensorType t) { return std::string(gguf::GetTypeTraits(t).name); }

class KernelVariantTest : public ::testing::TestWithParam<internal::NamedTable> {};

TEST_P(KernelVariantTest, VecDotMatchesGeneric) {
  const KernelTable& k = *GetParam().table;
  RowMaker make(1234);
  for (TensorType type : kWeightTypes) {
    const bool quantized = gguf::GetTypeTraits(type).block_size > 1;
    for (int64_t n : Lengths(type)) {
      Buffer w(gguf::RowBytes(type, n), quantized ? 1 : 4);
      Buffer x(ActivationBytes(type, n), quantized ? 3 : 4);
      make.Weights(type, n, w.data());
      make.Activations(type, n, x.data());
      const float got = k.VecDot(type)(n, w.data(), x.data());
      const float want = Generic().VecDot(type)(n, w.data(), x.data());
      const double s = AbsDotBound(type, w.data(), x.data(), n);
      EXPECT_NEAR(got, want, DotTolerance(type, n, s)) << Name(type) << " n=" << n;
    }
  }
}

// The kernels compute what the format means: the dot product of the
// dequantized weights and activations (in double here).
TEST_P(KernelVariantTest, VecDotMatchesDequantizedDot) {
  const KernelTable& k = *GetParam().table;
  RowMaker make(99);
  for (TensorType type : kWeightTypes) {
    // Quantized rows at odd addresses; float rows keep their element
    // alignment (as in any GGUF file) but not the vector's.
    const bool quantized = gguf::GetTypeTraits(type).block_size > 1;
    for (int64_t n : Lengths(type)) {
      Buffer w(gguf::RowBytes(type, n), quantized ? 5 : 4);
      Buffer x(ActivationBytes(type, n), quantized ? 1 : 4);
      make.Weights(type, n, w.data());
      make.Activations(type, n, x.data());
      const std::vector<float> wf = Dequantize(type, w.data(), n);
      const std::vector<float> xf = Dequantize(VecDotType(type), x.data(), n);
      double want = 0;
      for (int64_t i = 0; i < n; ++i) want += static_cast<double>(wf[i]) * xf[i];
      const double s = AbsDotBound(type, w.data(), x.data(), n);
      // The kernel's summation error plus rounding in the dequantized values
      // themselves (one or two roundings each): (n/4 + 64) u S covers both.
      const double tol = (n / 4.0 + 64) * kU * s + 1e-30;
      EXPECT_NEAR(k.VecDot(type)(n, w.data(), x.data()), want, tol)
          << Name(type) << " n=" << n;
    }
  }
}

// Floats whose quantization hits every rounding corner: exact ties of
// roundf (away from zero) and lrintf (to even), equal magnitudes of both
// signs for the Q8_K "first largest" rule, an all-zero block, tiny values.
std::vector<float> QuantizeInputs(int64_t n, RowMaker& make, int block) {
  std::vector<float> x = make.Floats(n, 3.0f);
  if (n >= 2 * block) {
    // Block 0: amax 127 and 127 / 127 = 1 make x * scale = x exactly.
    float* b0 = x.data();
    for (int i = 0; i < block; ++i) b0[i] = static_cast<float>(i % 20) - 9.5f;
    b0[3] = -127.0f;
    b0[block - 1] = 127.0f;
    // Block 1: zeros.
    std::fill(x.begin() + block, x.begin() + 2 * block, 0.0f);
  }
  if (n >= 3 * block) {
    float* b2 = x.data() + 2 * block;
    for (int i = 0; i < block; ++i) b2[i] *= 1e-6f;
  }
  return x;
}

TEST_P(KernelVariantTest, QuantizeQ8_0MatchesReference) {
  const KernelTable& k = *GetParam().table;
  RowMaker make(7);
  for (int64_t n : {32, 64, 96, 4096}) {
    const std::vector<float> x = QuantizeInputs(n, make, gguf::kQK8_0);
    const int64_t bytes = gguf::RowBytes(TensorType::kQ8_0, n);
    Buffer got(bytes, 1);
    std::vector<uint8_t> want(static_cast<size_t>(bytes));
    k.quantize_q8_0(x.data(), got.data(), n);
    gguf::QuantizeRow(TensorType::kQ8_0, x.data(), want.data(), n);
    EXPECT_EQ(0, std::memcmp(got.data(), want.data(), want.size())) << "n=" << n;
  }
}

TEST_P(KernelVariantTest, QuantizeQ8_KMatchesReference) {
  const KernelTable& k = *GetParam().table;
  RowMaker make(8);
  for (int64_t n : {256, 768, 4096}) {
    std::vector<float> x = QuantizeInputs(n, make, gguf::kQK_K);
    if (n >= 768) {
      // +m before -m: the sign of the first one decides the scale's sign.
      x[2 * 256 + 5] = 4.0f;
      x[2 * 256 + 9] = -4.0f;
    }
    const int64_t bytes = gguf::RowBytes(TensorType::kQ8_K, n);
    Buffer got(bytes, 3);
    std::vector<uint8_t> want(static_cast<size_t>(bytes));
    k.quantize_q8_k(x.data(), got.data(), n);
    gguf::QuantizeRow(TensorType::kQ8_K, x.data(), want.data(), n);
    EXPECT_EQ(0, std::memcmp(got.data(), want.data(), want.size())) << "n=" << n;
  }
}

TEST_P(KernelVariantTest, QuantizeActivationsCopiesFloats) {
  const KernelTable& k = *GetParam().table;
  RowMaker make(3);
  const std::vector<float> x = make.Floats(64);
  std::vector<float> out(64);
  k.QuantizeActivations(TensorType::kBF16, x.data(), out.data(), 64);
  EXPECT_EQ(x, out);
}

// y + a * x rounds twice in generic and once (fma) in SIMD: per element the
// results differ by at most 2 u (|y| + |a x|).
TEST_P(KernelVariantTest, AxpyMatchesGeneric) {
  const KernelTable& k = *GetParam().table;
  RowMaker make(11);
  for (int64_t n : {1, 7, 8, 9, 16, 31, 64, 100, 4096}) {
    const std::vector<float> x = make.Floats(n);
    std::vector<uint16_t> xh(static_cast<size_t>(n));
    Generic().fp32_to_fp16(x.data(), xh.data(), n);
    const std::vector<float> y0 = make.Floats(n);
    const float a = 0.37f;
    std::vector<float> got = y0, want = y0;
    k.axpy_f32(n, a, x.data(), got.data());
    Generic().axpy_f32(n, a, x.data(), want.data());
    for (int64_t i = 0; i < n; ++i)
      ASSERT_NEAR(got[i], want[i], 2 * kU * (std::fabs(y0[i]) + std::fabs(a * x[i])))
          << "f32 n=" << n << " i=" << i;
    got = y0;
    want = y0;
    k.axpy_f16(n, a, xh.data(), got.data());
    Generic().axpy_f16(n, a, xh.data(), want.data());
    for (int64_t i = 0; i < n; ++i)
      ASSERT_NEAR(got[i], want[i], 2 * kU * (std::fabs(y0[i]) + 2 * std::fabs(a * x[i])))
          << "f16 n=" << n << " i=" << i;
  }
}

// Both directions are exact operations (round to nearest even), so every
// variant must agree bit for bit with gguf's conversions.
TEST_P(KernelVariantTest, Fp16ConversionsAreExact) {
  const KernelTable& k = *GetParam().table;
  // Every half: normals, subnormals, zeros, infinities (NaNs checked apart:
  // hardware quiets signalling NaNs, the scalar code keeps them).
  std::vector<uint16_t> all(65536);
  for (int i = 0; i < 65536; ++i) all[i] = static_cast<uint16_t>(i);
  std::vector<float> got(65536), want(65536);
  k.fp16_to_fp32(all.data(), got.data(), 65536);
  Generic().fp16_to_fp32(all.data(), want.data(), 65536);
  for (int i = 0; i < 65536; ++i) {
    if (std::isnan(want[i])) {
      ASSERT_TRUE(std::isnan(got[i])) << i;
    } else {
      ASSERT_EQ(0, std::memcmp(&got[i], &want[i], 4)) << "half 0x" << std::hex << i;
    }
  }
  // Floats around every fp16 range: overflow to inf, normals, subnormals,
  // underflow to zero, halfway cases; odd lengths leave tails.
  RowMaker make(5);
  for (int64_t n : {1, 7, 15, 17, 1000, 4099}) {
    std::vector<float> x(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      const float mag = std::ldexp(make.Uniform(1, 2), make.Int(-28, 17));
      x[i] = make.Int(0, 1) ? mag : -mag;
    }
    if (n >= 4) {
      x[0] = 1.0f + std::ldexp(1.0f, -11);  // exactly halfway between halves
      x[1] = 65520.0f;                      // rounds to infinity
      x[2] = std::ldexp(1.0f, -25);         // half the smallest subnormal
    }
    std::vector<uint16_t> h_got(static_cast<size_t>(n)), h_want(static_cast<size_t>(n));
    k.fp32_to_fp16(x.data(), h_got.data(), n);
    Generic().fp32_to_fp16(x.data(), h_want.data(), n);
    EXPECT_EQ(h_got, h_want) << "n=" << n;
  }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, KernelVariantTest, ::testing::ValuesIn(internal::AllTables()),
                         [](const ::testing::TestParamInfo<internal::NamedTable>& info) {
                           return info.param.name;
                         });

TEST(KernelsTest, TypeTable) {
  EXPECT_EQ(VecDotType(TensorType::kQ4_0), TensorType::kQ8_0);
  EXPECT_EQ(VecDotType(TensorType::kQ8_0), TensorType::kQ8_0);
  EXPECT_EQ(VecDotType(TensorType::kQ4_K), TensorType::kQ8_K);
  EXPECT_EQ(VecDotType(TensorType::kQ6_K), TensorType::kQ8_K);
  EXPECT_EQ(VecDotType(TensorType::kF16), TensorType::kF32);
  EXPECT_EQ(ActivationBytes(TensorType::kQ4_0, 4096), 4096 / 32 * 34);
  EXPECT_EQ(ActivationBytes(TensorType::kQ6_K, 4096), 4096 / 256 * 292);
  EXPECT_EQ(ActivationBytes(TensorType::kBF16, 10), 40);
  for (TensorType t : kWeightTypes) EXPECT_TRUE(HasKernel(t)) << Name(t);
  EXPECT_FALSE(HasKernel(TensorType::kQ5_K));
  EXPECT_FALSE(HasKernel(TensorType::kQ8_K));
}

TEST(KernelsTest, IsaNamesRoundTrip) {
  for (Isa isa :
       {Isa::kGeneric, Isa::kAvx2, Isa::kAvx512, Isa::kNeon, Isa::kNeonDotprod}) {
    const std::optional<Isa> parsed = ParseIsa(IsaName(isa));
    ASSERT_TRUE(parsed.has_value()) << IsaName(isa);
    EXPECT_EQ(*parsed, isa);
  }
  EXPECT_FALSE(ParseIsa("sse2").has_value());
}

TEST(KernelsTest, AvailableIsasAreConsistent) {
  const std::span<const Isa> isas = AvailableIsas();
  ASSERT_FALSE(isas.empty());
  EXPECT_EQ(isas.front(), Isa::kGeneric);
  for (Isa isa : isas) {
    EXPECT_TRUE(IsaAvailable(isa));
    EXPECT_EQ(GetKernels(isa).isa, isa);
  }
  const CpuFeatures& f = GetCpuFeatures();
  EXPECT_EQ(IsaAvailable(Isa::kNeonDotprod), IsaAvailable(Isa::kNeon) && f.asimddp);
  EXPECT_EQ(IsaAvailable(Isa::kAvx512),
            IsaAvailable(Isa::kAvx2) && f.avx512f && f.avx512bw && f.avx512vl);
  if (std::getenv("EDGEBENCH_ISA") == nullptr) {
    EXPECT_EQ(BestKernels().isa, isas.back());
  }
}

// Under qemu the host test names the ISAs the emulated CPU must yield
// (EDGEBENCH_EXPECT_ISAS=generic,neon for a cortex-a53): proves that feature
// detection, not luck, keeps dotprod code off a CPU without it.
TEST(KernelsTest, ExpectedIsas) {
  std::string names;
  for (Isa isa : AvailableIsas()) {
    if (!names.empty()) names += ',';
    names += IsaName(isa);
  }
  std::printf("cpu features: %s\navailable isas: %s\nbest: %s\n",
              CpuFeaturesString(GetCpuFeatures()).c_str(), names.c_str(),
              std::string(IsaName(BestKernels().isa)).c_str());
  const char* expected = std::getenv("EDGEBENCH_EXPECT_ISAS");
  if (expected == nullptr) GTEST_SKIP() << "EDGEBENCH_EXPECT_ISAS not set";
  EXPECT_EQ(names, expected);
  EXPECT_EQ(std::string(IsaName(BestKernels().isa)), names.substr(names.rfind(',') + 1));
}

TEST(CpuFeaturesTest, StringListsPresentFeaturesInOrder) {
  CpuFeatures f;
  EXPECT_EQ(CpuFeaturesString(f), "");
  f.avx2 = f.fma = f.avx512vnni = true;
  EXPECT_EQ(CpuFeaturesString(f), "avx2 fma avx512vnni");
  CpuFeatures arm;
  arm.asimd = arm.asimddp = arm.sve = true;
  EXPECT_EQ(CpuFeaturesString(arm), "asimd asimddp sve");
}

}  // namespace
}  // namespace edgebench::native::kernels
