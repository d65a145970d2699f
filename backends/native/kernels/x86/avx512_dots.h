// backends/native/kernels/x86/avx512_dots.h — the AVX-512 integer dot
// products, written once over a "Dot" policy and instantiated twice:
// avx512.cc with vpmaddubsw + vpmaddwd (AVX512BW), avx512_vnni.cc with
// vpdpbusd (AVX512-VNNI). Both compute the same exact int32 sums.
//
// Included only by those two files. Everything is in an anonymous namespace
// on purpose: each file is compiled with different target flags, and a
// shared external-linkage inline function could be linked from the VNNI
// file into the non-VNNI table (see internal/tables.h).
//
// A policy P provides, for 64 u8 x s8 byte pairs and int32 lanes:
//   P::Dot(acc, u, s)               acc + sum of 4 adjacent products
//   P::DotScaled(acc, u, s, scale)  acc + that sum * scale (|scale| < 2^15)
//
// Thread-safety: pure functions.
#pragma once

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

namespace edgebench::native::kernels::internal {
namespace {  // NOLINT(build/namespaces): per-ISA copies, see above

inline float Avx512LoadFp16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, sizeof h);
  return _cvtsh_ss(h);
}
inline float Avx512LoadF32(const uint8_t* p) {
  float f;
  std::memcpy(&f, p, sizeof f);
  return f;
}
inline __m512i Avx512Load512(const uint8_t* p) { return _mm512_loadu_si512(p); }
inline __m256i Avx512Load256(const uint8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}
inline __m128i Avx512Load128(const uint8_t* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}
inline float Avx512Hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Two Q8_0 blocks as 16 int32 lanes (block 0 in lanes 0-7): |w| times x
// with w's sign moved onto x.
template <class P>
inline __m512i Q8_0Pair(const uint8_t* w0, const uint8_t* x0, const uint8_t* w1,
                        const uint8_t* x1) {
  const __m512i w =
      _mm512_inserti64x4(_mm512_zextsi256_si512(Avx512Load256(w0 + kQ8_0Qs)),
                         Avx512Load256(w1 + kQ8_0Qs), 1);
  const __m512i x =
      _mm512_inserti64x4(_mm512_zextsi256_si512(Avx512Load256(x0 + kQ8_0Qs)),
                         Avx512Load256(x1 + kQ8_0Qs), 1);
  const __mmask64 negative = _mm512_movepi8_mask(w);
  const __m512i x_signed = _mm512_mask_sub_epi8(x, negative, _mm512_setzero_si512(), x);
  return P::Dot(_mm512_setzero_si512(), _mm512_abs_epi8(w), x_signed);
}

template <class P>
float VecDotQ8_0T(int64_t n, const void* w, const void* x) {
  const int64_t nb = n / gguf::kQK8_0;
  const uint8_t* wp = static_cast<const uint8_t*>(w);
  const uint8_t* xp = static_cast<const uint8_t*>(x);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; b += 2) {
    const uint8_t* w0 = wp + b * kQ8_0Bytes;
    const uint8_t* x0 = xp + b * kQ8_0Bytes;
    const float d0 = Avx512LoadFp16(w0) * Avx512LoadFp16(x0);
    // An odd last block pairs with itself under a zero scale.
    const bool pair = b + 1 < nb;
    const uint8_t* w1 = pair ? w0 + kQ8_0Bytes : w0;
    const uint8_t* x1 = pair ? x0 + kQ8_0Bytes : x0;
    const float d1 = pair ? Avx512LoadFp16(w1) * Avx512LoadFp16(x1) : 0.0f;
    const __m512 d = _mm512_mask_blend_ps(0xFF00, _mm512_set1_ps(d0), _mm512_set1_ps(d1));
    acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(Q8_0Pair<P>(w0, x0, w1, x1)), acc);
  }
  return _mm512_reduce_add_ps(acc);
}

// Two Q4_0 blocks. 128-bit lanes hold [w0 low nibbles, w1 low, w0 high,
// w1 high], so int32 lanes 0-3 and 8-11 belong to block 0, 4-7 and 12-15
// to block 1; activations are permuted to match.
template <class P>
inline __m512i Q4_0Pair(const uint8_t* w0, const uint8_t* x0, const uint8_t* w1,
                        const uint8_t* x1) {
  const __m256i packed =
      _mm256_set_m128i(Avx512Load128(w1 + kQ4_0Qs), Avx512Load128(w0 + kQ4_0Qs));
  const __m512i q = _mm512_and_si512(
      _mm512_inserti64x4(_mm512_zextsi256_si512(packed), _mm256_srli_epi16(packed, 4), 1),
      _mm512_set1_epi8(0x0F));
  const __m512i x01 =
      _mm512_inserti64x4(_mm512_zextsi256_si512(Avx512Load256(x0 + kQ8_0Qs)),
                         Avx512Load256(x1 + kQ8_0Qs), 1);
  const __m512i x = _mm512_shuffle_i64x2(x01, x01, _MM_SHUFFLE(3, 1, 2, 0));
  // sum (q - 8) * x = sum q * x - sum 8 * x.
  return _mm512_sub_epi32(P::Dot(_mm512_setzero_si512(), q, x),
                          P::Dot(_mm512_setzero_si512(), _mm512_set1_epi8(8), x));
}

template <class P>
float VecDotQ4_0T(int64_t n, const void* w, const void* x) {
  const int64_t nb = n / gguf::kQK4_0;
  const uint8_t* wp = static_cast<const uint8_t*>(w);
  const uint8_t* xp = static_cast<const uint8_t*>(x);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; b += 2) {
    const uint8_t* w0 = wp + b * kQ4_0Bytes;
    const uint8_t* x0 = xp + b * kQ8_0Bytes;
    const float d0 = Avx512LoadFp16(w0) * Avx512LoadFp16(x0);
    const bool pair = b + 1 < nb;
    const uint8_t* w1 = pair ? w0 + kQ4_0Bytes : w0;
    const uint8_t* x1 = pair ? x0 + kQ8_0Bytes : x0;
    const float d1 = pair ? Avx512LoadFp16(w1) * Avx512LoadFp16(x1) : 0.0f;
    const __m512 d = _mm512_mask_blend_ps(0xF0F0, _mm512_set1_ps(d0), _mm512_set1_ps(d1));
    acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(Q4_0Pair<P>(w0, x0, w1, x1)), acc);
  }
  return _mm512_reduce_add_ps(acc);
}

// See UnpackQ4_KScales in avx2.cc: the 8 scales and mins of a Q4_K block,
// a byte each, in registers.
inline void Avx512UnpackQ4_KScales(const uint8_t* packed, uint64_t* scales,
                                   uint64_t* mins) {
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

template <class P>
float VecDotQ4_KT(int64_t n, const void* w, const void* x) {
  const int64_t nb = n / gguf::kQK_K;
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  // permutexvar indices giving [s_j x 8, s_j+1 x 8] for j = 0, 2, 4, 6.
  const __m512i pair_idx =
      _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  __m512 acc = _mm512_setzero_ps();
  __m256 acc_min = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* wb = static_cast<const uint8_t*>(w) + b * kQ4_KBytes;
    const uint8_t* xb = static_cast<const uint8_t*>(x) + b * kQ8_KBytes;
    const float xd = Avx512LoadF32(xb);
    const float d = Avx512LoadFp16(wb) * xd;
    const float dmin = Avx512LoadFp16(wb + kQ4_KDmin) * xd;
    uint64_t scales, mins;
    Avx512UnpackQ4_KScales(wb + kQ4_KScales, &scales, &mins);

    const __m128i m16 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<int64_t>(mins)));
    const __m256i m_pairs =
        _mm256_set_m128i(_mm_unpackhi_epi16(m16, m16), _mm_unpacklo_epi16(m16, m16));
    acc_min = _mm256_fmadd_ps(
        _mm256_set1_ps(dmin),
        _mm256_cvtepi32_ps(_mm256_madd_epi16(Avx512Load256(xb + kQ8_KBsums), m_pairs)),
        acc_min);

    const __m512i sc32 =
        _mm512_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<int64_t>(scales)));
    const uint8_t* qs = wb + kQ4_KQs;
    const uint8_t* xq = xb + kQ8_KQs;
    __m512i isum = _mm512_setzero_si512();
    for (int h = 0; h < 2; ++h) {
      // 64 bytes = sub-blocks 4h (low nibbles of bytes 0..31), 4h+1 (high),
      // 4h+2 (low of 32..63), 4h+3 (high): regroup in element order.
      const __m512i q = Avx512Load512(qs + 64 * h);
      const __m512i lo = _mm512_and_si512(q, low4);
      const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), low4);
      const __m512i v0 = _mm512_shuffle_i64x2(lo, hi, _MM_SHUFFLE(1, 0, 1, 0));
      const __m512i v1 = _mm512_shuffle_i64x2(lo, hi, _MM_SHUFFLE(3, 2, 3, 2));
      const __m512i s0 = _mm512_permutexvar_epi32(
          _mm512_add_epi32(pair_idx, _mm512_set1_epi32(4 * h)), sc32);
      const __m512i s1 = _mm512_permutexvar_epi32(
          _mm512_add_epi32(pair_idx, _mm512_set1_epi32(4 * h + 2)), sc32);
      isum = P::DotScaled(isum, v0, Avx512Load512(xq + 128 * h), s0);
      isum = P::DotScaled(isum, v1, Avx512Load512(xq + 128 * h + 64), s1);
    }
    acc = _mm512_fmadd_ps(_mm512_set1_ps(d), _mm512_cvtepi32_ps(isum), acc);
  }
  return _mm512_reduce_add_ps(acc) - Avx512Hsum256(acc_min);
}

template <class P>
float VecDotQ6_KT(int64_t n, const void* w, const void* x) {
  const int64_t nb = n / gguf::kQK_K;
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  const __m512i bits45 = _mm512_set1_epi8(0x30);
  // permutexvar indices giving [s_j x 4, s_j+1 x 4, s_j+2 x 4, s_j+3 x 4].
  const __m512i quad_idx =
      _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* wb = static_cast<const uint8_t*>(w) + b * kQ6_KBytes;
    const uint8_t* xb = static_cast<const uint8_t*>(x) + b * kQ8_KBytes;
    const float d = Avx512LoadFp16(wb + kQ6_KD) * Avx512LoadF32(xb);
    const __m128i scales8 = Avx512Load128(wb + kQ6_KScales);
    const __m512i sc32 = _mm512_cvtepi8_epi32(scales8);

    // -32 * sum_s scale_s * bsum_s: the stored quants are q + 32.
    const __m256i offset =
        _mm256_madd_epi16(_mm256_cvtepi8_epi16(scales8), Avx512Load256(xb + kQ8_KBsums));
    __m512i isum = _mm512_zextsi256_si512(
        _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(offset, 5)));

    const uint8_t* xq = xb + kQ8_KQs;
    for (int h = 0; h < 2; ++h) {
      const __m512i ql = Avx512Load512(wb + 64 * h);
      const __m256i qh = Avx512Load256(wb + kQ6_KQh + 32 * h);
      // [qh, qh >> 2]: the top bits of elements 0..31 and 32..63 sit at
      // bits 0-1 of each half after that, of 64..95 and 96..127 at 4-5.
      const __m512i qh2 =
          _mm512_inserti64x4(_mm512_zextsi256_si512(qh), _mm256_srli_epi16(qh, 2), 1);
      const __m512i v0 =
          _mm512_or_si512(_mm512_and_si512(ql, low4),
                          _mm512_and_si512(_mm512_slli_epi16(qh2, 4), bits45));
      const __m512i v1 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), low4),
                                         _mm512_and_si512(qh2, bits45));
      // Each 128-bit lane of v0/v1 is one sub-block of 16.
      const __m512i s0 = _mm512_permutexvar_epi32(
          _mm512_add_epi32(quad_idx, _mm512_set1_epi32(8 * h)), sc32);
      const __m512i s1 = _mm512_permutexvar_epi32(
          _mm512_add_epi32(quad_idx, _mm512_set1_epi32(8 * h + 4)), sc32);
      isum = P::DotScaled(isum, v0, Avx512Load512(xq + 128 * h), s0);
      isum = P::DotScaled(isum, v1, Avx512Load512(xq + 128 * h + 64), s1);
    }
    acc = _mm512_fmadd_ps(_mm512_set1_ps(d), _mm512_cvtepi32_ps(isum), acc);
  }
  return _mm512_reduce_add_ps(acc);
}

}  // namespace
}  // namespace edgebench::native::kernels::internal
