// Portable scalar kernels: the reference every ISA variant is tested against
// and the fallback on CPUs without a better table. Written for clarity, in
// the block layouts of ggml_types.h; every field is read through memcpy so
// rows need no alignment.
#include <cstdint>
#include <cstring>

#include "backends/native/gguf/ggml_types.h"
#include "backends/native/gguf/quants.h"
#include "backends/native/kernels/internal/tables.h"

namespace edgebench::native::kernels::internal {

namespace {

using gguf::kQK4_0;
using gguf::kQK8_0;
using gguf::kQK_K;

uint16_t LoadU16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
int16_t LoadI16(const uint8_t* p) {
  int16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
float LoadF32(const uint8_t* p) {
  float v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
float LoadFp16(const uint8_t* p) { return gguf::Fp16ToFp32(LoadU16(p)); }

const uint8_t* Bytes(const void* p) { return static_cast<const uint8_t*>(p); }
const int8_t* Int8s(const uint8_t* p) { return reinterpret_cast<const int8_t*>(p); }

// ---- float rows ----
// Accumulated in double (as ggml's reference does for F16) so the reference
// carries almost no rounding error of its own.

float VecDotF32(int64_t n, const void* w, const void* x) {
  const float* a = static_cast<const float*>(w);
  const float* b = static_cast<const float*>(x);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(sum);
}

float VecDotF16(int64_t n, const void* w, const void* x) {
  const uint16_t* a = static_cast<const uint16_t*>(w);
  const float* b = static_cast<const float*>(x);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i)
    sum += static_cast<double>(gguf::Fp16ToFp32(a[i])) * b[i];
  return static_cast<float>(sum);
}

float VecDotBf16(int64_t n, const void* w, const void* x) {
  const uint16_t* a = static_cast<const uint16_t*>(w);
  const float* b = static_cast<const float*>(x);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i)
    sum += static_cast<double>(gguf::Bf16ToFp32(a[i])) * b[i];
  return static_cast<float>(sum);
}

// ---- 32-element blocks with Q8_0 activations ----
// The integer sum of a block is exact; only the per-block float terms
// d_w * d_x * sum are rounded, in block order.

float VecDotQ8_0(int64_t n, const void* w, const void* x) {
  const int64_t nb = n / kQK8_0;
  float sum = 0;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* wb = Bytes(w) + b * kQ8_0Bytes;
    const uint8_t* xb = Bytes(x) + b * kQ8_0Bytes;
    const int8_t* wq = Int8s(wb + kQ8_0Qs);
    const int8_t* xq = Int8s(xb + kQ8_0Qs);
    int32_t isum = 0;
    for (int i = 0; i < kQK8_0; ++i) isum += wq[i] * xq[i];
    sum += LoadFp16(wb) * LoadFp16(xb) * static_cast<float>(isum);
  }
  return sum;
}

float VecDotQ4_0(int64_t n, const void* w, const void* x) {
  const int64_t nb = n / kQK4_0;
  float sum = 0;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* wb = Bytes(w) + b * kQ4_0Bytes;
    const uint8_t* xb = Bytes(x) + b * kQ8_0Bytes;
    const uint8_t* wq = wb + kQ4_0Qs;
    const int8_t* xq = Int8s(xb + kQ8_0Qs);
    int32_t isum = 0;
    for (int i = 0; i < kQK4_0 / 2; ++i) {
      isum += ((wq[i] & 0xF) - 8) * xq[i];
      isum += ((wq[i] >> 4) - 8) * xq[i + kQK4_0 / 2];
    }
    sum += LoadFp16(wb) * LoadFp16(xb) * static_cast<float>(isum);
  }
  return sum;
}

// ---- 256-element super-blocks with Q8_K activations ----

// sum_i w_i x_i = x_d * (d * sum_j sc_j * sum(q * xq over sub-block j)
//                        - dmin * sum_j m_j * sum(xq over sub-block j));
// the activation sums come precomputed per 16 in bsums.
float VecDotQ4_K(int64_t n, const void* w, const void* x) {
  const int64_t nb = n / kQK_K;
  float sum = 0;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* wb = Bytes(w) + b * kQ4_KBytes;
    const uint8_t* xb = Bytes(x) + b * kQ8_KBytes;
    const float xd = LoadF32(xb);
    const float d = LoadFp16(wb) * xd;
    const float dmin = LoadFp16(wb + kQ4_KDmin) * xd;
    const uint8_t* qs = wb + kQ4_KQs;
    const int8_t* xq = Int8s(xb + kQ8_KQs);
    int32_t scaled = 0, mins = 0;
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      gguf::GetScaleMinK4(j, wb + kQ4_KScales, &sc, &m);
      // Sub-blocks 2k and 2k+1 are the low and high nibbles of qs[32k..].
      const uint8_t* q = qs + 32 * (j / 2);
      const int shift = (j % 2) * 4;
      int32_t isum = 0;
      for (int i = 0; i < 32; ++i) isum += ((q[i] >> shift) & 0xF) * xq[32 * j + i];
      scaled += sc * isum;
      mins +=
          m * (LoadI16(xb + kQ8_KBsums + 4 * j) + LoadI16(xb + kQ8_KBsums + 4 * j + 2));
    }
    sum += d * static_cast<float>(scaled) - dmin * static_cast<float>(mins);
  }
  return sum;
}

// Quants are stored as q + 32 (0..63); the -32 is applied through bsums:
// sum_s sc_s * (sum(q * xq) - 32 * bsum_s).
float VecDotQ6_K(int64_t n, const void* w, const void* x) {
  const int64_t nb = n / kQK_K;
  float sum = 0;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* wb = Bytes(w) + b * kQ6_KBytes;
    const uint8_t* xb = Bytes(x) + b * kQ8_KBytes;
    const float d = LoadFp16(wb + kQ6_KD) * LoadF32(xb);
    const int8_t* scales = Int8s(wb + kQ6_KScales);
    const int8_t* xq = Int8s(xb + kQ8_KQs);
    uint8_t q[kQK_K];  // the 6-bit values in element order
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = wb + 64 * h;
      const uint8_t* qh = wb + kQ6_KQh + 32 * h;
      uint8_t* out = q + 128 * h;
      for (int l = 0; l < 32; ++l) {
        out[l] = static_cast<uint8_t>((ql[l] & 0xF) | ((qh[l] & 3) << 4));
        out[l + 32] =
            static_cast<uint8_t>((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4));
        out[l + 64] = static_cast<uint8_t>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
        out[l + 96] = static_cast<uint8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
      }
    }
    int32_t isum = 0;
    for (int s = 0; s < 16; ++s) {
      int32_t sub = 0;
      for (int i = 0; i < 16; ++i) sub += q[16 * s + i] * xq[16 * s + i];
      isum += scales[s] * (sub - 32 * LoadI16(xb + kQ8_KBsums + 2 * s));
    }
    sum += d * static_cast<float>(isum);
  }
  return sum;
}

// ---- activations, axpy, conversions ----

// The reference quantizers of the format library define the activation
// bytes; every ISA variant must reproduce them exactly. They write blocks
// in place, which needs the blocks' alignment, so each block goes through
// an aligned local.
void QuantizeQ8_0(const float* x, void* out, int64_t n) {
  for (int64_t b = 0; b < n / kQK8_0; ++b) {
    gguf::BlockQ8_0 block;
    gguf::QuantizeRow(gguf::TensorType::kQ8_0, x + b * kQK8_0, &block, kQK8_0);
    std::memcpy(static_cast<uint8_t*>(out) + b * kQ8_0Bytes, &block, sizeof block);
  }
}
void QuantizeQ8_K(const float* x, void* out, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    gguf::BlockQ8_K block;
    gguf::QuantizeRow(gguf::TensorType::kQ8_K, x + b * kQK_K, &block, kQK_K);
    std::memcpy(static_cast<uint8_t*>(out) + b * kQ8_KBytes, &block, sizeof block);
  }
}

void AxpyF16(int64_t n, float a, const uint16_t* x, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * gguf::Fp16ToFp32(x[i]);
}
void AxpyF32(int64_t n, float a, const float* x, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}
void Fp32ToFp16(const float* x, uint16_t* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = gguf::Fp32ToFp16(x[i]);
}
void Fp16ToFp32(const uint16_t* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = gguf::Fp16ToFp32(x[i]);
}

}  // namespace

const KernelTable& GenericKernels() {
  static const KernelTable table = {
      .isa = Isa::kGeneric,
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
