// backends/native/kernels/kernels.h — the compute kernels of the native
// engine, one table per instruction set, chosen at run time.
//
// Every kernel has a portable `generic` version (kernels/generic/); ISA
// versions live in kernels/x86/ and kernels/arm/, each compiled with its own
// target flags and used only when the CPU reports the features
// (cpu_features.h). The test compares every variant with the generic one.
//
// Weights are multiplied with activations converted to the weight type's
// "vec-dot type" (as ggml does): Q4_0/Q8_0 rows with Q8_0 activations,
// Q4_K/Q6_K rows with Q8_K activations, F32/F16/BF16 rows with F32.
//
// Thread-safety: tables are constant; kernels are reentrant.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "backends/native/gguf/ggml_types.h"

namespace edgebench::native::kernels {

using gguf::TensorType;

enum class Isa {
  kGeneric,
  kAvx2,         // AVX2 + FMA + F16C
  kAvx512,       // AVX-512 F/BW/VL (+ VNNI when present) on top of kAvx2
  kNeon,         // aarch64 ASIMD
  kNeonDotprod,  // + SDOT/UDOT (armv8.2-a dotprod)
};
std::string_view IsaName(Isa isa);
// The Isa IsaName() calls `name`, or nullopt.
std::optional<Isa> ParseIsa(std::string_view name);

// The activation format a weight type's dot product consumes.
TensorType VecDotType(TensorType weight_type);
// Bytes of `n` activations in VecDotType(weight_type).
int64_t ActivationBytes(TensorType weight_type, int64_t n);

// Weight types with kernels: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K.
bool HasKernel(TensorType weight_type);

struct KernelTable {
  Isa isa;

  // Dot product of one weight row of `n` elements (in its own type) with
  // activations `x` already in VecDotType. REQUIRES: n a multiple of the
  // weight type's block size; quantized activations as quantize_q8_0/q8_k
  // make them (quants in [-127, 127], Q8_K bsums matching). Rows need no
  // alignment beyond their element type's (quantized rows: none). The hot
  // spot of decode.
  using VecDotFn = float (*)(int64_t n, const void* w, const void* x);
  VecDotFn vec_dot_f32;   // F32 row,  F32 x
  VecDotFn vec_dot_f16;   // F16 row,  F32 x
  VecDotFn vec_dot_bf16;  // BF16 row, F32 x
  VecDotFn vec_dot_q8_0;  // Q8_0 row, Q8_0 x
  VecDotFn vec_dot_q4_0;  // Q4_0 row, Q8_0 x
  VecDotFn vec_dot_q4_k;  // Q4_K row, Q8_K x
  VecDotFn vec_dot_q6_k;  // Q6_K row, Q8_K x

  // Converts `n` floats to Q8_0 / Q8_K activations. REQUIRES: n a multiple
  // of 32 / 256.
  void (*quantize_q8_0)(const float* x, void* out, int64_t n);
  void (*quantize_q8_k)(const float* x, void* out, int64_t n);

  // y[i] += a * x[i] for an F16 or F32 row x (attention over the V cache).
  void (*axpy_f16)(int64_t n, float a, const uint16_t* x, float* y);
  void (*axpy_f32)(int64_t n, float a, const float* x, float* y);
  // F32 <-> F16 rows (KV cache writes, F16 reads).
  void (*fp32_to_fp16)(const float* x, uint16_t* y, int64_t n);
  void (*fp16_to_fp32)(const uint16_t* x, float* y, int64_t n);

  // The dot product for `weight_type`. REQUIRES: HasKernel(weight_type).
  VecDotFn VecDot(TensorType weight_type) const;
  // Converts `n` floats to VecDotType(weight_type) at `out`
  // (ActivationBytes(weight_type, n) bytes); a copy for F32/F16/BF16.
  void QuantizeActivations(TensorType weight_type, const float* x, void* out,
                           int64_t n) const;
};

// The table for `isa`. REQUIRES: IsaAvailable(isa).
const KernelTable& GetKernels(Isa isa);
// Whether this build has `isa` and this CPU can run it.
bool IsaAvailable(Isa isa);
// Every ISA usable here, generic first.
std::span<const Isa> AvailableIsas();
// The best available table; EDGEBENCH_ISA=generic|avx2|... overrides (for
// comparing variants on one machine).
const KernelTable& BestKernels();

}  // namespace edgebench::native::kernels
