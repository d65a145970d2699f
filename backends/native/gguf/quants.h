// backends/native/gguf/quants.h — reference (scalar) quantization and
// dequantization of rows, in the block layouts of ggml_types.h.
//
// These are the definitions every SIMD kernel is tested against, and what
// `edgebench model synth` uses to write quantized files. Dequantization is
// exactly ggml's arithmetic. Quantization produces valid blocks that ggml
// reads back identically; for Q4_K/Q6_K the choice of scales is our own
// (a least-squares refinement), not ggml's search, so the bytes may differ.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>

#include "backends/native/gguf/ggml_types.h"

namespace edgebench::gguf {

// True for F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K (and Q8_K for quantize).
bool CanDequantize(TensorType type);
bool CanQuantize(TensorType type);

// Converts `n` elements of `type` at `src` to floats.
// REQUIRES: CanDequantize(type), n a multiple of the type's block size.
void DequantizeRow(TensorType type, const void* src, float* dst, int64_t n);

// Converts `n` floats to `type` at `dst` (RowBytes(type, n) bytes).
// REQUIRES: CanQuantize(type), n a multiple of the type's block size.
void QuantizeRow(TensorType type, const float* src, void* dst, int64_t n);

}  // namespace edgebench::gguf
