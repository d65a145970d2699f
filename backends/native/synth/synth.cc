#include "backends/native/synth/synth.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <thread>
#include <vector>

#include "backends/native/gguf/gguf.h"
#include "base/random.h"
#include "backends/native/gguf/quants.h"

// The vocabulary files, linked in by vocab_blobs.S.
extern "C" const uint8_t edgebench_vocab_llama_spm[];
extern "C" const uint8_t edgebench_vocab_llama_spm_end[];
extern "C" const uint8_t edgebench_vocab_gpt2[];
extern "C" const uint8_t edgebench_vocab_gpt2_end[];

namespace edgebench::native {

using gguf::TensorType;

namespace {

constexpr SynthPreset kPresets[] = {
    // name              embd  layer head kv   ff    ctx   tied
    {"tiny",             288,  6,    6,   6,   768,  2048, true},
    {"small",            768,  12,   12,  12,  2048, 2048, true},
    {"tinyllama-1.1b",   2048, 22,   32,  4,   5632, 2048, false},
    // For tests: grouped-query attention, an untied head and rows that are
    // multiples of 256 (every type, k-quants included), in 4 MB at F32.
    {"tiny-gqa",         256,  4,    8,   2,   768,  2048, false},
};

constexpr std::string_view kTypes[] = {"f32", "f16", "bf16", "q8_0", "q4_0", "q4_k_m"};

// llama.cpp's `llama_ftype` values for general.file_type.
uint32_t FileTypeId(std::string_view type) {
  if (type == "f32") return 0;
  if (type == "f16") return 1;
  if (type == "q4_0") return 2;
  if (type == "q8_0") return 7;
  if (type == "q4_k_m") return 15;
  return 32;  // bf16
}

// ---- deterministic random numbers ----

// xoshiro256** (base/random.h): fast, and good enough for weights.
class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  uint64_t Next() { return gen_.Next(); }
  // Uniform in [-1, 1).
  float Symmetric() { return static_cast<float>(Next() >> 40) * 0x1p-23f - 1.0f; }

 private:
  Xoshiro256StarStar gen_;
};

uint64_t HashName(std::string_view s) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (char c : s) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  return h;
}

// ---- the tensors of a model ----

enum class Init {
  kUniform,     // centred, with the given standard deviation
  kNorm,        // 1 ± 0.1: norm weights that are not all ones
  kSignedNorm,  // ±(1 ± 0.1) with random signs (the output norm, see below)
};

struct TensorPlan {
  std::string name;
  std::vector<int64_t> dims;  // dims[0] is the row
  TensorType type;
  Init init;
  float stddev;
};

bool UseMoreBits(int i, int n) {
  // llama.cpp's rule for which layers of a Q4_K_M file get Q6_K.
  return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

// The quantizer's choice for a weight matrix of file type `type`; `row` is
// its row length. Rows that are not a multiple of 256 cannot be k-quants:
// Q6_K falls back to Q8_0 as llama.cpp does, Q4_K to Q4_0 (llama.cpp picks
// Q5_0, which the native engine does not run).
TensorType MatrixType(std::string_view type, std::string_view role, int layer, int n_layer,
                      int64_t row) {
  auto k_or = [row](TensorType k, TensorType fallback) {
    return row % gguf::kQK_K == 0 ? k : fallback;
  };
  if (type == "f32") return TensorType::kF32;
  if (type == "f16") return TensorType::kF16;
  if (type == "bf16") return TensorType::kBF16;
  if (type == "q8_0") return TensorType::kQ8_0;
  if (type == "q4_0")
    return role == "output" ? k_or(TensorType::kQ6_K, TensorType::kQ8_0) : TensorType::kQ4_0;
  // q4_k_m
  const bool more = role == "output" ||
                    ((role == "attn_v" || role == "ffn_down") && UseMoreBits(layer, n_layer));
  return more ? k_or(TensorType::kQ6_K, TensorType::kQ8_0)
              : k_or(TensorType::kQ4_K, TensorType::kQ4_0);
}

std::vector<TensorPlan> PlanTensors(const SynthPreset& p, bool qwen2, int64_t n_vocab,
                                    std::string_view type) {
  const int64_t d = p.n_embd, hd = p.n_embd / p.n_head, kv = hd * p.n_head_kv, ff = p.n_ff;
  const float inv_sqrt_d = 1.0f / std::sqrt(static_cast<float>(d));
  // Logits = head · normed state: a head of std 4/sqrt(d) gives logits of
  // std ≈ 4, peaked enough that greedy choices are not near-ties. With a
  // tied head the embedding has that scale too, small next to what each
  // layer adds, so the state is not dominated by the current token's own
  // embedding (which would make greedy decoding repeat it forever).
  const float head_std = 4.0f * inv_sqrt_d;
  // Each layer's output projections are damped by 1/sqrt(layers) so the
  // residual stream stays O(1) however deep the model.
  const float depth = 1.0f / std::sqrt(static_cast<float>(p.n_layer));
  std::vector<TensorPlan> t;
  auto matrix = [&](std::string name, int64_t in, int64_t out, std::string_view role,
                    int layer, float stddev) {
    t.push_back({std::move(name), {in, out},
                 MatrixType(type, role, layer, p.n_layer, in), Init::kUniform, stddev});
  };
  auto vec = [&](std::string name, int64_t n, Init init, float stddev) {
    t.push_back({std::move(name), {n}, TensorType::kF32, init, stddev});
  };
  matrix("token_embd.weight", d, n_vocab, "token_embd", 0, head_std);
  for (int i = 0; i < p.n_layer; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    vec(b + "attn_norm.weight", d, Init::kNorm, 0);
    matrix(b + "attn_q.weight", d, d, "attn_q", i, inv_sqrt_d);
    matrix(b + "attn_k.weight", d, kv, "attn_k", i, inv_sqrt_d);
    matrix(b + "attn_v.weight", d, kv, "attn_v", i, inv_sqrt_d);
    if (qwen2) {
      vec(b + "attn_q.bias", d, Init::kUniform, 0.1f);
      vec(b + "attn_k.bias", kv, Init::kUniform, 0.1f);
      vec(b + "attn_v.bias", kv, Init::kUniform, 0.1f);
    }
    matrix(b + "attn_output.weight", d, d, "attn_output", i, inv_sqrt_d * depth);
    vec(b + "ffn_norm.weight", d, Init::kNorm, 0);
    matrix(b + "ffn_gate.weight", d, ff, "ffn_gate", i, inv_sqrt_d);
    matrix(b + "ffn_up.weight", d, ff, "ffn_up", i, inv_sqrt_d);
    matrix(b + "ffn_down.weight", ff, d, "ffn_down", i,
           depth / std::sqrt(static_cast<float>(ff)));
  }
  // With a tied head, logit t = E_t · (norm(x) ∘ w): the current token's own
  // embedding, still in x, would give itself a boost of several standard
  // deviations and greedy decoding would repeat it forever. Random signs in
  // w cancel that self-similarity (E_t · (E_t ∘ w) sums to about zero)
  // without shrinking the spread of the logits.
  vec("output_norm.weight", d, Init::kSignedNorm, 0);
  if (!p.tied_output) matrix("output.weight", d, n_vocab, "output", 0, head_std);
  return t;
}

// Fills rows [row_begin, row_end) of tensor `plan` (seeded by `seed`) into
// `out`, one row's floats at a time.
void FillRows(const TensorPlan& plan, uint64_t seed, int64_t row_begin, int64_t row_end,
              uint8_t* out) {
  const int64_t n = plan.dims[0];
  const int64_t row_bytes = gguf::RowBytes(plan.type, n);
  const float amplitude = plan.stddev * std::sqrt(3.0f);  // uniform with this std
  std::vector<float> row(n);
  for (int64_t r = row_begin; r < row_end; ++r) {
    // One generator per row: the bytes do not depend on the thread count.
    uint64_t s = seed ^ (static_cast<uint64_t>(r) * 0xD1B54A32D192ED03ull);
    Rng rng(SplitMix64(s));
    for (float& x : row) {
      switch (plan.init) {
        case Init::kUniform: x = amplitude * rng.Symmetric(); break;
        case Init::kNorm: x = 1.0f + 0.1f * rng.Symmetric(); break;
        case Init::kSignedNorm:
          x = (1.0f + 0.1f * rng.Symmetric()) * (rng.Next() >> 63 ? 1.0f : -1.0f);
          break;
      }
    }
    gguf::QuantizeRow(plan.type, row.data(), out + r * row_bytes, n);
  }
}

}  // namespace

std::span<const SynthPreset> SynthPresets() { return kPresets; }

const SynthPreset* FindSynthPreset(std::string_view name) {
  for (const SynthPreset& p : kPresets)
    if (p.name == name) return &p;
  return nullptr;
}

std::span<const std::string_view> SynthTypes() { return kTypes; }

std::span<const uint8_t> LlamaSpmVocab() {
  return {edgebench_vocab_llama_spm,
          static_cast<size_t>(edgebench_vocab_llama_spm_end - edgebench_vocab_llama_spm)};
}

std::span<const uint8_t> Gpt2BpeVocab() {
  return {edgebench_vocab_gpt2,
          static_cast<size_t>(edgebench_vocab_gpt2_end - edgebench_vocab_gpt2)};
}

Result<SynthSummary> SynthesizeModel(const SynthOptions& o, const std::string& path) {
  const SynthPreset* preset = FindSynthPreset(o.preset);
  if (!preset) {
    std::string names;
    for (const SynthPreset& p : kPresets) names += (names.empty() ? "" : ", ") + std::string(p.name);
    return InvalidArgumentError("unknown preset \"" + o.preset + "\" (known: " + names + ")");
  }
  if (std::find(std::begin(kTypes), std::end(kTypes), o.type) == std::end(kTypes))
    return InvalidArgumentError("unknown type \"" + o.type +
                                "\" (known: f32, f16, bf16, q8_0, q4_0, q4_k_m)");
  if (o.arch != "llama" && o.arch != "qwen2")
    return InvalidArgumentError("unknown architecture \"" + o.arch + "\" (known: llama, qwen2)");
  const bool qwen2 = o.arch == "qwen2";

  // The tokenizer: Llama's SentencePiece vocabulary for llama, GPT-2's
  // byte-level BPE for qwen2.
  const std::span<const uint8_t> blob = qwen2 ? Gpt2BpeVocab() : LlamaSpmVocab();
  ASSIGN_OR_RETURN(auto vocab, gguf::GgufFile::FromBytes(
                                   qwen2 ? "embedded gpt-2 vocab" : "embedded llama vocab",
                                   std::vector<uint8_t>(blob.begin(), blob.end())));
  const gguf::MetaValue* tokens = vocab->Find("tokenizer.ggml.tokens");
  if (!tokens || tokens->strings().empty())
    return InternalError("embedded vocabulary has no tokenizer.ggml.tokens");
  const int64_t n_vocab = static_cast<int64_t>(tokens->strings().size());

  const std::string a = o.arch + ".";
  const SynthPreset& p = *preset;
  gguf::GgufWriter w;
  w.SetString("general.architecture", o.arch);
  w.SetString("general.name", "edgebench-synth " + o.arch + " " + o.preset + " " + o.type);
  w.SetUint32("general.file_type", FileTypeId(o.type));
  w.SetUint32("general.quantization_version", 2);
  w.SetUint32("general.alignment", gguf::kDefaultAlignment);
  w.SetUint32(a + "context_length", static_cast<uint32_t>(p.n_ctx));
  w.SetUint32(a + "embedding_length", static_cast<uint32_t>(p.n_embd));
  w.SetUint32(a + "block_count", static_cast<uint32_t>(p.n_layer));
  w.SetUint32(a + "feed_forward_length", static_cast<uint32_t>(p.n_ff));
  w.SetUint32(a + "attention.head_count", static_cast<uint32_t>(p.n_head));
  w.SetUint32(a + "attention.head_count_kv", static_cast<uint32_t>(p.n_head_kv));
  w.SetFloat32(a + "attention.layer_norm_rms_epsilon", qwen2 ? 1e-6f : 1e-5f);
  w.SetUint32(a + "rope.dimension_count", static_cast<uint32_t>(p.n_embd / p.n_head));
  w.SetFloat32(a + "rope.freq_base", qwen2 ? 1000000.0f : 10000.0f);
  w.SetUint32(a + "vocab_size", static_cast<uint32_t>(n_vocab));
  for (const auto& [key, value] : vocab->metadata())
    if (key.starts_with("tokenizer.")) w.CopyValue(std::string(key), value);
  w.SetBool("tokenizer.ggml.add_bos_token", !qwen2);
  w.SetString("edgebench.synth.preset", o.preset);
  w.SetUint64("edgebench.synth.seed", o.seed);

  const std::vector<TensorPlan> plan = PlanTensors(p, qwen2, n_vocab, o.type);
  SynthSummary summary;
  uint64_t total = 0;
  for (const TensorPlan& t : plan) {
    w.AddTensor(t.name, t.dims, t.type);
    int64_t n = 1;
    for (int64_t d : t.dims) n *= d;
    summary.n_params += n;
    total += static_cast<uint64_t>(gguf::RowBytes(t.type, t.dims[0]) * (n / t.dims[0]));
  }
  summary.n_tensors = static_cast<int>(plan.size());

  const int threads = o.n_threads > 0 ? o.n_threads
                                      : std::max(1u, std::thread::hardware_concurrency());
  uint64_t done = 0;
  Status s = w.Write(path, [&](size_t i, std::vector<uint8_t>& out) -> Status {
    const TensorPlan& t = plan[i];
    out.resize(w.TensorBytes(i));
    const int64_t rows = static_cast<int64_t>(out.size()) / gguf::RowBytes(t.type, t.dims[0]);
    const uint64_t seed = o.seed * 0x9E3779B97F4A7C15ull ^ HashName(t.name);
    const int64_t per = (rows + threads - 1) / threads;
    std::vector<std::thread> pool;
    for (int k = 0; k < threads && k * per < rows; ++k)
      pool.emplace_back(FillRows, std::cref(t), seed, k * per, std::min(rows, (k + 1) * per),
                        out.data());
    for (std::thread& th : pool) th.join();
    done += out.size();
    if (o.progress) o.progress(done, total);
    return Status::Ok();
  });
  if (!s.ok()) return s.WithContext("writing " + path);
  std::error_code ec;
  summary.file_bytes = std::filesystem::file_size(path, ec);
  return summary;
}

}  // namespace edgebench::native
