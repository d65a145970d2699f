// Decode and prefill speed of the native engine on a TinyLlama-1.1B-shaped
// model, beside this machine's memory read bandwidth measured in the same
// run, so the fraction of the memory wall reached is a same-run ratio.
//
//   build/bin/decode_bench --benchmark_repetitions=5
//                          --benchmark_report_aggregates_only=true
//
// Models are synthesised once into $EDGEBENCH_BENCH_DIR (default /tmp).
// tg128 (decode) and pp512 (prefill) follow llama-bench: `items_per_second`
// is tokens/s; `bytes_per_second` for decode is weight bytes read per second.
#include <sys/mman.h>

#if defined(__x86_64__)
// GCC 12 warns inside its own AVX-512 intrinsics (gcc.gnu.org/PR105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "backends/native/model/model.h"
#include "backends/native/synth/synth.h"

namespace edgebench::native {
namespace {

const char* kTypes[] = {"q4_0", "q8_0", "q4_k_m", "f16"};

std::string ModelPath(const std::string& type) {
  const char* dir = std::getenv("EDGEBENCH_BENCH_DIR");
  const std::string path =
      std::string(dir && *dir ? dir : "/tmp") + "/edgebench-tinyllama-1.1b-" + type + ".gguf";
  if (!std::filesystem::exists(path)) {
    auto r = SynthesizeModel({.preset = "tinyllama-1.1b", .type = type, .seed = 1}, path);
    if (!r.ok()) {
      std::fprintf(stderr, "synth: %s\n", r.status().ToString().c_str());
      std::exit(1);
    }
  }
  return path;
}

struct Loaded {
  std::unique_ptr<Model> model;
  std::unique_ptr<Context> ctx;
};

Loaded Load(const std::string& type, int threads, int n_batch) {
  Loaded l;
  auto m = Model::Load(ModelPath(type));
  if (!m.ok()) {
    std::fprintf(stderr, "%s\n", m.status().ToString().c_str());
    std::exit(1);
  }
  l.model = std::move(*m);
  ContextOptions o;
  o.n_threads = threads;
  o.n_ctx = 1024;
  o.n_batch = n_batch;
  auto c = Context::Create(*l.model, o);
  if (!c.ok()) std::exit(1);
  l.ctx = std::move(*c);
  return l;
}

// tg128: 128 tokens decoded one at a time from an empty context.
void BM_Decode(benchmark::State& state) {
  const std::string type = kTypes[state.range(0)];
  const int threads = static_cast<int>(state.range(1));
  Loaded l = Load(type, threads, 512);
  int32_t token = 1;
  for (auto _ : state) {
    l.ctx->Clear();
    for (int i = 0; i < 128; ++i) {
      if (!l.ctx->Eval(std::span<const int32_t>(&token, 1)).ok()) state.SkipWithError("eval");
      token = (token * 7919 + 13) % 32000;  // any token: the cost does not depend on it
    }
  }
  state.SetLabel(type + " " + std::string(kernels::IsaName(l.ctx->kernels().isa)));
  state.SetItemsProcessed(state.iterations() * 128);
  state.SetBytesProcessed(state.iterations() * 128 *
                          static_cast<int64_t>(l.model->weight_bytes()));
}

// pp512: one prompt of 512 tokens.
void BM_Prefill(benchmark::State& state) {
  const std::string type = kTypes[state.range(0)];
  const int threads = static_cast<int>(state.range(1));
  Loaded l = Load(type, threads, 512);
  std::vector<int32_t> prompt(512);
  for (int i = 0; i < 512; ++i) prompt[i] = (i * 7919 + 13) % 32000;
  for (auto _ : state) {
    l.ctx->Clear();
    if (!l.ctx->Eval(prompt).ok()) state.SkipWithError("eval");
  }
  state.SetLabel(type + " " + std::string(kernels::IsaName(l.ctx->kernels().isa)));
  state.SetItemsProcessed(state.iterations() * 512);
}

// Sums n words with the widest loads this CPU has: the baseline must not
// be slower than the kernels' own loads, or the fraction would flatter us.
uint64_t SumScalar(const uint64_t* p, size_t n) {
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (size_t i = 0; i < n; i += 4) {
    s0 += p[i];
    s1 += p[i + 1];
    s2 += p[i + 2];
    s3 += p[i + 3];
  }
  return s0 + s1 + s2 + s3;
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) uint64_t SumAvx512(const uint64_t* p, size_t n) {
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i < n; i += 32) {
    a0 = _mm512_add_epi64(a0, _mm512_load_si512(p + i));
    a1 = _mm512_add_epi64(a1, _mm512_load_si512(p + i + 8));
    a2 = _mm512_add_epi64(a2, _mm512_load_si512(p + i + 16));
    a3 = _mm512_add_epi64(a3, _mm512_load_si512(p + i + 24));
  }
  return _mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_add_epi64(a0, a1),
                                                  _mm512_add_epi64(a2, a3)));
}
#endif

uint64_t SumWords(const uint64_t* p, size_t n) {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512f")) return SumAvx512(p, n);
#endif
  return SumScalar(p, n);
}

// STREAM-style read of 256 MiB per thread: the memory wall decode runs into.
void BM_MemoryRead(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const size_t words = (size_t{256} << 20) / sizeof(uint64_t);
  std::vector<uint64_t*> bufs(threads);
  for (auto& b : bufs) {
    b = static_cast<uint64_t*>(std::aligned_alloc(64, words * sizeof(uint64_t)));
    for (size_t i = 0; i < words; ++i) b[i] = i;  // touch every page
  }
  std::vector<uint64_t> sums(threads);
  for (auto _ : state) {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] { sums[t] = SumWords(bufs[t], words); });
    for (auto& th : pool) th.join();
    benchmark::DoNotOptimize(sums.data());
  }
  for (auto* b : bufs) std::free(b);
  state.SetBytesProcessed(state.iterations() * threads *
                          static_cast<int64_t>(words * sizeof(uint64_t)));
}

BENCHMARK(BM_MemoryRead)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Decode)
    ->ArgsProduct({{0, 1}, {1, 2}})  // q4_0, q8_0 × 1, 2 threads
    ->ArgNames({"type", "threads"})
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Decode)
    ->ArgsProduct({{2, 3}, {2}})  // q4_k_m, f16 × 2 threads
    ->ArgNames({"type", "threads"})
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Prefill)
    ->ArgsProduct({{0, 1}, {2}})
    ->ArgNames({"type", "threads"})
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace edgebench::native

BENCHMARK_MAIN();
