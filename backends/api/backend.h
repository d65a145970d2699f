// backends/api/backend.h — the interface between the runtime's measurement
// loop and an inference engine that it drives token by token.
//
// The runtime times every call from the outside (prefill start/end, each
// decoded token), so an engine only computes: it never measures. Engines are
// created from an explicit factory table in the runtime (no static
// self-registration, which static linking silently drops).
//
// Thread-safety: one thread drives a Backend; the engine may use its own
// worker threads inside a call.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace edgebench::backends {

struct ModelOptions {
  std::string model_path;
  bool use_mmap = false;  // compute from the file mapping instead of a copy
};

// One inference context: its thread pool, KV cache and batch size.
struct ContextOptions {
  int n_threads = 1;
  std::vector<int> cpus;      // pin thread i to cpus[i % size]; empty: no pinning
  int n_ctx = 0;              // 0: the model's training context
  int n_batch = 512;          // prompt tokens per forward pass
  std::string kv_type = "f16";  // "f16" or "f32"
};

// What the engine reports about what it loaded; goes into the `load` event.
struct ModelInfo {
  std::string arch;          // "llama", "qwen2"
  std::string quant;         // "Q4_0", "Q4_K_M", "F16", "mixed"
  int64_t n_params = 0;
  uint64_t file_bytes = 0;
  uint64_t weight_bytes = 0;  // bytes of weights read per decoded token
  int n_vocab = 0;
  int n_ctx_train = 0;
  std::string isa;           // kernel variant in use: "avx512", "neon_dotprod"
};

// What an engine linked into the runtime is, for the hello event: the
// runtime lists every engine of its factory table with these facts.
struct EngineBuild {
  std::string version;  // the engine's own version or commit; "" for ours
  std::string isa;      // kernels or CPU features in use on this CPU
  std::string flags;    // how it was built, when that is not the runtime's
  std::string_view license;  // third-party notice shipped in the binary; "" for ours
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual std::string_view name() const = 0;

  // Loads the model. Called once.
  virtual Result<ModelInfo> Load(const ModelOptions& options) = 0;
  // (Re)creates the inference context; the model stays loaded, so runs
  // with other thread counts or context sizes reuse it. REQUIRES: Load.
  virtual Status CreateContext(const ContextOptions& options) = 0;

  // Text to tokens with the model's tokenizer; add_special adds BOS as the
  // model asks.
  virtual Result<std::vector<int32_t>> Tokenize(std::string_view text,
                                                bool add_special) const = 0;
  virtual std::string TokenToPiece(int32_t token) const = 0;
  virtual bool IsEndOfGeneration(int32_t token) const = 0;
  virtual int32_t BosToken() const = 0;  // -1 when the model has none

  // Empties the KV cache: the next Eval starts at position 0.
  // REQUIRES: CreateContext.
  virtual void ClearCache() = 0;
  // Appends `tokens` at the current position and runs the forward pass
  // (prefill when there are many, decode when there is one); the logits of
  // the last token are then available. Fails with kOutOfRange when the
  // context would overflow, leaving the cache as it was.
  virtual Status Eval(std::span<const int32_t> tokens) = 0;
  // Logits of the last evaluated token. REQUIRES: a successful Eval.
  virtual std::span<const float> Logits() const = 0;
  virtual int n_past() const = 0;
};

}  // namespace edgebench::backends
