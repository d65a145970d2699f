#include "backends/native/gguf/ggml_types.h"

#include <cassert>
#include <cmath>

namespace edgebench::gguf {

namespace {

constexpr TypeTraits kTraits[] = {
    {TensorType::kF32, "F32", 1, 4, true},
    {TensorType::kF16, "F16", 1, 2, true},
    {TensorType::kQ4_0, "Q4_0", 32, 18, true},
    {TensorType::kQ4_1, "Q4_1", 32, 20, false},
    {TensorType::kQ5_0, "Q5_0", 32, 22, false},
    {TensorType::kQ5_1, "Q5_1", 32, 24, false},
    {TensorType::kQ8_0, "Q8_0", 32, 34, true},
    {TensorType::kQ8_1, "Q8_1", 32, 36, false},
    {TensorType::kQ2_K, "Q2_K", 256, 84, false},
    {TensorType::kQ3_K, "Q3_K", 256, 110, false},
    {TensorType::kQ4_K, "Q4_K", 256, 144, true},
    {TensorType::kQ5_K, "Q5_K", 256, 176, false},
    {TensorType::kQ6_K, "Q6_K", 256, 210, true},
    {TensorType::kQ8_K, "Q8_K", 256, 292, false},
    {TensorType::kIQ2_XXS, "IQ2_XXS", 256, 66, false},
    {TensorType::kIQ2_XS, "IQ2_XS", 256, 74, false},
    {TensorType::kIQ3_XXS, "IQ3_XXS", 256, 98, false},
    {TensorType::kIQ1_S, "IQ1_S", 256, 50, false},
    {TensorType::kIQ4_NL, "IQ4_NL", 32, 18, false},
    {TensorType::kIQ3_S, "IQ3_S", 256, 110, false},
    {TensorType::kIQ2_S, "IQ2_S", 256, 82, false},
    {TensorType::kIQ4_XS, "IQ4_XS", 256, 136, false},
    {TensorType::kI8, "I8", 1, 1, false},
    {TensorType::kI16, "I16", 1, 2, false},
    {TensorType::kI32, "I32", 1, 4, false},
    {TensorType::kI64, "I64", 1, 8, false},
    {TensorType::kF64, "F64", 1, 8, false},
    {TensorType::kIQ1_M, "IQ1_M", 256, 56, false},
    {TensorType::kBF16, "BF16", 1, 2, true},
    {TensorType::kTQ1_0, "TQ1_0", 256, 54, false},
    {TensorType::kTQ2_0, "TQ2_0", 256, 66, false},
    {TensorType::kMXFP4, "MXFP4", 32, 17, false},
};

}  // namespace

const TypeTraits* FindTypeTraits(uint32_t id) {
  for (const TypeTraits& t : kTraits)
    if (static_cast<uint32_t>(t.type) == id) return &t;
  return nullptr;
}

const TypeTraits& GetTypeTraits(TensorType type) {
  const TypeTraits* t = FindTypeTraits(static_cast<uint32_t>(type));
  assert(t);
  return *t;
}

std::string TypeName(uint32_t id) {
  const TypeTraits* t = FindTypeTraits(id);
  return t ? std::string(t->name) : "type " + std::to_string(id);
}

int64_t RowBytes(TensorType type, int64_t n) {
  const TypeTraits& t = GetTypeTraits(type);
  if (n < 0 || n % t.block_size) return -1;
  return n / t.block_size * t.type_size;
}

float Fp16ToFp32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000 | (mant << 13);  // inf or NaN (payload kept)
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;  // signed zero
  } else {
    // Subnormal: normalise the mantissa.
    int e = -1;
    do {
      ++e;
      mant <<= 1;
    } while ((mant & 0x400) == 0);
    bits = sign | (static_cast<uint32_t>(112 - e) << 23) | ((mant & 0x3ff) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t Fp32ToFp16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000);
  const uint32_t abs = bits & 0x7fffffff;
  if (abs > 0x7f800000) return static_cast<uint16_t>(sign | 0x7e00);  // NaN
  if (abs >= 0x477ff000) return static_cast<uint16_t>(sign | 0x7c00);  // overflow/inf
  if (abs < 0x38800000) {
    // Result is subnormal or zero: shift the implicit-one mantissa into
    // place and round to nearest even.
    if (abs < 0x33000000) return sign;  // below half the smallest subnormal
    const uint32_t exp = abs >> 23;
    const uint32_t mant = (abs & 0x7fffff) | 0x800000;
    const uint32_t shift = 126 - exp;  // 14..24
    uint32_t half = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1);
    const uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (half & 1))) ++half;
    return static_cast<uint16_t>(sign | half);
  }
  // Normal: rebias the exponent, round the 13 dropped bits to nearest even.
  uint32_t h = ((abs >> 13) - (112u << 10));
  const uint32_t rem = abs & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) ++h;  // may carry into exp
  return static_cast<uint16_t>(sign | h);
}

}  // namespace edgebench::gguf
