// reporters/testing/store_fixture.h — stores with chosen measurements for
// the reporters' and the CLI's tests (test-only, header-only).
#pragma once

#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "store/store.h"

namespace edgebench::reporters::test_store {

// Writes sweeps into a store the way the executor does: a device, a build,
// a model, runs with measured repetitions whose metrics the test chooses.
class StoreFixture {
 public:
  explicit StoreFixture(const std::string& path) : store_(store::Store::Open(path).value()) {
    store::DeviceRecord d{.key = "adb:R5", .name = "pixel", .transport = "adb"};
    device_ = store_->UpsertDevice(d).value();
    store::BuildRecord b{.version = "0.1", .git_commit = "abc123", .build_type = "Release"};
    build_ = store_->UpsertBuild(b).value();
    store::ModelRecord m{.sha256 = "aa", .name = "tiny-q4", .quant = "Q4_0",
                         .size_bytes = 9 << 20};
    model_ = store_->UpsertModel(m).value();
  }
  store::Store& store() { return *store_; }

  int64_t Sweep(const std::string& name, const std::string& labels = "[]",
                const std::string& commit = "abc123") {
    store::SweepRecord s{.name = name, .labels_json = labels, .git_commit = commit};
    const int64_t id = store_->CreateSweep(s).value();
    uuids_.push_back(s.uuid);
    return id;
  }
  const std::string& uuid(size_t i) const { return uuids_[i]; }

  // One configuration: `decode` values (one repetition each) and prefill at
  // 10x; one warmup repetition first (ignored by reports) at 1 tok/s.
  int64_t Run(int64_t sweep, int threads, const std::vector<double>& decode,
              std::vector<double> freq_drop = {}) {
    return RunBackend(sweep, "native", threads, decode, std::move(freq_drop));
  }
  // As Run, by `backend`; the configuration key holds the backend as the
  // sweep planner's does (harness/sweep/product.cc).
  int64_t RunBackend(int64_t sweep, const std::string& backend, int threads,
                     const std::vector<double>& decode, std::vector<double> freq_drop = {}) {
    store::RunRecord r{.sweep_id = sweep, .device_id = device_, .build_id = build_,
                       .model_id = model_, .backend = backend,
                       .config_key = "device=pixel model=tiny-q4 backend=" + backend +
                                     " threads=" + std::to_string(threads) +
                                     " n_prompt=64 n_gen=16",
                       .n_threads = threads, .n_prompt = 64, .n_gen = 16};
    const int64_t run = store_->CreateRun(r).value();
    store::RepRecord w{.run_id = run, .idx = 0, .warmup = true};
    w.metrics = {{"decode_tps", 1.0}};
    EXPECT_TRUE(store_->AddRep(w).ok());
    for (size_t i = 0; i < decode.size(); ++i) {
      store::RepRecord rep{.run_id = run, .idx = static_cast<int>(i) + 1};
      rep.metrics = {{"decode_tps", decode[i]}, {"prefill_tps", 10 * decode[i]},
                     {"ttft_ms", 1000 / decode[i]}};
      if (!freq_drop.empty()) rep.metrics["freq_drop_pct"] = freq_drop[i % freq_drop.size()];
      rep.token_times_ns = {0, 10'000'000, 30'000'000};
      rep.samples = {{1'000'000'000 + static_cast<int64_t>(i) * 1'000'000, "temp", "cpu_c",
                      40.0 + static_cast<double>(i)},
                     {1'000'000'000 + static_cast<int64_t>(i) * 1'000'000, "mem", "rss_kb", 1}};
      EXPECT_TRUE(store_->AddRep(rep).ok());
    }
    EXPECT_TRUE(store_->FinishRun(run, store::RunStatus::kOk, {{"load_ms", 12.5}}).ok());
    return run;
  }

 private:
  std::unique_ptr<store::Store> store_;
  int64_t device_ = 0, build_ = 0, model_ = 0;
  std::vector<std::string> uuids_;
};

// Deterministic "measurements": mean m, spread ±s, n values.
inline std::vector<double> Around(double m, double s, int n, int phase = 0) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(m + s * std::sin(1.7 * (i + phase)));
  return v;
}

}  // namespace edgebench::reporters::test_store
