// backends/native/gguf/ggml_types.h — tensor types of the GGUF ecosystem:
// type ids, block sizes, block layouts and half-precision conversions.
//
// Ids and layouts are bit-identical to ggml's, so files written by the common
// quantizer load here. Every type ggml has defined gets a name and a size (so
// a file with types we do not compute still reads and inspects, and the error
// names the type); `computable` marks the ones the native engine runs.
//
// Thread-safety: constant data and pure functions.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace edgebench::gguf {

// ggml_type ids (the values stored in GGUF tensor infos).
enum class TensorType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kIQ2_XXS = 16,
  kIQ2_XS = 17,
  kIQ3_XXS = 18,
  kIQ1_S = 19,
  kIQ4_NL = 20,
  kIQ3_S = 21,
  kIQ2_S = 22,
  kIQ4_XS = 23,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kIQ1_M = 29,
  kBF16 = 30,
  kTQ1_0 = 34,
  kTQ2_0 = 35,
  kMXFP4 = 39,
};

struct TypeTraits {
  TensorType type;
  std::string_view name;  // as ggml prints it: "Q4_0", "Q6_K", "BF16"
  int64_t block_size;     // elements per block
  int64_t type_size;      // bytes per block
  bool computable;        // the native engine has kernels for it
};

// Traits of type id `id`, or nullptr for an id ggml never defined.
const TypeTraits* FindTypeTraits(uint32_t id);
const TypeTraits& GetTypeTraits(TensorType type);  // REQUIRES: a defined type
// "Q4_0", or "type 77" for an unknown id.
std::string TypeName(uint32_t id);

// Bytes of one row of `n` elements; -1 when n is not a multiple of the block.
int64_t RowBytes(TensorType type, int64_t n);

// ---- block layouts (little-endian, packed as ggml writes them) ----

inline constexpr int kQK4_0 = 32;
inline constexpr int kQK8_0 = 32;
inline constexpr int kQK_K = 256;  // super-block of the k-quants

// 32 weights: w[i] = (nibble_i - 8) * d. Element i < 16 is the low nibble of
// qs[i], element i + 16 the high nibble.
struct BlockQ4_0 {
  uint16_t d;  // fp16 scale
  uint8_t qs[kQK4_0 / 2];
};
static_assert(sizeof(BlockQ4_0) == 18);

// 32 weights: w[i] = qs[i] * d.
struct BlockQ8_0 {
  uint16_t d;  // fp16 scale
  int8_t qs[kQK8_0];
};
static_assert(sizeof(BlockQ8_0) == 34);

// 256 weights in 8 sub-blocks of 32, each with a 6-bit scale and min packed
// into `scales` (see GetScaleMinK4): w = d * sc * q - dmin * m, q in 0..15.
// Sub-blocks 2j and 2j+1 share qs[32j .. 32j+31]: low nibbles, high nibbles.
struct BlockQ4_K {
  uint16_t d;     // fp16 super-block scale of the scales
  uint16_t dmin;  // fp16 super-block scale of the mins
  uint8_t scales[12];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ4_K) == 144);

// 256 weights in 16 sub-blocks of 16: w = d * scales[s] * (q - 32), q is six
// bits: four from ql, two from qh.
struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];
  uint8_t qh[kQK_K / 4];
  int8_t scales[kQK_K / 16];
  uint16_t d;  // fp16
};
static_assert(sizeof(BlockQ6_K) == 210);

// Activations for dot products with k-quants: 256 values, float scale, and
// the sums of each group of 16 quants (used to apply the mins cheaply).
struct BlockQ8_K {
  float d;
  int8_t qs[kQK_K];
  int16_t bsums[kQK_K / 16];
};
static_assert(sizeof(BlockQ8_K) == 292);

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K/Q5_K block.
inline void GetScaleMinK4(int j, const uint8_t* q, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *min = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// ---- half precision ----

// IEEE 754 binary16 <-> binary32, round to nearest even; NaN stays NaN and
// overflow becomes infinity, as the hardware conversions do.
float Fp16ToFp32(uint16_t h);
uint16_t Fp32ToFp16(float f);

// bfloat16: the top half of a binary32.
inline float Bf16ToFp32(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
// Round to nearest even; NaN stays a (quiet) NaN.
inline uint16_t Fp32ToBf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffff) > 0x7f800000) return static_cast<uint16_t>((bits >> 16) | 64);
  return static_cast<uint16_t>((bits + (0x7fff + ((bits >> 16) & 1))) >> 16);
}

}  // namespace edgebench::gguf
