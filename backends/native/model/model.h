// backends/native/model/model.h — Llama-family transformers from GGUF files
// (architectures `llama` and `qwen2`): loading, and inference contexts with
// a KV cache.
//
// Model holds the hyperparameters, the tokenizer and the weights: copied
// out of the file into anonymous memory at load (reading through the file
// mapping is up to 3x slower in VMs, see FACTS.md), or used in place with
// use_mmap. Every tensor's presence, shape and type is checked at load; a
// type without kernels is an error naming the tensor and the type.
//
// Context is one sequence being evaluated: KV cache (F16 or F32), scratch
// buffers, a thread pool. Eval appends tokens in batches of n_batch.
//
// Thread-safety: a Model is immutable after Load and may back several
// Contexts; a Context is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "backends/native/gguf/ggml_types.h"
#include "backends/native/kernels/kernels.h"
#include "base/status.h"

namespace edgebench::gguf { class GgufFile; }

namespace edgebench::native {

class Tokenizer;

enum class RopeType {
  kNormal,  // rotate adjacent pairs (x[2i], x[2i+1]): llama
  kNeox,    // rotate (x[i], x[i + n_rot/2]): qwen2
};

struct ModelConfig {
  std::string arch;
  int n_vocab = 0;
  int n_embd = 0;
  int n_layer = 0;
  int n_head = 0;
  int n_head_kv = 0;
  int head_dim = 0;      // attention.key_length, default n_embd / n_head
  int n_ff = 0;
  int n_ctx_train = 0;
  float rms_eps = 1e-5f;
  RopeType rope_type = RopeType::kNormal;
  int n_rot = 0;         // rope.dimension_count, default head_dim
  float rope_freq_base = 10000.0f;
  float rope_freq_scale = 1.0f;  // 1 / rope.scaling.factor for linear scaling
  bool tied_output = false;      // output head is token_embd
  bool qkv_bias = false;
};

// One weight matrix: `rows` outputs, each a row of `cols` inputs in `type`.
struct Weight {
  gguf::TensorType type = gguf::TensorType::kF32;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t row_bytes = 0;
  const uint8_t* data = nullptr;
};

struct LayerWeights {
  const float* attn_norm = nullptr;  // [n_embd]
  Weight wq, wk, wv, wo;   // [n_head*hd <- n_embd], [n_kv*hd <- n_embd] x2, [n_embd <- n_head*hd]
  const float* bq = nullptr;  // qwen2: [n_head*hd]
  const float* bk = nullptr;  // [n_kv*hd]
  const float* bv = nullptr;  // [n_kv*hd]
  const float* ffn_norm = nullptr;   // [n_embd]
  Weight w_gate, w_up;     // [n_ff <- n_embd]
  Weight w_down;           // [n_embd <- n_ff]
};

struct ModelLoadOptions {
  bool use_mmap = false;
};

class Model {
 public:
  static Result<std::unique_ptr<Model>> Load(const std::string& path,
                                             const ModelLoadOptions& options = {});
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelConfig& config() const { return config_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const gguf::GgufFile& file() const { return *file_; }

  int64_t n_params() const { return n_params_; }
  // Bytes of all weight tensors (what one decoded token reads).
  uint64_t weight_bytes() const { return weight_bytes_; }
  // "Q4_0", "Q4_K_M", "F16": from general.file_type, or the dominant type.
  const std::string& quant() const { return quant_; }

  const Weight& token_embd() const { return token_embd_; }
  const Weight& output() const { return output_; }
  const float* output_norm() const { return output_norm_; }
  const LayerWeights& layer(int i) const { return layers_[i]; }
  // rope_freqs.weight (Llama 3.1+): per-frequency divisors, or nullptr.
  const float* rope_freqs() const { return rope_freqs_; }

 private:
  Model() = default;
  Status LoadConfig();
  Status LoadWeights(bool use_mmap);

  std::unique_ptr<gguf::GgufFile> file_;
  std::unique_ptr<Tokenizer> tokenizer_;
  ModelConfig config_;
  std::string quant_;
  int64_t n_params_ = 0;
  uint64_t weight_bytes_ = 0;
  // Anonymous memory holding the weights (unless use_mmap).
  uint8_t* arena_ = nullptr;
  size_t arena_bytes_ = 0;
  Weight token_embd_, output_;
  const float* output_norm_ = nullptr;
  const float* rope_freqs_ = nullptr;
  std::vector<LayerWeights> layers_;
};

struct ContextOptions {
  int n_ctx = 0;      // 0: the model's training context
  int n_batch = 512;
  int n_threads = 1;
  std::vector<int> cpus;  // see ThreadPool::Create
  gguf::TensorType kv_type = gguf::TensorType::kF16;  // kF16 or kF32
  bool all_logits = false;  // keep logits of every token of an Eval
  kernels::Isa isa = kernels::Isa::kGeneric;
  bool best_isa = true;     // ignore `isa`, use BestKernels()
};

class Context {
 public:
  static Result<std::unique_ptr<Context>> Create(const Model& model,
                                                 const ContextOptions& options);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // Appends `tokens` after the n_past() already in the cache and runs them.
  // Errors: kOutOfRange when n_past() + tokens.size() > n_ctx() (nothing is
  // changed), kInvalidArgument for a token id outside the vocabulary.
  Status Eval(std::span<const int32_t> tokens);

  // Logits of the last token of the last Eval. [n_vocab]
  std::span<const float> Logits() const;
  // With all_logits: logits of every token of the last Eval. [n × n_vocab]
  std::span<const float> AllLogits() const;

  // Forgets the sequence; the next Eval starts at position 0.
  void Clear();
  int n_past() const { return n_past_; }
  int n_ctx() const { return n_ctx_; }
  const kernels::KernelTable& kernels() const { return *kernels_; }

 private:
  struct Scratch;
  explicit Context(const Model& model);
  Status EvalBatch(std::span<const int32_t> tokens, bool want_all_logits);

  const Model& model_;
  ContextOptions options_;
  const kernels::KernelTable* kernels_ = nullptr;
  int n_ctx_ = 0;
  int n_past_ = 0;
  std::unique_ptr<Scratch> s_;
};

}  // namespace edgebench::native
