// AVX-512 F/BW/VL kernels (Skylake-X, Ice Lake, Zen 4/5). Compiled with
// -mavx512f -mavx512bw -mavx512vl on top of -mavx2 -mfma -mf16c; kernels.cc
// hands the table out only when the CPU and OS support all of them. The
// integer dots here use vpmaddubsw + vpmaddwd; on a CPU with AVX512-VNNI
// kernels.cc swaps in the vpdpbusd versions of avx512_vnni.cc (same sums).
// GCC 12 warns about the _mm512_undefined_*() inside its own AVX-512
// intrinsics (gcc.gnu.org/PR105593); the pragmas cover the header's lines.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstdint>
#include <cstring>

#include "backends/native/kernels/internal/tables.h"
#include "backends/native/kernels/x86/avx512_dots.h"

namespace edgebench::native::kernels::internal {

namespace {

struct MaddubsDot {
  static __m512i Dot(__m512i acc, __m512i u, __m512i s) {
    return _mm512_add_epi32(
        acc, _mm512_madd_epi16(_mm512_maddubs_epi16(u, s), _mm512_set1_epi16(1)));
  }
  static __m512i DotScaled(__m512i acc, __m512i u, __m512i s, __m512i scale) {
    // vpmaddwd multiplies each int16 pair by its own pair: put the scale in
    // both halves of its int32 lane.
    const __m512i pairs = _mm512_or_si512(
        _mm512_and_si512(scale, _mm512_set1_epi32(0xFFFF)), _mm512_slli_epi32(scale, 16));
    return _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_maddubs_epi16(u, s), pairs));
  }
};

// ---- float rows ----

inline __mmask16 TailMask(int64_t left) {
  return static_cast<__mmask16>((1u << left) - 1);  // left in 1..15
}

// The weight stream is read 256 bits at a time: on the Zen 5 VM measured
// here, 512-bit loads streaming from DRAM ran ~25% slower (33 vs 46 GB/s,
// kernels_bench F32 5632x2048) than the same bytes in 256-bit halves.
inline __m512 LoadF32Split(const float* p) {
  return _mm512_castpd_ps(
      _mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(_mm256_loadu_ps(p))),
                         _mm256_castps_pd(_mm256_loadu_ps(p + 8)), 1));
}

float VecDotF32(int64_t n, const void* w, const void* x) {
  const float* a = static_cast<const float*>(w);
  const float* b = static_cast<const float*>(x);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    acc0 = _mm512_fmadd_ps(LoadF32Split(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(LoadF32Split(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
    acc2 = _mm512_fmadd_ps(LoadF32Split(a + i + 32), _mm512_loadu_ps(b + i + 32), acc2);
    acc3 = _mm512_fmadd_ps(LoadF32Split(a + i + 48), _mm512_loadu_ps(b + i + 48), acc3);
  }
  for (; i + 16 <= n; i += 16)
    acc0 = _mm512_fmadd_ps(LoadF32Split(a + i), _mm512_loadu_ps(b + i), acc0);
  if (i < n) {
    const __mmask16 m = TailMask(n - i);
    acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i),
                           _mm512_maskz_loadu_ps(m, b + i), acc1);
  }
  return _mm512_reduce_add_ps(
      _mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

inline __m512 LoadF16x16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
inline __m512 LoadF16Tail(const uint16_t* p, __mmask16 m) {
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}
inline __m512 LoadBf16x16(const uint16_t* p) {
  const __m512i v =
      _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
}
inline __m512 LoadBf16Tail(const uint16_t* p, __mmask16 m) {
  const __m512i v = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
}

float VecDotF16(int64_t n, const void* w, const void* x) {
  const uint16_t* a = static_cast<const uint16_t*>(w);
  const float* b = static_cast<const float*>(x);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    acc0 = _mm512_fmadd_ps(LoadF16x16(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(LoadF16x16(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
    acc2 = _mm512_fmadd_ps(LoadF16x16(a + i + 32), _mm512_loadu_ps(b + i + 32), acc2);
    acc3 = _mm512_fmadd_ps(LoadF16x16(a + i + 48), _mm512_loadu_ps(b + i + 48), acc3);
  }
  for (; i + 16 <= n; i += 16)
    acc0 = _mm512_fmadd_ps(LoadF16x16(a + i), _mm512_loadu_ps(b + i), acc0);
  if (i < n) {
    const __mmask16 m = TailMask(n - i);
    acc1 = _mm512_fmadd_ps(LoadF16Tail(a + i, m), _mm512_maskz_loadu_ps(m, b + i), acc1);
  }
  return _mm512_reduce_add_ps(
      _mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

float VecDotBf16(int64_t n, const void* w, const void* x) {
  const uint16_t* a = static_cast<const uint16_t*>(w);
  const float* b = static_cast<const float*>(x);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  __m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    acc0 = _mm512_fmadd_ps(LoadBf16x16(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(LoadBf16x16(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
    acc2 = _mm512_fmadd_ps(LoadBf16x16(a + i + 32), _mm512_loadu_ps(b + i + 32), acc2);
    acc3 = _mm512_fmadd_ps(LoadBf16x16(a + i + 48), _mm512_loadu_ps(b + i + 48), acc3);
  }
  for (; i + 16 <= n; i += 16)
    acc0 = _mm512_fmadd_ps(LoadBf16x16(a + i), _mm512_loadu_ps(b + i), acc0);
  if (i < n) {
    const __mmask16 m = TailMask(n - i);
    acc1 = _mm512_fmadd_ps(LoadBf16Tail(a + i, m), _mm512_maskz_loadu_ps(m, b + i), acc1);
  }
  return _mm512_reduce_add_ps(
      _mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

float VecDotQ8_0(int64_t n, const void* w, const void* x) {
  return VecDotQ8_0T<MaddubsDot>(n, w, x);
}
float VecDotQ4_0(int64_t n, const void* w, const void* x) {
  return VecDotQ4_0T<MaddubsDot>(n, w, x);
}
float VecDotQ4_K(int64_t n, const void* w, const void* x) {
  return VecDotQ4_KT<MaddubsDot>(n, w, x);
}
float VecDotQ6_K(int64_t n, const void* w, const void* x) {
  return VecDotQ6_KT<MaddubsDot>(n, w, x);
}

// ---- activations ----

inline __m512 Abs(__m512 v) {
  return _mm512_castsi512_ps(
      _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7fffffff)));
}

// roundf(): to nearest, ties away from zero. v - trunc(v) is exact.
inline __m512 RoundHalfAway(__m512 v) {
  const __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __mmask16 tie_or_more =
      _mm512_cmp_ps_mask(Abs(_mm512_sub_ps(v, t)), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
  const __m512 away = _mm512_castsi512_ps(_mm512_or_si512(
      _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(INT32_MIN)),
      _mm512_castps_si512(_mm512_set1_ps(1.0f))));
  return _mm512_mask_add_ps(t, tie_or_more, t, away);
}

inline void StoreI8x16(uint8_t* p, __m512i v) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm512_cvtepi32_epi8(v));
}

// Bit-identical to gguf::QuantizeRow(Q8_0); see avx2.cc.
void QuantizeQ8_0(const float* x, void* out, int64_t n) {
  uint8_t* o = static_cast<uint8_t*>(out);
  for (int64_t b = 0; b < n / gguf::kQK8_0; ++b, x += gguf::kQK8_0, o += kQ8_0Bytes) {
    const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(Abs(v0), Abs(v1)));
    const float d = amax / 127;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    const uint16_t dh = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
    std::memcpy(o, &dh, sizeof dh);
    const __m512 idv = _mm512_set1_ps(id);
    StoreI8x16(o + kQ8_0Qs, _mm512_cvttps_epi32(RoundHalfAway(_mm512_mul_ps(v0, idv))));
    StoreI8x16(o + kQ8_0Qs + 16,
               _mm512_cvttps_epi32(RoundHalfAway(_mm512_mul_ps(v1, idv))));
  }
}

// Bit-identical to gguf::QuantizeRow(Q8_K); see avx2.cc.
void QuantizeQ8_K(const float* x, void* out, int64_t n) {
  uint8_t* o = static_cast<uint8_t*>(out);
  for (int64_t b = 0; b < n / gguf::kQK_K; ++b, x += gguf::kQK_K, o += kQ8_KBytes) {
    __m512 m = _mm512_setzero_ps();
    for (int k = 0; k < 16; ++k) m = _mm512_max_ps(m, Abs(_mm512_loadu_ps(x + 16 * k)));
    const float amax = _mm512_reduce_max_ps(m);
    if (amax == 0) {
      std::memset(o, 0, kQ8_KBytes);
      continue;
    }
    float max = amax;
    const __m512 amax_v = _mm512_set1_ps(amax);
    for (int k = 0; k < 16; ++k) {
      const __mmask16 hits =
          _mm512_cmp_ps_mask(Abs(_mm512_loadu_ps(x + 16 * k)), amax_v, _CMP_EQ_OQ);
      if (hits) {
        max = x[16 * k + __builtin_ctz(hits)];
        break;
      }
    }
    const float iscale = -127.f / max;
    const __m512 iv = _mm512_set1_ps(iscale);
    const __m512i cap = _mm512_set1_epi32(127);
    int16_t bsums[gguf::kQK_K / 16];
    for (int k = 0; k < 16; ++k) {
      const __m512i q = _mm512_min_epi32(
          cap, _mm512_cvtps_epi32(_mm512_mul_ps(iv, _mm512_loadu_ps(x + 16 * k))));
      StoreI8x16(o + kQ8_KQs + 16 * k, q);
      bsums[k] = static_cast<int16_t>(_mm512_reduce_add_epi32(q));
    }
    std::memcpy(o + kQ8_KBsums, bsums, sizeof bsums);
    const float d = 1 / iscale;
    std::memcpy(o, &d, sizeof d);
  }
}

// ---- axpy and conversions ----

void AxpyF16(int64_t n, float a, const uint16_t* x, float* y) {
  const __m512 av = _mm512_set1_ps(a);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(y + i,
                     _mm512_fmadd_ps(av, LoadF16x16(x + i), _mm512_loadu_ps(y + i)));
  if (i < n) {
    const __mmask16 m = TailMask(n - i);
    _mm512_mask_storeu_ps(
        y + i, m,
        _mm512_fmadd_ps(av, LoadF16Tail(x + i, m), _mm512_maskz_loadu_ps(m, y + i)));
  }
}

void AxpyF32(int64_t n, float a, const float* x, float* y) {
  const __m512 av = _mm512_set1_ps(a);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(y + i,
                     _mm512_fmadd_ps(av, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
  if (i < n) {
    const __mmask16 m = TailMask(n - i);
    _mm512_mask_storeu_ps(y + i, m,
                          _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, x + i),
                                          _mm512_maskz_loadu_ps(m, y + i)));
  }
}

void Fp32ToFp16(const float* x, uint16_t* y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(
        reinterpret_cast<__m256i*>(y + i),
        _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
  if (i < n) {
    const __mmask16 m = TailMask(n - i);
    _mm256_mask_storeu_epi16(
        y + i, m,
        _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i), _MM_FROUND_TO_NEAREST_INT));
  }
}

void Fp16ToFp32(const uint16_t* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, LoadF16x16(x + i));
  if (i < n) {
    const __mmask16 m = TailMask(n - i);
    _mm512_mask_storeu_ps(y + i, m, LoadF16Tail(x + i, m));
  }
}

}  // namespace

const KernelTable& Avx512Kernels() {
  static const KernelTable table = {
      .isa = Isa::kAvx512,
      .vec_dot_f32 = VecDotF32,
      .vec_dot_f16 = VecDotF16,
      .vec_dot_bf16 = VecDotBf16,
      .vec_dot_q8_0 = VecDotQ8_0,
      .vec_dot_q4_0 = VecDotQ4_0,
      .vec_dot_q4_k = VecDotQ4_K,
      .vec_dot_q6_k = VecDotQ6_K,
      .quantize_q8_0 = QuantizeQ8_0,
      .quantize_q8_k = QuantizeQ8_K,
      .axpy_f16 = AxpyF16,
      .axpy_f32 = AxpyF32,
      .fp32_to_fp16 = Fp32ToFp16,
      .fp16_to_fp32 = Fp16ToFp32,
  };
  return table;
}

}  // namespace edgebench::native::kernels::internal
