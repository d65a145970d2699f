// protocol/run_spec.h — what the host asks the runtime to measure.
//
// One spec names one model and backend, loaded once, and a list of runs
// (configurations) measured with it in order. A spec with no "runs" list is
// one run whose fields sit at the top level; with a list, top-level run
// fields are defaults for every entry. Unknown fields are errors, so a
// misspelt option never silently measures the wrong thing. Every error names
// the JSON pointer: `/runs/1/threads: expected a positive integer, got 0`.
//
//   {"schema": 1, "backend": "native", "model": "/data/local/tmp/m.gguf",
//    "telemetry": {"period_ms": 20},
//    "cooldown": {"max_temp_c": 45, "timeout_s": 120},
//    "n_gen": 128, "repetitions": 5,
//    "runs": [{"run_id": "a", "threads": 4, "n_prompt": 512},
//             {"run_id": "b", "threads": 4, "n_prompt": 512, "n_depth": 1024}]}
//
// Thread-safety: values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace edgebench::protocol {

inline constexpr int kRunSpecSchema = 1;

struct PromptSpec {
  // "synthetic": n_prompt token ids drawn from the vocabulary with the seed,
  // as llama-bench does; "text": `text` tokenized (BOS as the model asks),
  // then cut or repeated to n_prompt tokens (n_prompt 0: as it comes).
  std::string kind = "synthetic";
  std::string text;
};

struct SamplerSpec {
  float temperature = 0.0f;  // 0: greedy
  int top_k = 0;
  float top_p = 1.0f;
  float min_p = 0.0f;
};

struct RunConfig {
  std::string run_id;       // the host's UUID; defaults to "run<index>"
  int threads = 1;
  // CPU affinity: "" none, "big" / "little" (cores by cpuinfo_max_freq), or
  // a list "0,2,4-7".
  std::string cpus;
  int n_prompt = 512;       // prompt tokens prefilled per repetition
  int n_gen = 128;          // tokens generated per repetition
  int n_depth = 0;          // tokens already in the cache before the prompt
  int n_batch = 512;
  int n_ctx = 0;            // 0: n_depth + n_prompt + n_gen (at least 16)
  std::string kv_type = "f16";
  PromptSpec prompt;
  SamplerSpec sampler;
  int warmup = 1;
  int repetitions = 5;
  uint64_t seed = 1;
  double timeout_s = 0;     // per repetition; 0: none
};

struct TelemetrySpec {
  bool enabled = true;
  int period_ms = 20;
  // Any of: mem, cpufreq, thermal, power_supply, hwmon, rapl.
  std::vector<std::string> sources = {"mem", "cpufreq", "thermal", "power_supply", "hwmon",
                                      "rapl"};
  std::string proc_root = "/proc";
  std::string sys_root = "/sys";
  // Idle power measured for this long before the first run, subtracted
  // from energy_net_j. 0: no baseline.
  int baseline_ms = 0;
};

struct CooldownSpec {
  bool enabled = false;
  double max_temp_c = 45;  // every thermal zone at or below this
  double timeout_s = 120;  // give up waiting (recorded, then measure anyway)
  int poll_ms = 250;
};

struct CommandSpec {
  // The external engine's command line. "{model}", "{threads}",
  // "{n_prompt}", "{n_gen}", "{n_depth}", "{repetitions}", "{seed}" are
  // replaced per run.
  std::vector<std::string> argv;
  // How its output is read: "llama-bench-jsonl" (llama-bench -o jsonl) or
  // "llama-perf" (llama-cli / llama-completion timing lines).
  std::string parser = "llama-bench-jsonl";
};

struct RunSpec {
  int schema = kRunSpecSchema;
  std::string backend = "native";  // "native", "llamacpp" (in process) or "command"
  std::string model;
  bool use_mmap = false;
  bool check_memory = true;        // refuse to load a model larger than MemAvailable
  double timeout_s = 0;            // the whole spec; 0: none
  TelemetrySpec telemetry;
  CooldownSpec cooldown;
  CommandSpec command;
  std::vector<RunConfig> runs;
};

// Validates and fills defaults.
Result<RunSpec> ParseRunSpec(const nlohmann::json& j);
Result<RunSpec> ParseRunSpecText(std::string_view text);
nlohmann::json ToJson(const RunSpec& spec);

// Parses an affinity list "0,2,4-7" into CPU numbers; errors name `what`.
Result<std::vector<int>> ParseCpuList(std::string_view list, std::string_view what);

}  // namespace edgebench::protocol

#include "protocol/internal/run_spec_impl.h"
