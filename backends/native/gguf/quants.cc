#include "backends/native/gguf/quants.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace edgebench::gguf {

namespace {

int NearestInt(float f) { return static_cast<int>(std::lrintf(f)); }

// ---- Q4_0 ----

void QuantizeQ4_0(const float* x, BlockQ4_0* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += kQK4_0) {
    // The value of largest magnitude maps to -8, so its sign picks d's sign
    // and the full 16 levels are used (ggml's convention).
    float amax = 0, max = 0;
    for (int j = 0; j < kQK4_0; ++j)
      if (std::fabs(x[j]) > amax) { amax = std::fabs(x[j]); max = x[j]; }
    const float d = max / -8;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[b].d = Fp32ToFp16(d);
    for (int j = 0; j < kQK4_0 / 2; ++j) {
      const int q0 = std::min(15, static_cast<int>(static_cast<int8_t>(x[j] * id + 8.5f)));
      const int q1 =
          std::min(15, static_cast<int>(static_cast<int8_t>(x[j + 16] * id + 8.5f)));
      y[b].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

void DequantizeQ4_0(const BlockQ4_0* x, float* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, y += kQK4_0) {
    const float d = Fp16ToFp32(x[b].d);
    for (int j = 0; j < kQK4_0 / 2; ++j) {
      y[j] = static_cast<float>((x[b].qs[j] & 0xF) - 8) * d;
      y[j + 16] = static_cast<float>((x[b].qs[j] >> 4) - 8) * d;
    }
  }
}

// ---- Q8_0 ----

void QuantizeQ8_0(const float* x, BlockQ8_0* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += kQK8_0) {
    float amax = 0;
    for (int j = 0; j < kQK8_0; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[b].d = Fp32ToFp16(d);
    for (int j = 0; j < kQK8_0; ++j) y[b].qs[j] = static_cast<int8_t>(std::roundf(x[j] * id));
  }
}

void DequantizeQ8_0(const BlockQ8_0* x, float* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, y += kQK8_0) {
    const float d = Fp16ToFp32(x[b].d);
    for (int j = 0; j < kQK8_0; ++j) y[j] = x[b].qs[j] * d;
  }
}

// ---- Q8_K (activations) ----

void QuantizeQ8_K(const float* x, BlockQ8_K* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += kQK_K) {
    float amax = 0, max = 0;
    for (int j = 0; j < kQK_K; ++j)
      if (std::fabs(x[j]) > amax) { amax = std::fabs(x[j]); max = x[j]; }
    if (amax == 0) {
      y[b].d = 0;
      std::fill(std::begin(y[b].qs), std::end(y[b].qs), 0);
      std::fill(std::begin(y[b].bsums), std::end(y[b].bsums), 0);
      continue;
    }
    const float iscale = -127.f / max;
    for (int j = 0; j < kQK_K; ++j)
      y[b].qs[j] = static_cast<int8_t>(std::min(127, NearestInt(iscale * x[j])));
    for (int j = 0; j < kQK_K / 16; ++j) {
      int sum = 0;
      for (int i = 0; i < 16; ++i) sum += y[b].qs[j * 16 + i];
      y[b].bsums[j] = static_cast<int16_t>(sum);
    }
    y[b].d = 1 / iscale;
  }
}

void DequantizeQ8_K(const BlockQ8_K* x, float* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, y += kQK_K)
    for (int j = 0; j < kQK_K; ++j) y[j] = x[b].d * x[b].qs[j];
}

// ---- Q4_K ----

// Fits x ≈ scale * q - min with q in 0..nmax over n values: start from the
// range, then alternate least-squares updates of (scale, min) and q.
void FitAsymmetric(const float* x, int n, int nmax, float* scale, float* min) {
  float lo = x[0], hi = x[0];
  for (int i = 1; i < n; ++i) { lo = std::min(lo, x[i]); hi = std::max(hi, x[i]); }
  lo = std::min(lo, 0.0f);  // the format stores -min >= 0
  if (hi <= lo) { *scale = 0; *min = -lo; return; }
  float s = (hi - lo) / nmax, m = -lo;
  float best_err = INFINITY, best_s = s, best_m = m;
  for (int iter = 0; iter < 6; ++iter) {
    // q for the current fit, then its squared error.
    float sum_q = 0, sum_qq = 0, sum_x = 0, sum_qx = 0, err = 0;
    for (int i = 0; i < n; ++i) {
      const int q = std::clamp(NearestInt((x[i] + m) / s), 0, nmax);
      const float r = s * q - m - x[i];
      err += r * r;
      sum_q += q; sum_qq += static_cast<float>(q) * q; sum_x += x[i]; sum_qx += q * x[i];
    }
    if (err < best_err) { best_err = err; best_s = s; best_m = m; }
    // Least squares for x = s*q - m given q.
    const float det = n * sum_qq - sum_q * sum_q;
    if (det <= 0) break;
    const float ns = (n * sum_qx - sum_q * sum_x) / det;
    const float nm = (sum_q * sum_qx - sum_qq * sum_x) / det;
    if (!(ns > 0) || nm < 0) break;
    s = ns;
    m = nm;
  }
  *scale = best_s;
  *min = best_m;
}

void QuantizeQ4_K(const float* x, BlockQ4_K* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += kQK_K) {
    float scales[8], mins[8];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; ++j) {
      FitAsymmetric(x + 32 * j, 32, 15, &scales[j], &mins[j]);
      max_scale = std::max(max_scale, scales[j]);
      max_min = std::max(max_min, mins[j]);
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    uint8_t ls[8], lm[8];
    for (int j = 0; j < 8; ++j) {
      ls[j] = static_cast<uint8_t>(std::min(63, NearestInt(inv_scale * scales[j])));
      lm[j] = static_cast<uint8_t>(std::min(63, NearestInt(inv_min * mins[j])));
    }
    std::fill(std::begin(y[b].scales), std::end(y[b].scales), 0);
    for (int j = 0; j < 8; ++j) {
      if (j < 4) {
        y[b].scales[j] = ls[j];
        y[b].scales[j + 4] = lm[j];
      } else {
        y[b].scales[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
        y[b].scales[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
        y[b].scales[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
      }
    }
    y[b].d = Fp32ToFp16(max_scale / 63.f);
    y[b].dmin = Fp32ToFp16(max_min / 63.f);
    // Requantize against the scales as stored (6-bit, fp16 super scales).
    const float d = Fp16ToFp32(y[b].d), dmin = Fp16ToFp32(y[b].dmin);
    uint8_t q[kQK_K];
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      GetScaleMinK4(j, y[b].scales, &sc, &m);
      const float ds = d * sc, dm = dmin * m;
      for (int i = 0; i < 32; ++i)
        q[32 * j + i] = ds == 0 ? 0
                                : static_cast<uint8_t>(std::clamp(
                                      NearestInt((x[32 * j + i] + dm) / ds), 0, 15));
    }
    for (int j = 0; j < kQK_K; j += 64)
      for (int l = 0; l < 32; ++l)
        y[b].qs[j / 2 + l] = static_cast<uint8_t>(q[j + l] | (q[j + l + 32] << 4));
  }
}

void DequantizeQ4_K(const BlockQ4_K* x, float* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b) {
    const float d = Fp16ToFp32(x[b].d), dmin = Fp16ToFp32(x[b].dmin);
    const uint8_t* q = x[b].qs;
    for (int j = 0, is = 0; j < kQK_K; j += 64, is += 2, q += 32) {
      uint8_t sc, m;
      GetScaleMinK4(is, x[b].scales, &sc, &m);
      const float d1 = d * sc, m1 = dmin * m;
      GetScaleMinK4(is + 1, x[b].scales, &sc, &m);
      const float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
    }
  }
}

// ---- Q6_K ----

void QuantizeQ6_K(const float* x, BlockQ6_K* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += kQK_K) {
    // One symmetric scale per 16 values: the largest magnitude maps to -32.
    float scales[16];
    float max_scale = 0, max_abs_scale = 0;
    for (int s = 0; s < 16; ++s) {
      float amax = 0, max = 0;
      for (int i = 0; i < 16; ++i) {
        const float v = x[16 * s + i];
        if (std::fabs(v) > amax) { amax = std::fabs(v); max = v; }
      }
      scales[s] = max / -32.f;
      if (std::fabs(scales[s]) > max_abs_scale) {
        max_abs_scale = std::fabs(scales[s]);
        max_scale = scales[s];
      }
    }
    if (max_abs_scale == 0) {
      std::fill(reinterpret_cast<uint8_t*>(&y[b]),
                reinterpret_cast<uint8_t*>(&y[b]) + sizeof(BlockQ6_K), 0);
      continue;
    }
    const float iscale = -128.f / max_scale;
    y[b].d = Fp32ToFp16(1 / iscale);
    const float d = Fp16ToFp32(y[b].d);
    uint8_t L[kQK_K];
    for (int s = 0; s < 16; ++s) {
      y[b].scales[s] = static_cast<int8_t>(std::min(127, NearestInt(iscale * scales[s])));
      const float ds = d * y[b].scales[s];
      for (int i = 0; i < 16; ++i) {
        const int q = ds == 0 ? 0 : std::clamp(NearestInt(x[16 * s + i] / ds), -32, 31);
        L[16 * s + i] = static_cast<uint8_t>(q + 32);
      }
    }
    uint8_t* ql = y[b].ql;
    uint8_t* qh = y[b].qh;
    for (int j = 0; j < kQK_K; j += 128, ql += 64, qh += 32) {
      for (int l = 0; l < 32; ++l) {
        const uint8_t q1 = L[j + l], q2 = L[j + l + 32], q3 = L[j + l + 64],
                      q4 = L[j + l + 96];
        ql[l] = static_cast<uint8_t>((q1 & 0xF) | ((q3 & 0xF) << 4));
        ql[l + 32] = static_cast<uint8_t>((q2 & 0xF) | ((q4 & 0xF) << 4));
        qh[l] = static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) |
                                     ((q4 >> 4) << 6));
      }
    }
  }
}

void DequantizeQ6_K(const BlockQ6_K* x, float* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b) {
    const float d = Fp16ToFp32(x[b].d);
    const uint8_t* ql = x[b].ql;
    const uint8_t* qh = x[b].qh;
    const int8_t* sc = x[b].scales;
    for (int n = 0; n < kQK_K; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * sc[is + 0] * q1;
        y[l + 32] = d * sc[is + 2] * q2;
        y[l + 64] = d * sc[is + 4] * q3;
        y[l + 96] = d * sc[is + 6] * q4;
      }
    }
  }
}

}  // namespace

bool CanDequantize(TensorType type) {
  switch (type) {
    case TensorType::kF32: case TensorType::kF16: case TensorType::kBF16:
    case TensorType::kQ8_0: case TensorType::kQ4_0: case TensorType::kQ4_K:
    case TensorType::kQ6_K: case TensorType::kQ8_K:
      return true;
    default:
      return false;
  }
}

bool CanQuantize(TensorType type) { return CanDequantize(type); }

void DequantizeRow(TensorType type, const void* src, float* dst, int64_t n) {
  const int64_t nb = n / GetTypeTraits(type).block_size;
  switch (type) {
    case TensorType::kF32:
      std::copy_n(static_cast<const float*>(src), n, dst);
      return;
    case TensorType::kF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = Fp16ToFp32(static_cast<const uint16_t*>(src)[i]);
      return;
    case TensorType::kBF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = Bf16ToFp32(static_cast<const uint16_t*>(src)[i]);
      return;
    case TensorType::kQ4_0: return DequantizeQ4_0(static_cast<const BlockQ4_0*>(src), dst, nb);
    case TensorType::kQ8_0: return DequantizeQ8_0(static_cast<const BlockQ8_0*>(src), dst, nb);
    case TensorType::kQ4_K: return DequantizeQ4_K(static_cast<const BlockQ4_K*>(src), dst, nb);
    case TensorType::kQ6_K: return DequantizeQ6_K(static_cast<const BlockQ6_K*>(src), dst, nb);
    case TensorType::kQ8_K: return DequantizeQ8_K(static_cast<const BlockQ8_K*>(src), dst, nb);
    default:
      assert(false && "DequantizeRow: unsupported type");
  }
}

void QuantizeRow(TensorType type, const float* src, void* dst, int64_t n) {
  const int64_t nb = n / GetTypeTraits(type).block_size;
  switch (type) {
    case TensorType::kF32:
      std::copy_n(src, n, static_cast<float*>(dst));
      return;
    case TensorType::kF16:
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(dst)[i] = Fp32ToFp16(src[i]);
      return;
    case TensorType::kBF16:
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(dst)[i] = Fp32ToBf16(src[i]);
      return;
    case TensorType::kQ4_0: return QuantizeQ4_0(src, static_cast<BlockQ4_0*>(dst), nb);
    case TensorType::kQ8_0: return QuantizeQ8_0(src, static_cast<BlockQ8_0*>(dst), nb);
    case TensorType::kQ4_K: return QuantizeQ4_K(src, static_cast<BlockQ4_K*>(dst), nb);
    case TensorType::kQ6_K: return QuantizeQ6_K(src, static_cast<BlockQ6_K*>(dst), nb);
    case TensorType::kQ8_K: return QuantizeQ8_K(src, static_cast<BlockQ8_K*>(dst), nb);
    default:
      assert(false && "QuantizeRow: unsupported type");
  }
}

}  // namespace edgebench::gguf
