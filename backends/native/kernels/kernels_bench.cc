// Micro-benchmarks of the kernels: matrix x vector (decode's hot spot) per
// weight type, kernel variant, matrix shape and thread count, reported as
// bytes of weights read per second, to hold against memory bandwidth.
//
//   build/bin/kernels_bench --benchmark_filter=matvec/Q4_0/
//       --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// Weights live in anonymous memory (an mmap'd file is slower in some VMs;
// that is the loader's concern, not the kernels'). Shapes are TinyLlama's:
// 2048x2048 (attention), 5632x2048 (FFN up/gate), 32000x2048 (output).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "backends/native/gguf/ggml_types.h"
#include "base/cpu_features.h"
#include "backends/native/kernels/internal/tables.h"
#include "backends/native/kernels/kernels.h"
#include "backends/native/kernels/matmul.h"
#include "backends/native/kernels/thread_pool.h"

namespace edgebench::native::kernels {
namespace {

using gguf::TensorType;

class XorShift {
 public:
  uint64_t Next() {
    s_ ^= s_ << 13;
    s_ ^= s_ >> 7;
    s_ ^= s_ << 17;
    return s_;
  }

 private:
  uint64_t s_ = 0x9E3779B97F4A7C15ull;
};

// Random but valid weights: finite values, small fp16 scales.
std::vector<uint8_t> MakeWeights(TensorType type, int64_t rows, int64_t cols) {
  const int64_t row_bytes = gguf::RowBytes(type, cols);
  std::vector<uint8_t> w(static_cast<size_t>(rows * row_bytes));
  XorShift rng;
  for (size_t i = 0; i + 8 <= w.size(); i += 8) {
    const uint64_t r = rng.Next();
    std::memcpy(&w[i], &r, 8);
  }
  const size_t n = static_cast<size_t>(rows * cols);
  switch (type) {
    case TensorType::kF32:
      for (size_t i = 0; i < n; ++i) {
        const float f =
            static_cast<float>(static_cast<int32_t>(rng.Next() >> 32)) * 0x1p-31f;
        std::memcpy(&w[4 * i], &f, 4);
      }
      return w;
    case TensorType::kF16:
    case TensorType::kBF16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, &w[2 * i], 2);
        // Keep sign and mantissa, force a small finite exponent.
        h = type == TensorType::kF16 ? static_cast<uint16_t>((h & 0x83FF) | (13 << 10))
                                     : static_cast<uint16_t>((h & 0x807F) | (124 << 7));
        std::memcpy(&w[2 * i], &h, 2);
      }
      return w;
    default:
      break;
  }
  const gguf::TypeTraits& t = gguf::GetTypeTraits(type);
  const uint16_t scale = gguf::Fp32ToFp16(0.01f);
  for (size_t b = 0; b < n / static_cast<size_t>(t.block_size); ++b) {
    uint8_t* blk = &w[b * static_cast<size_t>(t.type_size)];
    switch (type) {
      case TensorType::kQ4_K:
        std::memcpy(blk + internal::kQ4_KDmin, &scale, 2);
        [[fallthrough]];
      case TensorType::kQ8_0:
      case TensorType::kQ4_0:
        std::memcpy(blk, &scale, 2);
        break;
      case TensorType::kQ6_K:
        std::memcpy(blk + internal::kQ6_KD, &scale, 2);
        break;
      default:
        break;
    }
  }
  return w;
}

// One weight matrix at a time (the output matrix in F32 is 262 MB), at a
// 64-byte boundary plus EDGEBENCH_BENCH_OFFSET bytes (GGUF promises only
// 32-byte alignment; 16 is what malloc gives).
struct Weights {
  std::vector<uint8_t> storage;
  const uint8_t* data = nullptr;
  int64_t bytes = 0;
};
const Weights& CachedWeights(TensorType type, int64_t rows, int64_t cols) {
  static TensorType cached_type;
  static int64_t cached_rows = -1, cached_cols = -1;
  static Weights cached;
  if (type != cached_type || rows != cached_rows || cols != cached_cols) {
    cached.storage.clear();
    cached.storage.shrink_to_fit();
    const std::vector<uint8_t> w = MakeWeights(type, rows, cols);
    const char* env = std::getenv("EDGEBENCH_BENCH_OFFSET");
    const size_t offset = env ? static_cast<size_t>(std::atoi(env)) % 64 : 0;
    cached.storage.resize(w.size() + 128);
    const uintptr_t base = reinterpret_cast<uintptr_t>(cached.storage.data());
    uint8_t* data = cached.storage.data() + (64 - base % 64) % 64 + offset;
    std::memcpy(data, w.data(), w.size());
    cached.data = data;
    cached.bytes = static_cast<int64_t>(w.size());
    cached_type = type;
    cached_rows = rows;
    cached_cols = cols;
  }
  return cached;
}

void BM_Matvec(benchmark::State& state, const KernelTable* k, TensorType type,
               int64_t rows, int64_t cols, int threads) {
  const Weights& w = CachedWeights(type, rows, cols);
  std::vector<float> xf(static_cast<size_t>(cols));
  XorShift rng;
  for (float& v : xf)
    v = static_cast<float>(static_cast<int32_t>(rng.Next() >> 32)) * 0x1p-31f;
  std::vector<uint8_t> x(static_cast<size_t>(ActivationBytes(type, cols)));
  k->QuantizeActivations(type, xf.data(), x.data(), cols);
  std::vector<float> y(static_cast<size_t>(rows));
  Result<std::unique_ptr<ThreadPool>> pool = ThreadPool::Create(threads);
  if (!pool.ok()) {
    state.SkipWithError(pool.status().ToString().c_str());
    return;
  }
  const MatmulArgs args = {.type = type,
                           .w = w.data,
                           .rows = rows,
                           .cols = cols,
                           .x = x.data(),
                           .n_tokens = 1,
                           .y = y.data()};
  for (auto _ : state) {
    Matmul(*k, args, **pool);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * w.bytes);
}

void BM_Quantize(benchmark::State& state, const KernelTable* k, TensorType weight_type,
                 int64_t n) {
  std::vector<float> xf(static_cast<size_t>(n));
  XorShift rng;
  for (float& v : xf)
    v = static_cast<float>(static_cast<int32_t>(rng.Next() >> 32)) * 0x1p-31f;
  std::vector<uint8_t> x(static_cast<size_t>(ActivationBytes(weight_type, n)));
  for (auto _ : state) {
    k->QuantizeActivations(weight_type, xf.data(), x.data(), n);
    benchmark::DoNotOptimize(x.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * n * static_cast<int64_t>(sizeof(float)));
}

// The fixed cost of one parallel loop (decode runs ~150 per token).
void BM_Dispatch(benchmark::State& state) {
  Result<std::unique_ptr<ThreadPool>> pool =
      ThreadPool::Create(static_cast<int>(state.range(0)));
  if (!pool.ok()) {
    state.SkipWithError(pool.status().ToString().c_str());
    return;
  }
  int64_t sink = 0;
  for (auto _ : state) {
    (*pool)->ParallelFor(state.range(0), [&](int64_t begin, int64_t, int) {
      benchmark::DoNotOptimize(begin);
    });
    benchmark::DoNotOptimize(sink);
  }
}

void RegisterAll() {
  const TensorType types[] = {TensorType::kQ4_0, TensorType::kQ8_0, TensorType::kQ4_K,
                              TensorType::kQ6_K, TensorType::kF16,  TensorType::kBF16,
                              TensorType::kF32};
  const struct {
    int64_t rows, cols;
  } shapes[] = {{2048, 2048}, {5632, 2048}, {32000, 2048}};
  const std::vector<internal::NamedTable> variants = internal::AllTables();
  // Type and shape outermost: the weights are made once per (type, shape).
  for (TensorType type : types) {
    const std::string tname(gguf::GetTypeTraits(type).name);
    for (const auto& s : shapes)
      for (const internal::NamedTable& v : variants)
        for (int threads : {1, 2}) {
          // avx512 with and without VNNI differ only in the integer dots.
          if (v.name == "avx512_without_vnni" &&
              (type == TensorType::kF32 || type == TensorType::kF16 ||
               type == TensorType::kBF16))
            continue;
          const std::string name = "matvec/" + tname + "/" + std::to_string(s.rows) +
                                   "x" + std::to_string(s.cols) + "/" + v.name +
                                   "/threads:" + std::to_string(threads);
          benchmark::RegisterBenchmark(name.c_str(), BM_Matvec, v.table, type, s.rows,
                                       s.cols, threads)
              ->UseRealTime()
              ->Unit(benchmark::kMicrosecond);
        }
  }
  benchmark::RegisterBenchmark("threadpool/dispatch", BM_Dispatch)
      ->Arg(1)
      ->Arg(2)
      ->UseRealTime()
      ->Unit(benchmark::kNanosecond);
  for (const internal::NamedTable& v : variants) {
    benchmark::RegisterBenchmark(("quantize/Q8_0/2048/" + v.name).c_str(), BM_Quantize,
                                 v.table, TensorType::kQ4_0, int64_t{2048})
        ->Unit(benchmark::kNanosecond);
    benchmark::RegisterBenchmark(("quantize/Q8_K/2048/" + v.name).c_str(), BM_Quantize,
                                 v.table, TensorType::kQ4_K, int64_t{2048})
        ->Unit(benchmark::kNanosecond);
  }
}

}  // namespace
}  // namespace edgebench::native::kernels

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("cpu_features",
                              edgebench::CpuFeaturesString(
                                  edgebench::GetCpuFeatures()));
  edgebench::native::kernels::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
