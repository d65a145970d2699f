// harness/sweep/spec.h — the sweep spec: which devices, models, backends and
// axis values to measure, and how (repetitions, warmup, cooldown, telemetry,
// timeouts). Read from a JSON file (comments allowed) for `edgebench sweep`,
// or built from the list flags of `edgebench run`; both feed the planner
// (harness/sweep/plan.h).
//
//   // workloads/sweeps/phone-vs-board.json
//   {
//     "name": "phone-vs-board",
//     "devices": ["pixel", "pi5"],           // names from devices.json, or adb serials
//     "models": ["../../models/tinyllama-q4_0.gguf",          // relative to this file
//                {"path": "/srv/models/qwen-q8_0.gguf", "label": "qwen-q8"}],
//     "backends": ["native"],                // default ["native"]; "llamacpp", "command"
//     "axes": {"threads": [1, 2, 4], "n_prompt": [128, 512], "n_gen": [128],
//              "n_depth": [0, 1024]},        // absent axes take one default value
//     "repetitions": 5, "warmup": 1,
//     "cooldown": {"max_temp_c": 45, "timeout_s": 120},
//     "telemetry": {"period_ms": 20, "sources": ["mem", "cpufreq", "thermal"]},
//     "timeout_s": 300,                      // per repetition
//     "run_timeout_s": 3600,                 // per runtime process
//     "labels": {"purpose": "nightly"},
//     "exclude": [{"threads": 4, "n_depth": 1024}],
//     "include": [{"model": "qwen-q8", "threads": [2, 4]},
//                 {"model": "tinyllama-q4_0.gguf"}]
//   }
//
// Fields (all but "devices" and "models" optional; unknown keys are errors at
// every level, so a misspelt option never silently measures the wrong thing):
//   schema        1 (the only version so far).
//   name          a name for the sweep; LoadSweepFile defaults it to the file's stem.
//   devices       non-empty list of device names, device keys ("ssh:pi5") or adb
//                 serials; resolved by the caller, not here. No duplicates.
//   models        non-empty list; each a path or {"path", "label"}. A relative path
//                 is relative to the sweep file's folder. The label (default: the
//                 file name) names the model in config keys and rules; unique.
//   backends      list of "native" / "llamacpp" / "command"; default ["native"]
//                 (llamacpp: llama.cpp linked into the runtime). "command" needs
//                 a "command" object (as in the run spec: argv, parser).
//   axes          object of lists, one per axis (kAxisNames). An absent axis has one
//                 value, the run spec's default; a present one is a non-empty list of
//                 valid values without duplicates. The depth axis is "n_depth" (as in
//                 the run spec); "depth", "batch", "ctx" are refused with a hint.
//                   threads   int 1..1024              n_prompt int 0..2^20
//                   n_gen     int 0..2^20              n_depth  int 0..2^20
//                   n_batch   int 1..2^20              n_ctx    int 0..2^20 (0: fit)
//                   cpus      "" | "big" | "little" | "0,2,4-7"
//                   kv_type   "f16" | "f32"
//   repetitions, warmup, seed, prompt, sampler
//                 as the run spec's (protocol/run_spec.h), for every configuration.
//   cooldown      the run spec's CooldownSpec (present: enabled); null: none.
//   telemetry     the run spec's TelemetrySpec (period_ms, sources, ...).
//   command       the run spec's CommandSpec, for the "command" backend.
//   timeout_s     per repetition, seconds; 0: none.
//   run_timeout_s per runtime process (one model group), seconds; 0: none.
//   labels        object of string -> string, stored with the results.
//   include, exclude
//                 lists of rules. A rule maps "device", "model" (label or path as
//                 written), "backend" or an axis name to a value or a non-empty list of
//                 values; a configuration matches when every named key matches.
//                 exclude drops matches; include, when present, keeps only matches
//                 (exclude wins over include). A key that is not an axis, or a value
//                 the sweep does not have, is an error: it is a typo.
// A configuration with n_prompt 0 and n_gen 0 measures nothing and is an error
// (exclude it); so is a sweep whose rules leave nothing to run.
// Errors name the JSON pointer and the expected type:
//   /axes/threads/2: expected a positive integer, got "four"
//
// Thread-safety: values and functions without shared state.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "protocol/run_spec.h"

namespace edgebench::harness::sweep {

inline constexpr int kSweepSchema = 1;

// The axes in their fixed order: the planner nests them in this order (the
// first varies slowest) and config keys list them in it.
inline constexpr std::array<std::string_view, 8> kAxisNames = {
    "threads", "n_prompt", "n_gen", "n_depth", "n_batch", "n_ctx", "cpus", "kv_type"};

// The most configurations one sweep may have (devices × models × backends ×
// axes, before include/exclude): a guard against a typo like [1, 2, ..., 10000].
inline constexpr size_t kMaxConfigs = 100000;

struct ModelSpec {
  std::string path;   // resolved against the sweep file's folder
  std::string label;  // unique within the sweep; default: the file name
};

// One list per axis; the defaults are the run spec's single values.
struct Axes {
  std::vector<int> threads = {protocol::RunConfig{}.threads};
  std::vector<int> n_prompt = {protocol::RunConfig{}.n_prompt};
  std::vector<int> n_gen = {protocol::RunConfig{}.n_gen};
  std::vector<int> n_depth = {protocol::RunConfig{}.n_depth};
  std::vector<int> n_batch = {protocol::RunConfig{}.n_batch};
  std::vector<int> n_ctx = {protocol::RunConfig{}.n_ctx};
  std::vector<std::string> cpus = {protocol::RunConfig{}.cpus};
  std::vector<std::string> kv_type = {protocol::RunConfig{}.kv_type};
};

// An include/exclude rule: key ("device", "model", "backend" or an axis name)
// -> the accepted values, each in its canonical text (integers in decimal, a
// model by its label), as config keys write them.
struct Rule {
  std::map<std::string, std::vector<std::string>> match;
};

struct SweepSpec {
  int schema = kSweepSchema;
  std::string name;
  std::vector<std::string> devices;
  std::vector<ModelSpec> models;
  std::vector<std::string> backends = {"native"};
  Axes axes;
  int repetitions = protocol::RunConfig{}.repetitions;
  int warmup = protocol::RunConfig{}.warmup;
  uint64_t seed = protocol::RunConfig{}.seed;
  protocol::PromptSpec prompt;
  protocol::SamplerSpec sampler;
  protocol::CooldownSpec cooldown;
  protocol::TelemetrySpec telemetry;
  protocol::CommandSpec command;
  double timeout_s = 0;      // per repetition; 0: none
  double run_timeout_s = 0;  // per runtime process; 0: none
  std::map<std::string, std::string> labels;
  std::vector<Rule> include;  // empty: every configuration
  std::vector<Rule> exclude;
};

// Validates `j` and fills defaults. Relative model paths are joined to
// `base_dir` (empty: left relative to the current directory).
Result<SweepSpec> ParseSweepSpec(const nlohmann::json& j, const std::string& base_dir);

// Reads a sweep file (JSON, comments allowed). A syntax error reads
// `PATH:LINE:COLUMN: message`; a field error `PATH: /pointer: message`.
Result<SweepSpec> LoadSweepFile(const std::string& path);

// The spec as JSON that ParseSweepSpec reads back to the same spec (model
// paths as resolved).
nlohmann::json ToJson(const SweepSpec& spec);

// The list flags of `edgebench run`, llama-bench style:
//   -d pixel -m a.gguf,b.gguf -p 128,512 -n 128 -t 1,2,4 --depth 0,1024 -r 5
// Each list holds the items as the user typed them (the CLI splits on
// commas; a CPU list holds commas itself, so --cpus is repeated instead).
// An empty list: the axis default. Errors name the flag:
//   -t value 3: expected a positive integer, got "x"
struct RunFlags {
  std::string device;                 // -d
  std::vector<std::string> models;    // -m (relative to the current directory)
  std::vector<std::string> backends;  // --backend; empty: native
  std::vector<std::string> threads;   // -t
  std::vector<std::string> n_prompt;  // -p
  std::vector<std::string> n_gen;     // -n
  std::vector<std::string> n_depth;   // --depth
  std::vector<std::string> n_batch;   // -b
  std::vector<std::string> n_ctx;     // -c
  std::vector<std::string> cpus;      // --cpus
  std::vector<std::string> kv_type;   // --kv-type
  int repetitions = protocol::RunConfig{}.repetitions;  // -r
  int warmup = protocol::RunConfig{}.warmup;            // --warmup
};

// A one-device sweep from `edgebench run` flags, checked as a sweep file is.
// The caller may then set the other fields (cooldown, telemetry, ...).
Result<SweepSpec> SweepFromRunFlags(const RunFlags& flags);

}  // namespace edgebench::harness::sweep
