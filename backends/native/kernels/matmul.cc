#include "backends/native/kernels/matmul.h"

#include <algorithm>
#include <cassert>

namespace edgebench::native::kernels {

namespace {

// Tokens per tile: 32 tokens of Q8_0 activations at cols = 4096 are ~140 KB,
// which stays in L2 while a thread walks its weight rows over them.
constexpr int64_t kTokenTile = 32;

}  // namespace

void Matmul(const KernelTable& kernels, const MatmulArgs& a, ThreadPool& pool) {
  assert(HasKernel(a.type));
  const KernelTable::VecDotFn dot = kernels.VecDot(a.type);
  const int64_t w_row_bytes = gguf::RowBytes(a.type, a.cols);
  const int64_t x_row_bytes = ActivationBytes(a.type, a.cols);
  assert(w_row_bytes > 0 && x_row_bytes > 0);
  const uint8_t* w = static_cast<const uint8_t*>(a.w);
  const uint8_t* x = static_cast<const uint8_t*>(a.x);

  // The hot spot of decode (n_tokens == 1): one dot product per weight row.
  pool.ParallelFor(a.rows, [&](int64_t row_begin, int64_t row_end, int) {
    for (int64_t t0 = 0; t0 < a.n_tokens; t0 += kTokenTile) {
      const int64_t t1 = std::min(a.n_tokens, t0 + kTokenTile);
      for (int64_t r = row_begin; r < row_end; ++r) {
        const uint8_t* w_row = w + r * w_row_bytes;
        for (int64_t t = t0; t < t1; ++t)
          a.y[t * a.rows + r] = dot(a.cols, w_row, x + t * x_row_bytes);
      }
    }
  });
}

void QuantizeActivationRows(const KernelTable& kernels, TensorType type, const float* x,
                            int64_t n_tokens, int64_t cols, void* out) {
  const int64_t row_bytes = ActivationBytes(type, cols);
  for (int64_t t = 0; t < n_tokens; ++t)
    kernels.QuantizeActivations(type, x + t * cols,
                                static_cast<uint8_t*>(out) + t * row_bytes, cols);
}

}  // namespace edgebench::native::kernels
