// The AVX512-VNNI integer dot products: vpdpbusd does vpmaddubsw +
// vpmaddwd in one instruction (and without the int16 intermediate). Compiled
// with -mavx512vnni on top of avx512.cc's flags; used only when the CPU has
// avx512vnni (kernels.cc).
// GCC 12 warns about the _mm512_undefined_*() inside its own AVX-512
// intrinsics (gcc.gnu.org/PR105593); the pragmas cover the header's lines.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include "backends/native/kernels/internal/tables.h"
#include "backends/native/kernels/x86/avx512_dots.h"

namespace edgebench::native::kernels::internal {

namespace {

struct VnniDot {
  static __m512i Dot(__m512i acc, __m512i u, __m512i s) {
    return _mm512_dpbusd_epi32(acc, u, s);
  }
  static __m512i DotScaled(__m512i acc, __m512i u, __m512i s, __m512i scale) {
    return _mm512_add_epi32(
        acc,
        _mm512_mullo_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), u, s), scale));
  }
};

float VecDotQ8_0(int64_t n, const void* w, const void* x) {
  return VecDotQ8_0T<VnniDot>(n, w, x);
}
float VecDotQ4_0(int64_t n, const void* w, const void* x) {
  return VecDotQ4_0T<VnniDot>(n, w, x);
}
float VecDotQ4_K(int64_t n, const void* w, const void* x) {
  return VecDotQ4_KT<VnniDot>(n, w, x);
}
float VecDotQ6_K(int64_t n, const void* w, const void* x) {
  return VecDotQ6_KT<VnniDot>(n, w, x);
}

}  // namespace

void UseAvx512VnniDots(KernelTable* table) {
  table->vec_dot_q8_0 = VecDotQ8_0;
  table->vec_dot_q4_0 = VecDotQ4_0;
  table->vec_dot_q4_k = VecDotQ4_K;
  table->vec_dot_q6_k = VecDotQ6_K;
}

}  // namespace edgebench::native::kernels::internal
