// The armv8.2-a dotprod integer dot products: SDOT sums four int8 products
// into each int32 lane in one instruction. Compiled with
// -march=armv8.2-a+dotprod; used only when HWCAP reports asimddp
// (kernels.cc), everything else comes from neon.cc's table.
#include <arm_neon.h>

#include "backends/native/kernels/arm/neon_dots.h"
#include "backends/native/kernels/internal/tables.h"

namespace edgebench::native::kernels::internal {

namespace {

struct SdotDot {
  static int32x4_t Dot(int32x4_t acc, int8x16_t a, int8x16_t b) {
    return vdotq_s32(acc, a, b);
  }
};

float VecDotQ8_0(int64_t n, const void* w, const void* x) {
  return VecDotQ8_0T<SdotDot>(n, w, x);
}
float VecDotQ4_0(int64_t n, const void* w, const void* x) {
  return VecDotQ4_0T<SdotDot>(n, w, x);
}
float VecDotQ4_K(int64_t n, const void* w, const void* x) {
  return VecDotQ4_KT<SdotDot>(n, w, x);
}
float VecDotQ6_K(int64_t n, const void* w, const void* x) {
  return VecDotQ6_KT<SdotDot>(n, w, x);
}

}  // namespace

void UseNeonDotprodDots(KernelTable* table) {
  table->vec_dot_q8_0 = VecDotQ8_0;
  table->vec_dot_q4_0 = VecDotQ4_0;
  table->vec_dot_q4_k = VecDotQ4_K;
  table->vec_dot_q6_k = VecDotQ6_K;
}

}  // namespace edgebench::native::kernels::internal
