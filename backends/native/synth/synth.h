// backends/native/synth/synth.h — synthetic GGUF models with real metadata
// and real tokenizers, for benchmarking and testing where no weights can be
// downloaded.
//
// The files are what the ecosystem's converter and quantizer write: the
// metadata llama.cpp's loader requires, the Llama SPM (llama) or GPT-2 BPE
// (qwen2) vocabulary, norms in F32, and the quantizer's per-tensor type
// choices (a "Q4_0" file keeps output.weight in Q6_K; Q4_K_M mixes Q4_K and
// Q6_K; a row that is not a multiple of 256 falls back). Weights are
// deterministic in the seed, whatever the thread count, and scaled so that
// activations stay finite and greedy decoding does not collapse.
//
// Thread-safety: SynthesizeModel may run concurrently for different paths.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "backends/native/gguf/ggml_types.h"
#include "base/status.h"

namespace edgebench::native {

struct SynthPreset {
  std::string_view name;
  int n_embd;
  int n_layer;
  int n_head;
  int n_head_kv;
  int n_ff;
  int n_ctx;
  bool tied_output;  // no output.weight: the head reuses token_embd
};

// tiny (≈15M, llama2.c stories15M shape), small (≈110M, stories110M shape),
// tinyllama-1.1b (TinyLlama 1.1B shape), and tiny-gqa for tests (grouped-
// query attention, untied head, rows every type can hold).
std::span<const SynthPreset> SynthPresets();
const SynthPreset* FindSynthPreset(std::string_view name);

// The file types `--type` accepts: f32 f16 bf16 q8_0 q4_0 q4_k_m.
std::span<const std::string_view> SynthTypes();

struct SynthOptions {
  std::string arch = "llama";   // "llama" or "qwen2"
  std::string preset = "tiny";
  std::string type = "f32";
  uint64_t seed = 1;
  int n_threads = 0;            // 0: all hardware threads
  // Called after each tensor with bytes written so far and in all.
  std::function<void(uint64_t done_bytes, uint64_t total_bytes)> progress;
};

struct SynthSummary {
  int64_t n_params = 0;
  uint64_t file_bytes = 0;
  int n_tensors = 0;
};

// Writes the model to `path` (through a temporary name).
Result<SynthSummary> SynthesizeModel(const SynthOptions& options, const std::string& path);

// The vocabulary GGUF files compiled into the binary (tokenizer.* keys).
std::span<const uint8_t> LlamaSpmVocab();
std::span<const uint8_t> Gpt2BpeVocab();

}  // namespace edgebench::native
