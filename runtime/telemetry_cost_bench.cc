// What the telemetry sampler costs the measurement: decode tokens/s of the
// native engine with the sampler running at 20 ms against without it.
//
//   build/bin/telemetry_cost_bench --benchmark_repetitions=5
//                                  --benchmark_report_aggregates_only=true
//
// Each iteration decodes a block with telemetry on and a block with it off,
// in alternating order, so drift (heat, other tenants) hits both alike; the
// counters are tokens/s of each and their ratio (on / off; 1.0 = free).
// The model is a TinyLlama-1.1B-shaped Q4_0, synthesised once into
// $EDGEBENCH_BENCH_DIR (default /tmp).
#include <cstdlib>
#include <filesystem>

#include <benchmark/benchmark.h>

#include "backends/native/model/model.h"
#include "backends/native/synth/synth.h"
#include "runtime/telemetry/telemetry.h"

namespace edgebench::runtime {
namespace {

constexpr int kTokensPerBlock = 48;

std::string ModelPath(const std::string& preset) {
  const char* dir = std::getenv("EDGEBENCH_BENCH_DIR");
  const std::string path =
      std::string(dir && *dir ? dir : "/tmp") + "/edgebench-" + preset + "-q4_0.gguf";
  if (!std::filesystem::exists(path)) {
    auto r = native::SynthesizeModel({.preset = preset, .type = "q4_0", .seed = 1}, path);
    if (!r.ok()) std::exit(1);
  }
  return path;
}

// Decodes one block; returns tokens/s.
double DecodeBlock(native::Context& ctx) {
  ctx.Clear();
  int32_t token = 1;
  const int64_t t0 = MonotonicNs();
  for (int i = 0; i < kTokensPerBlock; ++i) {
    if (!ctx.Eval(std::span<const int32_t>(&token, 1)).ok()) std::abort();
    token = (token * 7919 + 13) % 32000;
  }
  return kTokensPerBlock / (static_cast<double>(MonotonicNs() - t0) / 1e9);
}

void BM_TelemetryCost(benchmark::State& state) {
  const std::string preset = state.range(0) ? "tinyllama-1.1b" : "tiny";
  const int threads = static_cast<int>(state.range(1));
  auto model = native::Model::Load(ModelPath(preset));
  if (!model.ok()) std::exit(1);
  native::ContextOptions o;
  o.n_threads = threads;
  o.n_ctx = 256;
  auto ctx = native::Context::Create(**model, o);
  if (!ctx.ok()) std::exit(1);
  protocol::TelemetrySpec spec;
  spec.period_ms = 20;
  auto tel = Telemetry::Create(spec);
  if (!tel.ok()) std::exit(1);
  DecodeBlock(**ctx);  // warm caches and the pool
  double on_sum = 0, off_sum = 0;
  int64_t blocks = 0;
  for (auto _ : state) {
    const bool on_first = blocks % 2 == 0;
    for (int k = 0; k < 2; ++k) {
      const bool on = (k == 0) == on_first;
      if (on && !(*tel)->Start().ok()) std::abort();
      const double tps = DecodeBlock(**ctx);
      if (on) {
        (*tel)->Stop();
        benchmark::DoNotOptimize((*tel)->Drain());
        on_sum += tps;
      } else {
        off_sum += tps;
      }
    }
    ++blocks;
  }
  state.counters["tps_on"] = on_sum / static_cast<double>(blocks);
  state.counters["tps_off"] = off_sum / static_cast<double>(blocks);
  state.counters["on_over_off"] = on_sum / off_sum;
  state.SetLabel(preset + " q4_0");
}

BENCHMARK(BM_TelemetryCost)
    ->ArgsProduct({{0, 1}, {1, 2}})
    ->ArgNames({"tinyllama", "threads"})
    ->Iterations(6)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace edgebench::runtime

BENCHMARK_MAIN();
