// backends/native/kernels/arm/neon_dots.h — the NEON integer dot products,
// written once over a "Dot" policy and instantiated twice: neon.cc with
// baseline ASIMD widening multiplies, neon_dotprod.cc with SDOT (armv8.2-a
// dotprod). Both compute the same exact int32 sums.
//
// Included only by those two files. Everything is in an anonymous namespace
// on purpose: neon_dotprod.cc is compiled with +dotprod, and a shared
// external-linkage inline function could be linked from there into the
// baseline table (see internal/tables.h).
//
// A policy P provides P::Dot(acc, a, b): acc plus the 16 products a_i * b_i
// of two int8x16 vectors, spread over the four int32 lanes in some order
// (callers only ever reduce whole vectors, one per sub-block).
//
// Thread-safety: pure functions.
#pragma once

#include <arm_neon.h>

#include <cstdint>
#include <cstring>

#include "backends/native/kernels/internal/tables.h"

namespace edgebench::native::kernels::internal {
namespace {  // NOLINT(build/namespaces): per-ISA copies, see above

inline float NeonLoadFp16(const uint8_t* p) {
  __fp16 h;
  std::memcpy(&h, p, sizeof h);
  return static_cast<float>(h);
}
inline float NeonLoadF32(const uint8_t* p) {
  float f;
  std::memcpy(&f, p, sizeof f);
  return f;
}
inline int8x16_t NeonLoadS8(const uint8_t* p) { return vreinterpretq_s8_u8(vld1q_u8(p)); }
// Eight int16 from any byte address (a byte load, so no alignment needed).
inline int16x8_t NeonLoadS16(const uint8_t* p) {
  return vreinterpretq_s16_u8(vld1q_u8(p));
}

template <class P>
float VecDotQ8_0T(int64_t n, const void* w, const void* x) {
  const int64_t nb = n / gguf::kQK8_0;
  const uint8_t* wp = static_cast<const uint8_t*>(w);
  const uint8_t* xp = static_cast<const uint8_t*>(x);
  float32x4_t acc0 = vdupq_n_f32(0), acc1 = vdupq_n_f32(0);
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    const uint8_t* w0 = wp + b * kQ8_0Bytes;
    const uint8_t* x0 = xp + b * kQ8_0Bytes;
    const uint8_t* w1 = w0 + kQ8_0Bytes;
    const uint8_t* x1 = x0 + kQ8_0Bytes;
    const int32x4_t s0 =
        P::Dot(P::Dot(vdupq_n_s32(0), NeonLoadS8(w0 + kQ8_0Qs), NeonLoadS8(x0 + kQ8_0Qs)),
               NeonLoadS8(w0 + kQ8_0Qs + 16), NeonLoadS8(x0 + kQ8_0Qs + 16));
    const int32x4_t s1 =
        P::Dot(P::Dot(vdupq_n_s32(0), NeonLoadS8(w1 + kQ8_0Qs), NeonLoadS8(x1 + kQ8_0Qs)),
               NeonLoadS8(w1 + kQ8_0Qs + 16), NeonLoadS8(x1 + kQ8_0Qs + 16));
    acc0 = vfmaq_n_f32(acc0, vcvtq_f32_s32(s0), NeonLoadFp16(w0) * NeonLoadFp16(x0));
    acc1 = vfmaq_n_f32(acc1, vcvtq_f32_s32(s1), NeonLoadFp16(w1) * NeonLoadFp16(x1));
  }
  if (b < nb) {
    const uint8_t* w0 = wp + b * kQ8_0Bytes;
    const uint8_t* x0 = xp + b * kQ8_0Bytes;
    const int32x4_t s0 =
        P::Dot(P::Dot(vdupq_n_s32(0), NeonLoadS8(w0 + kQ8_0Qs), NeonLoadS8(x0 + kQ8_0Qs)),
               NeonLoadS8(w0 + kQ8_0Qs + 16), NeonLoadS8(x0 + kQ8_0Qs + 16));
    acc0 = vfmaq_n_f32(acc0, vcvtq_f32_s32(s0), NeonLoadFp16(w0) * NeonLoadFp16(x0));
  }
  return vaddvq_f32(vaddq_f32(acc0, acc1));
}

// One Q4_0 x Q8_0 block: nibbles minus 8 as int8 (elements 0..15 are the
// low nibbles, 16..31 the high ones).
template <class P>
inline int32x4_t Q4_0Block(const uint8_t* wb, const uint8_t* xb) {
  const uint8x16_t packed = vld1q_u8(wb + kQ4_0Qs);
  const int8x16_t eight = vdupq_n_s8(8);
  const int8x16_t lo =
      vsubq_s8(vreinterpretq_s8_u8(vandq_u8(packed, vdupq_n_u8(0x0F))), eight);
  const int8x16_t hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(packed, 4)), eight);
  return P::Dot(P::Dot(vdupq_n_s32(0), lo, NeonLoadS8(xb + kQ8_0Qs)), hi,
                NeonLoadS8(xb + kQ8_0Qs + 16));
}

template <class P>
float VecDotQ4_0T(int64_t n, const void* w, const void* x) {
  const int64_t nb = n / gguf::kQK4_0;
  const uint8_t* wp = static_cast<const uint8_t*>(w);
  const uint8_t* xp = static_cast<const uint8_t*>(x);
  float32x4_t acc0 = vdupq_n_f32(0), acc1 = vdupq_n_f32(0);
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    const uint8_t* w0 = wp + b * kQ4_0Bytes;
    const uint8_t* x0 = xp + b * kQ8_0Bytes;
    const uint8_t* w1 = w0 + kQ4_0Bytes;
    const uint8_t* x1 = x0 + kQ8_0Bytes;
    acc0 = vfmaq_n_f32(acc0, vcvtq_f32_s32(Q4_0Block<P>(w0, x0)),
                       NeonLoadFp16(w0) * NeonLoadFp16(x0));
    acc1 = vfmaq_n_f32(acc1, vcvtq_f32_s32(Q4_0Block<P>(w1, x1)),
                       NeonLoadFp16(w1) * NeonLoadFp16(x1));
  }
  if (b < nb) {
    const uint8_t* w0 = wp + b * kQ4_0Bytes;
    const uint8_t* x0 = xp + b * kQ8_0Bytes;
    acc0 = vfmaq_n_f32(acc0, vcvtq_f32_s32(Q4_0Block<P>(w0, x0)),
                       NeonLoadFp16(w0) * NeonLoadFp16(x0));
  }
  return vaddvq_f32(vaddq_f32(acc0, acc1));
}

// The 8 scales and mins of a Q4_K block, a byte each, in registers; see
// UnpackQ4_KScales in x86/avx2.cc for the bit layout.
inline void NeonUnpackQ4_KScales(const uint8_t* packed, uint64_t* scales,
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
  const uint8x16_t low4 = vdupq_n_u8(0x0F);
  float sum = 0;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* wb = static_cast<const uint8_t*>(w) + b * kQ4_KBytes;
    const uint8_t* xb = static_cast<const uint8_t*>(x) + b * kQ8_KBytes;
    const float xd = NeonLoadF32(xb);
    const float d = NeonLoadFp16(wb) * xd;
    const float dmin = NeonLoadFp16(wb + kQ4_KDmin) * xd;
    uint64_t scales, mins;
    NeonUnpackQ4_KScales(wb + kQ4_KScales, &scales, &mins);

    // Mins: sum_j m_j * (bsum_2j + bsum_2j+1).
    const int16x8_t bsum32 =
        vpaddq_s16(NeonLoadS16(xb + kQ8_KBsums), NeonLoadS16(xb + kQ8_KBsums + 16));
    const int16x8_t m = vreinterpretq_s16_u16(vmovl_u8(vcreate_u8(mins)));
    const int32x4_t mprod =
        vmlal_high_s16(vmull_s16(vget_low_s16(bsum32), vget_low_s16(m)), bsum32, m);

    const uint8_t* qs = wb + kQ4_KQs;
    const uint8_t* xq = xb + kQ8_KQs;
    int32x4_t isum = vdupq_n_s32(0);
    for (int k = 0; k < 4; ++k) {
      const uint8x16_t q0 = vld1q_u8(qs + 32 * k);
      const uint8x16_t q1 = vld1q_u8(qs + 32 * k + 16);
      // Low nibbles: sub-block 2k; high nibbles: 2k + 1.
      const int32x4_t s_lo =
          P::Dot(P::Dot(vdupq_n_s32(0), vreinterpretq_s8_u8(vandq_u8(q0, low4)),
                        NeonLoadS8(xq + 64 * k)),
                 vreinterpretq_s8_u8(vandq_u8(q1, low4)), NeonLoadS8(xq + 64 * k + 16));
      const int32x4_t s_hi =
          P::Dot(P::Dot(vdupq_n_s32(0), vreinterpretq_s8_u8(vshrq_n_u8(q0, 4)),
                        NeonLoadS8(xq + 64 * k + 32)),
                 vreinterpretq_s8_u8(vshrq_n_u8(q1, 4)), NeonLoadS8(xq + 64 * k + 48));
      isum = vmlaq_n_s32(isum, s_lo, static_cast<int32_t>((scales >> (16 * k)) & 0xFF));
      isum =
          vmlaq_n_s32(isum, s_hi, static_cast<int32_t>((scales >> (16 * k + 8)) & 0xFF));
    }
    sum += d * static_cast<float>(vaddvq_s32(isum)) -
           dmin * static_cast<float>(vaddvq_s32(mprod));
  }
  return sum;
}

template <class P>
float VecDotQ6_KT(int64_t n, const void* w, const void* x) {
  const int64_t nb = n / gguf::kQK_K;
  const uint8x16_t low4 = vdupq_n_u8(0x0F);
  const uint8x16_t bits45 = vdupq_n_u8(0x30);
  float sum = 0;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* wb = static_cast<const uint8_t*>(w) + b * kQ6_KBytes;
    const uint8_t* xb = static_cast<const uint8_t*>(x) + b * kQ8_KBytes;
    const float d = NeonLoadFp16(wb + kQ6_KD) * NeonLoadF32(xb);
    int8_t scales[16];
    std::memcpy(scales, wb + kQ6_KScales, sizeof scales);

    // -32 * sum_s scale_s * bsum_s: the stored quants are q + 32.
    const int8x16_t sc8 = vld1q_s8(scales);
    const int16x8_t sc_lo = vmovl_s8(vget_low_s8(sc8));
    const int16x8_t sc_hi = vmovl_high_s8(sc8);
    const int16x8_t bs_lo = NeonLoadS16(xb + kQ8_KBsums);
    const int16x8_t bs_hi = NeonLoadS16(xb + kQ8_KBsums + 16);
    int32x4_t offset = vmull_s16(vget_low_s16(sc_lo), vget_low_s16(bs_lo));
    offset = vmlal_high_s16(offset, sc_lo, bs_lo);
    offset = vmlal_s16(offset, vget_low_s16(sc_hi), vget_low_s16(bs_hi));
    offset = vmlal_high_s16(offset, sc_hi, bs_hi);

    const uint8_t* xq = xb + kQ8_KQs;
    int32x4_t isum = vdupq_n_s32(0);
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = wb + 64 * h;
      const uint8_t* qh = wb + kQ6_KQh + 32 * h;
      const uint8_t* y = xq + 128 * h;
      const int8_t* sc = scales + 8 * h;
      for (int j = 0; j < 2; ++j) {
        const uint8x16_t ql0 = vld1q_u8(ql + 16 * j);
        const uint8x16_t ql1 = vld1q_u8(ql + 32 + 16 * j);
        const uint8x16_t hb = vld1q_u8(qh + 16 * j);
        // Elements 16j.., 32+16j.., 64+16j.., 96+16j.. of this half (sub-
        // blocks j, 2+j, 4+j, 6+j): four bits from ql, two from qh.
        const uint8x16_t q1 =
            vorrq_u8(vandq_u8(ql0, low4), vandq_u8(vshlq_n_u8(hb, 4), bits45));
        const uint8x16_t q2 =
            vorrq_u8(vandq_u8(ql1, low4), vandq_u8(vshlq_n_u8(hb, 2), bits45));
        const uint8x16_t q3 = vorrq_u8(vshrq_n_u8(ql0, 4), vandq_u8(hb, bits45));
        const uint8x16_t q4 =
            vorrq_u8(vshrq_n_u8(ql1, 4), vandq_u8(vshrq_n_u8(hb, 2), bits45));
        const int32x4_t zero = vdupq_n_s32(0);
        isum = vmlaq_n_s32(
            isum, P::Dot(zero, vreinterpretq_s8_u8(q1), NeonLoadS8(y + 16 * j)), sc[j]);
        isum = vmlaq_n_s32(
            isum, P::Dot(zero, vreinterpretq_s8_u8(q2), NeonLoadS8(y + 32 + 16 * j)),
            sc[2 + j]);
        isum = vmlaq_n_s32(
            isum, P::Dot(zero, vreinterpretq_s8_u8(q3), NeonLoadS8(y + 64 + 16 * j)),
            sc[4 + j]);
        isum = vmlaq_n_s32(
            isum, P::Dot(zero, vreinterpretq_s8_u8(q4), NeonLoadS8(y + 96 + 16 * j)),
            sc[6 + j]);
      }
    }
    sum += d * static_cast<float>(vaddvq_s32(isum) - 32 * vaddvq_s32(offset));
  }
  return sum;
}

}  // namespace
}  // namespace edgebench::native::kernels::internal
