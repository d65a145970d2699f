// Baseline aarch64 ASIMD kernels (every ARMv8-A core: Cortex-A53 and up).
// No extra target flags: NEON is part of armv8-a. Integer dots widen int8
// products to int16 (smull/smlal2) and pairwise-accumulate into int32
// (sadalp); on cores with dotprod kernels.cc swaps in neon_dotprod.cc's SDOT
// versions. Everything here has internal linkage (see internal/tables.h).
#include <arm_neon.h>

#include <cstdint>
#include <cstring>

#include "backends/native/kernels/arm/neon_dots.h"
#include "backends/native/kernels/internal/tables.h"

namespace edgebench::native::kernels::internal {

namespace {

struct WideningDot {
  static int32x4_t Dot(int32x4_t acc, int8x16_t a, int8x16_t b) {
    // |a_i b_i + a_j b_j| <= 2 * 128 * 127 fits int16 with activations in
    // [-127, 127].
    int16x8_t p = vmull_s8(vget_low_s8(a), vget_low_s8(b));
    p = vmlal_high_s8(p, a, b);
    return vpadalq_s16(acc, p);
  }
};

// ---- float rows ----

inline float32x4_t LoadF16x4(const uint16_t* p) {
  return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
}
inline float32x4_t LoadBf16x4(const uint16_t* p) {
  return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16));
}
inline float Fp16(uint16_t bits) {
  __fp16 h;
  std::memcpy(&h, &bits, sizeof h);
  return static_cast<float>(h);
}
inline float Bf16(uint16_t bits) {
  const uint32_t u = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// Four accumulators of four lanes: 16 independent sums hide the fma latency.
template <float32x4_t (*LoadW)(const void*, int64_t),
          float (*ScalarW)(const void*, int64_t)>
float VecDotFloat(int64_t n, const void* w, const void* x) {
  const float* b = static_cast<const float*>(x);
  float32x4_t acc0 = vdupq_n_f32(0), acc1 = vdupq_n_f32(0);
  float32x4_t acc2 = vdupq_n_f32(0), acc3 = vdupq_n_f32(0);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = vfmaq_f32(acc0, LoadW(w, i), vld1q_f32(b + i));
    acc1 = vfmaq_f32(acc1, LoadW(w, i + 4), vld1q_f32(b + i + 4));
    acc2 = vfmaq_f32(acc2, LoadW(w, i + 8), vld1q_f32(b + i + 8));
    acc3 = vfmaq_f32(acc3, LoadW(w, i + 12), vld1q_f32(b + i + 12));
  }
  for (; i + 4 <= n; i += 4) acc0 = vfmaq_f32(acc0, LoadW(w, i), vld1q_f32(b + i));
  float sum = vaddvq_f32(vaddq_f32(vaddq_f32(acc0, acc1), vaddq_f32(acc2, acc3)));
  for (; i < n; ++i) sum += ScalarW(w, i) * b[i];
  return sum;
}

float32x4_t LoadF32W(const void* w, int64_t i) {
  return vld1q_f32(static_cast<const float*>(w) + i);
}
float ScalarF32W(const void* w, int64_t i) { return static_cast<const float*>(w)[i]; }
float32x4_t LoadF16W(const void* w, int64_t i) {
  return LoadF16x4(static_cast<const uint16_t*>(w) + i);
}
float ScalarF16W(const void* w, int64_t i) {
  return Fp16(static_cast<const uint16_t*>(w)[i]);
}
float32x4_t LoadBf16W(const void* w, int64_t i) {
  return LoadBf16x4(static_cast<const uint16_t*>(w) + i);
}
float ScalarBf16W(const void* w, int64_t i) {
  return Bf16(static_cast<const uint16_t*>(w)[i]);
}

float VecDotF32(int64_t n, const void* w, const void* x) {
  return VecDotFloat<LoadF32W, ScalarF32W>(n, w, x);
}
float VecDotF16(int64_t n, const void* w, const void* x) {
  return VecDotFloat<LoadF16W, ScalarF16W>(n, w, x);
}
float VecDotBf16(int64_t n, const void* w, const void* x) {
  return VecDotFloat<LoadBf16W, ScalarBf16W>(n, w, x);
}

float VecDotQ8_0(int64_t n, const void* w, const void* x) {
  return VecDotQ8_0T<WideningDot>(n, w, x);
}
float VecDotQ4_0(int64_t n, const void* w, const void* x) {
  return VecDotQ4_0T<WideningDot>(n, w, x);
}
float VecDotQ4_K(int64_t n, const void* w, const void* x) {
  return VecDotQ4_KT<WideningDot>(n, w, x);
}
float VecDotQ6_K(int64_t n, const void* w, const void* x) {
  return VecDotQ6_KT<WideningDot>(n, w, x);
}

// ---- activations ----

// Four int32x4 (each within int8 range) to 16 int8 in order.
inline int8x16_t NarrowToS8(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d) {
  const int16x8_t ab = vcombine_s16(vmovn_s32(a), vmovn_s32(b));
  const int16x8_t cd = vcombine_s16(vmovn_s32(c), vmovn_s32(d));
  return vcombine_s8(vmovn_s16(ab), vmovn_s16(cd));
}

// Bit-identical to gguf::QuantizeRow(Q8_0): d = amax / 127 to fp16 (fcvt
// rounds to nearest even), quants roundf(x * (1 / d)), which is exactly
// fcvtas (to nearest, ties away from zero).
void QuantizeQ8_0(const float* x, void* out, int64_t n) {
  uint8_t* o = static_cast<uint8_t*>(out);
  for (int64_t b = 0; b < n / gguf::kQK8_0; ++b, x += gguf::kQK8_0, o += kQ8_0Bytes) {
    float32x4_t v[8];
    float32x4_t m = vdupq_n_f32(0);
    for (int k = 0; k < 8; ++k) {
      v[k] = vld1q_f32(x + 4 * k);
      m = vmaxq_f32(m, vabsq_f32(v[k]));
    }
    const float amax = vmaxvq_f32(m);
    const float d = amax / 127;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    const __fp16 dh = static_cast<__fp16>(d);
    std::memcpy(o, &dh, sizeof dh);
    int32x4_t q[8];
    for (int k = 0; k < 8; ++k) q[k] = vcvtaq_s32_f32(vmulq_n_f32(v[k], id));
    vst1q_s8(reinterpret_cast<int8_t*>(o + kQ8_0Qs), NarrowToS8(q[0], q[1], q[2], q[3]));
    vst1q_s8(reinterpret_cast<int8_t*>(o + kQ8_0Qs + 16),
             NarrowToS8(q[4], q[5], q[6], q[7]));
  }
}

// Bit-identical to gguf::QuantizeRow(Q8_K): scale from the first element of
// largest magnitude; quants lrintf (fcvtns: to nearest even) capped at 127.
void QuantizeQ8_K(const float* x, void* out, int64_t n) {
  uint8_t* o = static_cast<uint8_t*>(out);
  for (int64_t b = 0; b < n / gguf::kQK_K; ++b, x += gguf::kQK_K, o += kQ8_KBytes) {
    float32x4_t m = vdupq_n_f32(0);
    for (int k = 0; k < 64; ++k) m = vmaxq_f32(m, vabsq_f32(vld1q_f32(x + 4 * k)));
    const float amax = vmaxvq_f32(m);
    if (amax == 0) {
      std::memset(o, 0, kQ8_KBytes);
      continue;
    }
    float max = amax;
    const float32x4_t amax_v = vdupq_n_f32(amax);
    for (int k = 0; k < 64; ++k) {
      if (vmaxvq_u32(vceqq_f32(vabsq_f32(vld1q_f32(x + 4 * k)), amax_v)) == 0) continue;
      int lane = 0;
      while (x[4 * k + lane] != amax && x[4 * k + lane] != -amax) ++lane;
      max = x[4 * k + lane];
      break;
    }
    const float iscale = -127.f / max;
    const int32x4_t cap = vdupq_n_s32(127);
    int16_t bsums[gguf::kQK_K / 16];
    for (int k = 0; k < 64; k += 4) {
      int32x4_t q[4];
      for (int j = 0; j < 4; ++j)
        q[j] = vminq_s32(cap,
                         vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(x + 4 * (k + j)), iscale)));
      vst1q_s8(reinterpret_cast<int8_t*>(o + kQ8_KQs + 4 * k),
               NarrowToS8(q[0], q[1], q[2], q[3]));
      bsums[k / 4] = static_cast<int16_t>(
          vaddvq_s32(vaddq_s32(vaddq_s32(q[0], q[1]), vaddq_s32(q[2], q[3]))));
    }
    std::memcpy(o + kQ8_KBsums, bsums, sizeof bsums);
    const float d = 1 / iscale;
    std::memcpy(o, &d, sizeof d);
  }
}

// ---- axpy and conversions ----

void AxpyF16(int64_t n, float a, const uint16_t* x, float* y) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), LoadF16x4(x + i), a));
  for (; i < n; ++i) y[i] += a * Fp16(x[i]);
}

void AxpyF32(int64_t n, float a, const float* x, float* y) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(x + i), a));
  for (; i < n; ++i) y[i] += a * x[i];
}

void Fp32ToFp16(const float* x, uint16_t* y, int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    vst1_u16(y + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(x + i))));
  for (; i < n; ++i) {
    const __fp16 h = static_cast<__fp16>(x[i]);
    std::memcpy(&y[i], &h, sizeof h);
  }
}

void Fp16ToFp32(const uint16_t* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, LoadF16x4(x + i));
  for (; i < n; ++i) y[i] = Fp16(x[i]);
}

}  // namespace

const KernelTable& NeonKernels() {
  static const KernelTable table = {
      .isa = Isa::kNeon,
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
