// AVX2 + FMA + F16C kernels (Haswell, Zen 1 and later). Compiled with
// -mavx2 -mfma -mf16c for this file only; kernels.cc hands the table out
// only when the CPU and OS support all three. Everything here has internal
// linkage (see internal/tables.h for why).
//
// Integer dot products use vpmaddubsw (u8 x s8 -> s16 pairs) and vpmaddwd
// (s16 pairs -> s32); the unsigned operand is the weight's non-negative
// quant, or |w| with w's sign moved onto the activation for Q8_0.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "backends/native/kernels/internal/tables.h"

namespace edgebench::native::kernels::internal {

namespace {

// ---- helpers ----

inline float LoadFp16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, sizeof h);
  return _cvtsh_ss(h);
}
inline float LoadF32(const uint8_t* p) {
  float f;
  std::memcpy(&f, p, sizeof f);
  return f;
}
inline const uint8_t* Bytes(const void* p) { return static_cast<const uint8_t*>(p); }
inline __m256i Load256(const uint8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}
inline __m128i Load128(const uint8_t* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

inline float HsumPs(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline int32_t HsumEpi32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

// Sums of 4 adjacent u8 x s8 products, as 8 int32 lanes.
inline __m256i DotU8S8(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

// ---- float rows ----

float VecDotF32(int64_t n, const void* w, const void* x) {
  const float* a = static_cast<const float*>(w);
  const float* b = static_cast<const float*>(x);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
    acc2 =
        _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), acc2);
    acc3 =
        _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), acc3);
  }
  for (; i + 8 <= n; i += 8)
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  float sum = HsumPs(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

inline __m256 LoadF16x8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline __m256 LoadBf16x8(const uint16_t* p) {
  const __m256i w =
      _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}
inline float Bf16(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

float VecDotF16(int64_t n, const void* w, const void* x) {
  const uint16_t* a = static_cast<const uint16_t*>(w);
  const float* b = static_cast<const float*>(x);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm256_fmadd_ps(LoadF16x8(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(LoadF16x8(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
    acc2 = _mm256_fmadd_ps(LoadF16x8(a + i + 16), _mm256_loadu_ps(b + i + 16), acc2);
    acc3 = _mm256_fmadd_ps(LoadF16x8(a + i + 24), _mm256_loadu_ps(b + i + 24), acc3);
  }
  for (; i + 8 <= n; i += 8)
    acc0 = _mm256_fmadd_ps(LoadF16x8(a + i), _mm256_loadu_ps(b + i), acc0);
  float sum = HsumPs(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
  for (; i < n; ++i) sum += _cvtsh_ss(a[i]) * b[i];
  return sum;
}

float VecDotBf16(int64_t n, const void* w, const void* x) {
  const uint16_t* a = static_cast<const uint16_t*>(w);
  const float* b = static_cast<const float*>(x);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm256_fmadd_ps(LoadBf16x8(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(LoadBf16x8(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
    acc2 = _mm256_fmadd_ps(LoadBf16x8(a + i + 16), _mm256_loadu_ps(b + i + 16), acc2);
    acc3 = _mm256_fmadd_ps(LoadBf16x8(a + i + 24), _mm256_loadu_ps(b + i + 24), acc3);
  }
  for (; i + 8 <= n; i += 8)
    acc0 = _mm256_fmadd_ps(LoadBf16x8(a + i), _mm256_loadu_ps(b + i), acc0);
  float sum = HsumPs(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
  for (; i < n; ++i) sum += Bf16(a[i]) * b[i];
  return sum;
}

// ---- 32-element blocks with Q8_0 activations ----

// One Q8_0 x Q8_0 block as 8 int32 lanes: |w| (u8, up to 128) times x with
// w's sign (vpsignb also zeroes x where w is 0).
inline __m256i BlockQ8_0(const uint8_t* wb, const uint8_t* xb) {
  const __m256i w = Load256(wb + kQ8_0Qs);
  const __m256i x = Load256(xb + kQ8_0Qs);
  return DotU8S8(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
}

float VecDotQ8_0(int64_t n, const void* w, const void* x) {
  const int64_t nb = n / gguf::kQK8_0;
  const uint8_t* wp = Bytes(w);
  const uint8_t* xp = Bytes(x);
  // Two accumulators: the fmadd chain is the loop's latency bound.
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    const uint8_t* w0 = wp + b * kQ8_0Bytes;
    const uint8_t* x0 = xp + b * kQ8_0Bytes;
    const uint8_t* w1 = w0 + kQ8_0Bytes;
    const uint8_t* x1 = x0 + kQ8_0Bytes;
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(LoadFp16(w0) * LoadFp16(x0)),
                           _mm256_cvtepi32_ps(BlockQ8_0(w0, x0)), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_set1_ps(LoadFp16(w1) * LoadFp16(x1)),
                           _mm256_cvtepi32_ps(BlockQ8_0(w1, x1)), acc1);
  }
  if (b < nb) {
    const uint8_t* w0 = wp + b * kQ8_0Bytes;
    const uint8_t* x0 = xp + b * kQ8_0Bytes;
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(LoadFp16(w0) * LoadFp16(x0)),
                           _mm256_cvtepi32_ps(BlockQ8_0(w0, x0)), acc0);
  }
  return HsumPs(_mm256_add_ps(acc0, acc1));
}

// One Q4_0 x Q8_0 block as 8 int32 lanes: sum (q - 8) * x computed as
// q * x - 8 * x on int16 pairs (|.| <= 2 * 8 * 127, no saturation).
inline __m256i BlockQ4_0(const uint8_t* wb, const uint8_t* xb) {
  const __m128i packed = Load128(wb + kQ4_0Qs);
  // Low nibbles are elements 0..15, high nibbles 16..31.
  const __m256i q = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed),
                                     _mm256_set1_epi8(0x0F));
  const __m256i x = Load256(xb + kQ8_0Qs);
  const __m256i pairs = _mm256_sub_epi16(_mm256_maddubs_epi16(q, x),
                                         _mm256_maddubs_epi16(_mm256_set1_epi8(8), x));
  return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
}

float VecDotQ4_0(int64_t n, const void* w, const void* x) {
  const int64_t nb = n / gguf::kQK4_0;
  const uint8_t* wp = Bytes(w);
  const uint8_t* xp = Bytes(x);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    const uint8_t* w0 = wp + b * kQ4_0Bytes;
    const uint8_t* x0 = xp + b * kQ8_0Bytes;
    const uint8_t* w1 = w0 + kQ4_0Bytes;
    const uint8_t* x1 = x0 + kQ8_0Bytes;
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(LoadFp16(w0) * LoadFp16(x0)),
                           _mm256_cvtepi32_ps(BlockQ4_0(w0, x0)), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_set1_ps(LoadFp16(w1) * LoadFp16(x1)),
                           _mm256_cvtepi32_ps(BlockQ4_0(w1, x1)), acc1);
  }
  if (b < nb) {
    const uint8_t* w0 = wp + b * kQ4_0Bytes;
    const uint8_t* x0 = xp + b * kQ8_0Bytes;
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(LoadFp16(w0) * LoadFp16(x0)),
                           _mm256_cvtepi32_ps(BlockQ4_0(w0, x0)), acc0);
  }
  return HsumPs(_mm256_add_ps(acc0, acc1));
}

// ---- 256-element super-blocks with Q8_K activations ----

// The 8 six-bit scales and mins of a Q4_K block (GetScaleMinK4 for all j at
// once), one byte each in a uint64_t: bytes 0..3 of the block hold scales
// 0-3 and the top bits of scales 4-7, bytes 4..7 mins 0-3 and the top bits
// of mins 4-7, bytes 8..11 the low nibbles of scales 4-7 (low) and mins 4-7
// (high). Kept in registers: bytes stored and reloaded wider would stall
// store forwarding once per block.
inline void UnpackQ4_KScales(const uint8_t* packed, uint64_t* scales, uint64_t* mins) {
  uint32_t a, b, c;
  std::memcpy(&a, packed, 4);
  std::memcpy(&b, packed + 4, 4);
  std::memcpy(&c, packed + 8, 4);
  const uint32_t sc_lo = a & 0x3f3f3f3f;
  const uint32_t sc_hi = (c & 0x0f0f0f0f) | ((a >> 2) & 0x30303030);
  const uint32_t m_lo = b & 0x3f3f3f3f;
  const uint32_t m_hi = ((c >> 4) & 0x0f0f0f0f) | ((b >> 2) & 0x30303030);
  *scales = sc_lo | static_cast<uint64_t>(sc_hi) << 32;
  *mins = m_lo | static_cast<uint64_t>(m_hi) << 32;
}

float VecDotQ4_K(int64_t n, const void* w, const void* x) {
  const int64_t nb = n / gguf::kQK_K;
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  __m256 acc = _mm256_setzero_ps();
  __m256 acc_min = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* wb = Bytes(w) + b * kQ4_KBytes;
    const uint8_t* xb = Bytes(x) + b * kQ8_KBytes;
    const float xd = LoadF32(xb);
    const float d = LoadFp16(wb) * xd;
    const float dmin = LoadFp16(wb + kQ4_KDmin) * xd;
    uint64_t scales, mins;
    UnpackQ4_KScales(wb + kQ4_KScales, &scales, &mins);

    // Mins: pair sub-block j's two bsums with (m_j, m_j).
    const __m128i m16 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<int64_t>(mins)));
    const __m256i m_pairs =
        _mm256_set_m128i(_mm_unpackhi_epi16(m16, m16), _mm_unpacklo_epi16(m16, m16));
    const __m256i bsums = Load256(xb + kQ8_KBsums);
    acc_min =
        _mm256_fmadd_ps(_mm256_set1_ps(dmin),
                        _mm256_cvtepi32_ps(_mm256_madd_epi16(bsums, m_pairs)), acc_min);

    // Scales: 64 elements per step, low nibbles are sub-block 2k, high 2k+1.
    const uint8_t* qs = wb + kQ4_KQs;
    const uint8_t* xq = xb + kQ8_KQs;
    __m256i isum = _mm256_setzero_si256();
    for (int k = 0; k < 4; ++k) {
      const __m256i q = Load256(qs + 32 * k);
      const __m256i lo = _mm256_and_si256(q, low4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
      const __m256i p_lo = _mm256_maddubs_epi16(lo, Load256(xq + 64 * k));
      const __m256i p_hi = _mm256_maddubs_epi16(hi, Load256(xq + 64 * k + 32));
      const auto sc_lo = static_cast<int16_t>((scales >> (16 * k)) & 0xFF);
      const auto sc_hi = static_cast<int16_t>((scales >> (16 * k + 8)) & 0xFF);
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p_lo, _mm256_set1_epi16(sc_lo)));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p_hi, _mm256_set1_epi16(sc_hi)));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(isum), acc);
  }
  return HsumPs(acc) - HsumPs(acc_min);
}

float VecDotQ6_K(int64_t n, const void* w, const void* x) {
  const int64_t nb = n / gguf::kQK_K;
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const __m256i bits45 = _mm256_set1_epi8(0x30);
  // Byte shuffle picking scale i for the low 8 bytes, i + 1 for the high 8.
  const __m128i pick_pair = _mm_set_epi64x(0x0101010101010101, 0);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* wb = Bytes(w) + b * kQ6_KBytes;
    const uint8_t* xb = Bytes(x) + b * kQ8_KBytes;
    const float d = LoadFp16(wb + kQ6_KD) * LoadF32(xb);
    const __m128i scales8 = Load128(wb + kQ6_KScales);

    // -32 * sum_s scale_s * bsum_s: the stored quants are q + 32.
    const __m256i offset =
        _mm256_madd_epi16(_mm256_cvtepi8_epi16(scales8), Load256(xb + kQ8_KBsums));
    __m256i isum = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(offset, 5));

    const uint8_t* xq = xb + kQ8_KQs;
    for (int h = 0; h < 2; ++h) {
      const __m256i ql0 = Load256(wb + 64 * h);
      const __m256i ql1 = Load256(wb + 64 * h + 32);
      const __m256i qh = Load256(wb + kQ6_KQh + 32 * h);
      // Elements 0..31, 32..63, 64..95, 96..127 of this half: four bits
      // from ql, the two above from qh (bits 0-1, 2-3, 4-5, 6-7).
      __m256i q[4];
      q[0] = _mm256_or_si256(_mm256_and_si256(ql0, low4),
                             _mm256_and_si256(_mm256_slli_epi16(qh, 4), bits45));
      q[1] = _mm256_or_si256(_mm256_and_si256(ql1, low4),
                             _mm256_and_si256(_mm256_slli_epi16(qh, 2), bits45));
      q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4),
                             _mm256_and_si256(qh, bits45));
      q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4),
                             _mm256_and_si256(_mm256_srli_epi16(qh, 2), bits45));
      for (int k = 0; k < 4; ++k) {
        // 0..63 x s8: |pair| <= 2 * 63 * 128, no saturation.
        const __m256i p = _mm256_maddubs_epi16(q[k], Load256(xq + 128 * h + 32 * k));
        // Sub-blocks 8h + 2k (low 128 bits) and 8h + 2k + 1 (high).
        const __m128i pick =
            _mm_add_epi8(pick_pair, _mm_set1_epi8(static_cast<char>(8 * h + 2 * k)));
        const __m256i sc = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales8, pick));
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, sc));
      }
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(isum), acc);
  }
  return HsumPs(acc);
}

// ---- activations ----

// roundf(): to nearest, ties away from zero (cvtps rounds ties to even).
// v - trunc(v) is exact, so the tie test is too.
inline __m256 RoundHalfAway(__m256 v) {
  const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256 sign_mask = _mm256_set1_ps(-0.0f);
  const __m256 frac = _mm256_andnot_ps(sign_mask, _mm256_sub_ps(v, t));
  const __m256 away = _mm256_or_ps(_mm256_and_ps(v, sign_mask), _mm256_set1_ps(1.0f));
  const __m256 tie_or_more = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
  return _mm256_add_ps(t, _mm256_and_ps(tie_or_more, away));
}

// Packs 32 int32 (in four vectors, each within int8 range) into 32 bytes in
// element order.
inline __m256i PackI32ToI8(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i ab = _mm256_packs_epi32(a, b);  // per 128-bit lane: a0-3 b0-3 | a4-7 b4-7
  const __m256i cd = _mm256_packs_epi32(c, d);
  const __m256i abcd = _mm256_packs_epi16(ab, cd);  // a0-3 b0-3 c0-3 d0-3 | a4-7 ...
  // Lane-interleaved dwords back to element order.
  return _mm256_permutevar8x32_epi32(abcd, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// Matches gguf::QuantizeRow(Q8_0) bit for bit: d = amax / 127 rounded to
// fp16, quants roundf(x * (1 / d)) with d before rounding.
void QuantizeQ8_0(const float* x, void* out, int64_t n) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  uint8_t* o = static_cast<uint8_t*>(out);
  for (int64_t b = 0; b < n / gguf::kQK8_0; ++b, x += gguf::kQK8_0, o += kQ8_0Bytes) {
    __m256 v[4];
    for (int k = 0; k < 4; ++k) v[k] = _mm256_loadu_ps(x + 8 * k);
    const __m256 m = _mm256_max_ps(
        _mm256_max_ps(_mm256_and_ps(v[0], abs_mask), _mm256_and_ps(v[1], abs_mask)),
        _mm256_max_ps(_mm256_and_ps(v[2], abs_mask), _mm256_and_ps(v[3], abs_mask)));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    const float d = amax / 127;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    const uint16_t dh = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
    std::memcpy(o, &dh, sizeof dh);
    const __m256 idv = _mm256_set1_ps(id);
    __m256i q[4];
    for (int k = 0; k < 4; ++k)
      q[k] = _mm256_cvttps_epi32(RoundHalfAway(_mm256_mul_ps(v[k], idv)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + kQ8_0Qs),
                        PackI32ToI8(q[0], q[1], q[2], q[3]));
  }
}

// Matches gguf::QuantizeRow(Q8_K) bit for bit: the scale comes from the
// first element of largest magnitude, quants are lrintf (ties to even, as
// cvtps_epi32 under the default MXCSR) capped at 127.
void QuantizeQ8_K(const float* x, void* out, int64_t n) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  uint8_t* o = static_cast<uint8_t*>(out);
  for (int64_t b = 0; b < n / gguf::kQK_K; ++b, x += gguf::kQK_K, o += kQ8_KBytes) {
    __m256 m = _mm256_setzero_ps();
    for (int k = 0; k < 32; ++k)
      m = _mm256_max_ps(m, _mm256_and_ps(_mm256_loadu_ps(x + 8 * k), abs_mask));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    if (amax == 0) {
      std::memset(o, 0, kQ8_KBytes);
      continue;
    }
    // The signed value: the first element whose magnitude is amax.
    const __m256 amax_v = _mm256_set1_ps(amax);
    float max = amax;
    for (int k = 0; k < 32; ++k) {
      const int hits = _mm256_movemask_ps(_mm256_cmp_ps(
          _mm256_and_ps(_mm256_loadu_ps(x + 8 * k), abs_mask), amax_v, _CMP_EQ_OQ));
      if (hits) {
        max = x[8 * k + __builtin_ctz(static_cast<unsigned>(hits))];
        break;
      }
    }
    const float iscale = -127.f / max;
    const __m256 iv = _mm256_set1_ps(iscale);
    const __m256i cap = _mm256_set1_epi32(127);
    int8_t* qs = reinterpret_cast<int8_t*>(o + kQ8_KQs);
    int16_t bsums[gguf::kQK_K / 16];
    for (int k = 0; k < 32; k += 4) {
      __m256i q[4];
      for (int j = 0; j < 4; ++j)
        q[j] = _mm256_min_epi32(
            cap, _mm256_cvtps_epi32(_mm256_mul_ps(iv, _mm256_loadu_ps(x + 8 * (k + j)))));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs + 8 * k),
                          PackI32ToI8(q[0], q[1], q[2], q[3]));
      bsums[k / 2] = static_cast<int16_t>(HsumEpi32(_mm256_add_epi32(q[0], q[1])));
      bsums[k / 2 + 1] = static_cast<int16_t>(HsumEpi32(_mm256_add_epi32(q[2], q[3])));
    }
    std::memcpy(o + kQ8_KBsums, bsums, sizeof bsums);
    const float d = 1 / iscale;
    std::memcpy(o, &d, sizeof d);
  }
}

// ---- axpy and conversions ----

void AxpyF16(int64_t n, float a, const uint16_t* x, float* y) {
  const __m256 av = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i,
                     _mm256_fmadd_ps(av, LoadF16x8(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] += a * _cvtsh_ss(x[i]);
}

void AxpyF32(int64_t n, float a, const float* x, float* y) {
  const __m256 av = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i,
                     _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] += a * x[i];
}

void Fp32ToFp16(const float* x, uint16_t* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; ++i) y[i] = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
}

void Fp16ToFp32(const uint16_t* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, LoadF16x8(x + i));
  for (; i < n; ++i) y[i] = _cvtsh_ss(x[i]);
}

}  // namespace

const KernelTable& Avx2Kernels() {
  static const KernelTable table = {
      .isa = Isa::kAvx2,
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
