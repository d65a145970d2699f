// report_bench — `edgebench report` over a large store: 100k measured
// repetitions (1000 configurations x 100) with 32 token timestamps each, and
// 1M telemetry samples (10 per repetition: temperature, clock, power). The
// targets: Markdown under 3 s, HTML under 5 s, store reading included.
//
//   build/bin/report_bench [--benchmark_repetitions=3]
//
// The store is written once per process (about 20 s) into $TMPDIR with raw
// SQL in one transaction: the executor's one-transaction-per-repetition
// path with synchronous=FULL would take far longer and is not what is timed.
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include <benchmark/benchmark.h>

#include "reporters/html.h"
#include "reporters/report.h"
#include "reporters/text.h"
#include "store/internal/sqlite.h"
#include "store/store.h"

namespace edgebench::reporters {
namespace {

constexpr int kDevices = 2, kModels = 2, kThreads = 5, kPrompts = 5, kDepths = 10;
constexpr int kRepsPerRun = 100;  // 2*2*5*5*10 = 1000 configurations -> 100k reps
constexpr int kSamplesPerRep = 10;
constexpr int kTokens = 32;

std::string StorePath() {
  static const std::string path = [] {
    const char* tmp = std::getenv("TMPDIR");
    const std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/edgebench-report-bench-" +
                            std::to_string(::getpid());
    std::filesystem::create_directories(dir);
    return dir + "/eb.db";
  }();
  return path;
}

void Check(const Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "report_bench: %s\n", s.ToString().c_str());
    std::exit(1);
  }
}

std::unique_ptr<store::Store> BuildStore() {
  auto opened = store::Store::Open(StorePath());
  Check(opened.status());
  std::unique_ptr<store::Store> st = std::move(*opened);
  auto& db = st->db();
  Check(db.Exec("PRAGMA synchronous = OFF"));
  Check(db.Exec("BEGIN"));
  Check(db.Exec("INSERT INTO builds (version, git_commit, build_type, compiler, flags, isa) "
                "VALUES ('0.1', 'abc', 'Release', 'GNU 12', '-O2', 'x86_64+avx2')"));
  Check(db.Exec("INSERT INTO sweeps (uuid, name, status) VALUES "
                "('bbbbbbbb-0000-4000-8000-000000000000', 'bench', 'completed')"));
  for (int m = 0; m < kModels; ++m)
    Check(db.Exec("INSERT INTO models (sha256, name, quant, size_bytes) VALUES ('m" +
                  std::to_string(m) + "', 'model-" + std::to_string(m) + "', 'Q4_0', 600000000)"));
  for (int d = 0; d < kDevices; ++d)
    Check(db.Exec("INSERT INTO devices (key, name, transport) VALUES ('ssh:dev" +
                  std::to_string(d) + "', 'dev" + std::to_string(d) + "', 'ssh')"));
  auto run = db.Prepare(
      "INSERT INTO runs (uuid, sweep_id, device_id, build_id, model_id, backend, config_key, "
      "n_threads, n_prompt, n_gen, n_depth, status, load_ms) VALUES (?1, 1, ?2, 1, ?3, 'native', "
      "?4, ?5, ?6, 128, ?7, 'ok', 900) RETURNING id");
  auto rep = db.Prepare(
      "INSERT INTO reps (run_id, idx, warmup, t_start_ns, t_end_ns, n_prompt, n_gen, "
      "token_times_ns, prefill_tps, decode_tps, ttft_ms, itl_p50_ms, itl_p99_ms, peak_rss_mb, "
      "decode_mj_per_tok, avg_power_w, temp_max_c, freq_drop_pct) VALUES (?1, ?2, 0, ?3, ?4, "
      "?5, 128, ?6, ?7, ?8, ?9, ?10, ?11, 700, ?12, 4.5, ?13, 0) RETURNING id");
  auto sample = db.Prepare(
      "INSERT INTO samples (run_id, rep_id, t_ns, source, name, value) VALUES (?1, ?2, ?3, ?4, "
      "?5, ?6)");
  Check(run.status());
  Check(rep.status());
  Check(sample.status());
  uint64_t x = 88172645463325252ull;
  auto noise = [&] {  // xorshift: [-1, 1)
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return static_cast<double>(x >> 11) / static_cast<double>(1ull << 52) - 1;
  };
  int64_t t = 0;
  int config = 0;
  for (int d = 0; d < kDevices; ++d)
    for (int m = 0; m < kModels; ++m)
      for (int th = 1; th <= kThreads; ++th)
        for (int p = 0; p < kPrompts; ++p)
          for (int dp = 0; dp < kDepths; ++dp, ++config) {
            const int n_prompt = 64 << p, n_depth = dp * 512;
            Check(run->Reset());
            run->Bind(1, "run-" + std::to_string(config)).Bind(2, d + 1).Bind(3, m + 1)
                .Bind(4, "config-" + std::to_string(config)).Bind(5, th).Bind(6, n_prompt)
                .Bind(7, n_depth);
            Check(run->Step().status());
            const int64_t run_id = run->ColumnInt(0);
            Check(run->Reset());
            const double tps = 10.0 * th / (1 + dp * 0.05) / (1 + m);
            for (int r = 0; r < kRepsPerRun; ++r) {
              int64_t tokens[kTokens];
              for (int k = 0; k < kTokens; ++k)
                tokens[k] = t + static_cast<int64_t>(k * 1e9 / tps * (1 + 0.02 * noise()));
              Check(rep->Reset());
              const double decode = tps * (1 + 0.02 * noise());
              rep->Bind(1, run_id).Bind(2, r).Bind(3, t).Bind(4, t + 1'000'000'000)
                  .Bind(5, n_prompt).BindBlob(6, tokens, sizeof tokens)
                  .Bind(7, decode * 5).Bind(8, decode).Bind(9, 1000.0 * n_prompt / (decode * 5))
                  .Bind(10, 1000 / decode).Bind(11, 1300 / decode).Bind(12, 4500 / decode)
                  .Bind(13, 45 + 10 * noise());
              Check(rep->Step().status());
              const int64_t rep_id = rep->ColumnInt(0);
              Check(rep->Reset());
              static const char* kSource[] = {"temp", "freq", "power"};
              static const char* kName[] = {"cpu_c", "cluster0_khz", "battery_w"};
              for (int s = 0; s < kSamplesPerRep; ++s) {
                Check(sample->Reset());
                const int k = s % 3;
                const double v = k == 0 ? 45 + 5 * noise() : k == 1 ? 2.4e6 : 4.5 + noise();
                sample->Bind(1, run_id).Bind(2, rep_id).Bind(3, t + s * 100'000'000)
                    .Bind(4, kSource[k]).Bind(5, kName[k]).Bind(6, v);
                Check(sample->Run());
              }
              t += 1'200'000'000;
            }
          }
  Check(db.Exec("COMMIT"));
  return st;
}

store::Store& SharedStore() {
  static std::unique_ptr<store::Store> st = BuildStore();
  return *st;
}

void BM_ReportMarkdown(benchmark::State& state) {
  store::Store& st = SharedStore();
  for (auto _ : state) {
    LoadOptions o;
    o.timeline = false;
    o.itl = false;
    auto data = LoadReport(st, Selector{}, o);
    Check(data.status());
    const std::string md = RenderMarkdown(*data, DefaultReportMetrics());
    benchmark::DoNotOptimize(md.data());
    state.counters["reps"] = static_cast<double>(data->reps);
    state.counters["rows"] = static_cast<double>(data->rows.size());
  }
}

void BM_ReportHtml(benchmark::State& state) {
  store::Store& st = SharedStore();
  for (auto _ : state) {
    auto data = LoadReport(st, Selector{});
    Check(data.status());
    const std::string html = RenderHtml(*data, {});
    benchmark::DoNotOptimize(html.data());
    state.counters["reps"] = static_cast<double>(data->reps);
    state.counters["samples"] = static_cast<double>(data->samples);
    state.counters["html_mb"] = static_cast<double>(html.size()) / 1e6;
  }
}

BENCHMARK(BM_ReportMarkdown)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_ReportHtml)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
}  // namespace edgebench::reporters

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  edgebench::reporters::SharedStore();  // built before the clock starts
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::filesystem::remove_all(std::filesystem::path(edgebench::reporters::StorePath()).parent_path());
  return 0;
}
