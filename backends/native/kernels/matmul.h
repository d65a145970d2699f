// backends/native/kernels/matmul.h — weight matrix times activations, split
// across a thread pool: the projections of every transformer layer.
//
// The weight is `rows` rows of `cols` elements in its own type (the GGUF
// layout: row r at w + r * RowBytes(type, cols)); activations are `n_tokens`
// rows already in VecDotType(type), ActivationBytes(type, cols) bytes each.
// Threads take contiguous ranges of weight rows, so each weight byte is read
// by one thread once; with several tokens a weight row is reused for a tile
// of tokens while it is still in L1.
//
// Thread-safety: reentrant; one call uses the pool, which allows one caller
// at a time (thread_pool.h).
#pragma once

#include <cstdint>

#include "backends/native/kernels/kernels.h"
#include "backends/native/kernels/thread_pool.h"

namespace edgebench::native::kernels {

struct MatmulArgs {
  TensorType type = TensorType::kF32;  // of the weight
  const void* w = nullptr;             // [rows][cols] in `type`
  int64_t rows = 0;
  int64_t cols = 0;
  const void* x = nullptr;  // [n_tokens][ActivationBytes(type, cols) bytes]
  int64_t n_tokens = 1;
  float* y = nullptr;  // [n_tokens][rows]: y[t * rows + r] = dot(w row r, x row t)
};

// Computes args.y. REQUIRES: HasKernel(args.type), cols a multiple of the
// type's block size, buffers of the sizes above, `pool` not in use.
void Matmul(const KernelTable& kernels, const MatmulArgs& args, ThreadPool& pool);

// Converts `n_tokens` rows of `cols` floats (row stride `cols`) into the
// activations Matmul reads for weights of `type`, at `out`
// (n_tokens * ActivationBytes(type, cols) bytes). Single-threaded.
void QuantizeActivationRows(const KernelTable& kernels, TensorType type, const float* x,
                            int64_t n_tokens, int64_t cols, void* out);

}  // namespace edgebench::native::kernels
