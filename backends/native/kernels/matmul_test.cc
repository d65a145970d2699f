#include "backends/native/kernels/matmul.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "backends/native/gguf/ggml_types.h"
#include "backends/native/gguf/quants.h"

namespace edgebench::native::kernels {
namespace {

using gguf::TensorType;

// Matmul must equal the naive loop over the same kernel exactly: every
// output element is one vec_dot call with the same arguments, whatever the
// split across threads and token tiles.
TEST(MatmulTest, MatchesNaiveLoopExactly) {
  const KernelTable& k = BestKernels();
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (TensorType type : {TensorType::kF32, TensorType::kF16, TensorType::kQ8_0,
                          TensorType::kQ4_0, TensorType::kQ4_K, TensorType::kQ6_K}) {
    const int64_t cols = 512;
    for (int64_t rows : {1, 7, 64, 130}) {
      // Weights: quantized from random floats with the reference quantizer.
      std::vector<float> wf(static_cast<size_t>(rows * cols));
      for (float& v : wf) v = dist(rng);
      const int64_t row_bytes = gguf::RowBytes(type, cols);
      std::vector<uint8_t> w(static_cast<size_t>(rows * row_bytes));
      for (int64_t r = 0; r < rows; ++r)
        gguf::QuantizeRow(type, wf.data() + r * cols, w.data() + r * row_bytes, cols);

      for (int64_t n_tokens : {1, 3, 40}) {  // 40 spans two token tiles
        std::vector<float> xf(static_cast<size_t>(n_tokens * cols));
        for (float& v : xf) v = dist(rng);
        const int64_t x_row_bytes = ActivationBytes(type, cols);
        std::vector<uint8_t> x(static_cast<size_t>(n_tokens * x_row_bytes));
        QuantizeActivationRows(k, type, xf.data(), n_tokens, cols, x.data());

        std::vector<float> want(static_cast<size_t>(n_tokens * rows));
        for (int64_t t = 0; t < n_tokens; ++t)
          for (int64_t r = 0; r < rows; ++r)
            want[static_cast<size_t>(t * rows + r)] = k.VecDot(type)(
                cols, w.data() + r * row_bytes, x.data() + t * x_row_bytes);

        for (int threads = 1; threads <= 3; ++threads) {
          Result<std::unique_ptr<ThreadPool>> pool = ThreadPool::Create(threads);
          ASSERT_TRUE(pool.ok()) << pool.status().ToString();
          std::vector<float> y(static_cast<size_t>(n_tokens * rows), NAN);
          Matmul(k,
                 {.type = type,
                  .w = w.data(),
                  .rows = rows,
                  .cols = cols,
                  .x = x.data(),
                  .n_tokens = n_tokens,
                  .y = y.data()},
                 **pool);
          for (size_t i = 0; i < y.size(); ++i)
            ASSERT_EQ(y[i], want[i])
                << gguf::TypeName(static_cast<uint32_t>(type)) << " rows=" << rows
                << " tokens=" << n_tokens << " threads=" << threads << " i=" << i;
        }
      }
    }
  }
}

// And the naive loop itself computes W x: compare one case with a double
// reference over dequantized values (Q8_0 weights and activations).
TEST(MatmulTest, ComputesWeightTimesActivations) {
  const KernelTable& k = BestKernels();
  const int64_t rows = 9, cols = 256;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<float> wf(rows * cols), xf(cols);
  for (float& v : wf) v = dist(rng);
  for (float& v : xf) v = dist(rng);
  const int64_t row_bytes = gguf::RowBytes(TensorType::kQ8_0, cols);
  std::vector<uint8_t> w(static_cast<size_t>(rows * row_bytes));
  for (int64_t r = 0; r < rows; ++r)
    gguf::QuantizeRow(TensorType::kQ8_0, wf.data() + r * cols, w.data() + r * row_bytes,
                      cols);
  std::vector<uint8_t> x(static_cast<size_t>(ActivationBytes(TensorType::kQ8_0, cols)));
  k.quantize_q8_0(xf.data(), x.data(), cols);

  Result<std::unique_ptr<ThreadPool>> pool = ThreadPool::Create(2);
  ASSERT_TRUE(pool.ok());
  std::vector<float> y(rows);
  Matmul(k,
         {.type = TensorType::kQ8_0,
          .w = w.data(),
          .rows = rows,
          .cols = cols,
          .x = x.data(),
          .n_tokens = 1,
          .y = y.data()},
         **pool);
  std::vector<float> xd(cols), wd(cols);
  gguf::DequantizeRow(TensorType::kQ8_0, x.data(), xd.data(), cols);
  for (int64_t r = 0; r < rows; ++r) {
    gguf::DequantizeRow(TensorType::kQ8_0, w.data() + r * row_bytes, wd.data(), cols);
    double want = 0, s = 0;
    for (int64_t i = 0; i < cols; ++i) {
      want += static_cast<double>(wd[i]) * xd[i];
      s += std::fabs(static_cast<double>(wd[i]) * xd[i]);
    }
    EXPECT_NEAR(y[r], want, 1e-5 * s) << "row " << r;
  }
}

}  // namespace
}  // namespace edgebench::native::kernels
