// harness/sweep/plan.h — turns a sweep spec into the ordered work of one
// shard: configurations, grouped so one runtime process serves every
// configuration that shares a loaded model, and the order of their
// repetitions.
//
// A configuration is (device, model, backend, one value of every axis). The
// canonical order nests device, model, backend, then the axes in kAxisNames
// order (the first varying slowest): the model, the costly thing to load, is
// the outermost axis on each device. Each configuration has a stable key
//   device=pixel model=tinyllama-q4_0.gguf backend=native threads=4 n_prompt=512
//   n_gen=128 n_depth=0 n_batch=512 n_ctx=0 cpus="" kv_type=f16
// (one line) and a 64-bit id: the first 8 bytes of the key's SHA-256, big
// endian, the same on every host and version.
//
// Sharding (`--shard I/N`): configuration i of the canonical order (after
// include/exclude) goes to shard (i mod N) + 1, so shards 1..N partition the
// configurations exactly and differ in size by at most one; shards of the
// same spec agree on every host. A shard may be empty when N exceeds the
// number of configurations.
//
// Thread-safety: values and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "harness/sweep/spec.h"
#include "protocol/run_spec.h"

namespace edgebench::harness::sweep {

struct PlanOptions {
  // false: each configuration's warmups, then its repetitions, configuration
  // after configuration. true: the warmups of every configuration first, then
  // rounds, round r holding repetition r of every configuration in an order
  // shuffled per round (seeded, the same on every host), so slow drift (heat,
  // background load) spreads over all configurations instead of biasing one.
  bool interleave = false;
  int shard_index = 1;  // 1-based; REQUIRES 1 <= shard_index <= shard_count
  int shard_count = 1;
  uint64_t seed = 0;  // for the interleaved order
};

struct Config {
  size_t index = 0;  // position in the unsharded canonical order
  std::string device;
  size_t model = 0;  // index into Plan::spec.models
  std::string backend;
  // The axis values and the sweep-wide fields (prompt, sampler, warmup,
  // repetitions, seed, timeout_s) as the runtime's run spec wants them;
  // run_id is left to the executor.
  protocol::RunConfig run;
  std::string key;  // as above
  uint64_t id = 0;  // ConfigId(key)
};

// One repetition to run. `repetition` counts within its kind: warmups
// 0..warmup-1, measured repetitions 0..repetitions-1.
struct Slot {
  size_t config = 0;  // index into Plan::configs
  int repetition = 0;
  bool warmup = false;

  friend bool operator==(const Slot&, const Slot&) = default;
};

// What one runtime process does: one device, one loaded model, one backend.
struct Group {
  std::string device;
  size_t model = 0;  // index into Plan::spec.models
  std::string backend;
  std::vector<size_t> configs;  // indexes into Plan::configs, canonical order
  std::vector<Slot> slots;      // execution order
};

struct Plan {
  SweepSpec spec;
  PlanOptions options;
  size_t total_configs = 0;     // in the unsharded sweep
  std::vector<Config> configs;  // this shard's, canonical order
  std::vector<Group> groups;    // execution order: device, model, backend
};

// The first 8 bytes of SHA-256(key), big endian.
uint64_t ConfigId(std::string_view key);
// ConfigId as 16 lower-case hex digits.
std::string ConfigIdHex(uint64_t id);

// Fails on a bad shard (0/3, 4/3) or a spec ParseSweepSpec would refuse
// (an empty product).
Result<Plan> MakePlan(const SweepSpec& spec, const PlanOptions& options);

// The plan as a readable table for `--dry-run`: a header (configurations,
// runs, order, shard, the axes with one value), then per device and
// (model, backend) group the configurations with the axes that vary, then
// a total line. Ends with a newline.
std::string DescribePlan(const Plan& plan);

// Throughput of a device for EstimateSeconds. The defaults are a
// phone-class CPU.
struct DeviceRates {
  double mem_bandwidth_gb_s = 10;  // decode reads every weight once per token
  double gflop_s_per_thread = 50;  // prefill is compute bound
  int max_scaling_threads = 4;     // more threads than this add nothing
  double load_gb_s = 1;            // reading the model file
  double process_overhead_s = 2;   // start, hello, context creation
};

struct EstimateInputs {
  DeviceRates rates;                                // every device, unless
  std::map<std::string, DeviceRates> device_rates;  // overridden by device name
  // Model sizes by ModelSpec::path; absent: the file's size on this host,
  // else fallback_model_bytes.
  std::map<std::string, uint64_t> model_bytes;
  uint64_t fallback_model_bytes = 1ull << 30;
  // Expected wait per repetition when the sweep asks for a cooldown.
  double cooldown_wait_s = 10;
};

// A rough guide, not a promise: seconds to run `plan` with the devices one
// after another. Per repetition (warmups included):
//   prefill = (n_depth + n_prompt) × 2 × params / (gflop_s_per_thread ×
//             min(threads, max_scaling_threads))
//   decode  = n_gen × model_bytes / mem_bandwidth
//   + cooldown_wait_s when the sweep has a cooldown;
// per runtime process: model_bytes / load_gb_s + process_overhead_s.
// params = model_bytes × 8 / bits per weight, the bits guessed from the
// quantization in the file name (q4_0: 4.5, q8_0: 8.5, f16: 16, ...; 4.5
// when none is named).
double EstimateSeconds(const Plan& plan, const EstimateInputs& inputs);

// "45 s", "3 min 20 s", "2 h 05 min".
std::string FormatSeconds(double seconds);

}  // namespace edgebench::harness::sweep
