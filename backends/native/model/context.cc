// The forward pass of a Llama-family transformer over a batch of tokens.
// Shapes in trailing comments: T tokens in the batch, d = n_embd,
// nq = n_head * hd, nkv = n_head_kv * hd, ff = n_ff, V = n_vocab.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "backends/native/gguf/quants.h"
#include "backends/native/kernels/matmul.h"
#include "backends/native/kernels/thread_pool.h"
#include "backends/native/model/model.h"

namespace edgebench::native {

using gguf::TensorType;

struct Context::Scratch {
  std::unique_ptr<kernels::ThreadPool> pool;

  // KV cache, per layer and KV head a [n_ctx][hd] block in F16 or F32, so
  // the positions one head attends over are contiguous.
  size_t kv_elem_bytes = 2;
  std::unique_ptr<uint8_t[]> k_cache, v_cache;

  std::vector<float> x;       // [T, d] residual stream
  std::vector<float> h;       // [T, d] normed input of a projection
  std::vector<float> q;       // [T, nq]
  std::vector<float> k, v;    // [T, nkv]
  std::vector<float> attn;    // [T, nq]
  std::vector<float> gate;    // [T, ff]
  std::vector<float> up;      // [T, ff]
  std::vector<float> proj;    // [T, d] output of wo / w_down
  std::vector<float> logits;  // [T or 1, V]
  int n_logits = 0;
  std::vector<float> scores;  // [threads, n_ctx] attention weights
  std::vector<float> rope;    // [T, n_rot/2, 2] cos, sin
  std::vector<double> inv_freq;  // [n_rot/2]

  // The input of the next matmuls ([act_rows, act_cols] at act_src) and
  // its conversion to act_type, valid while act_ready.
  std::vector<uint8_t> act;
  const float* act_src = nullptr;
  int act_rows = 0;
  int64_t act_cols = 0;
  TensorType act_type = TensorType::kF32;
  bool act_ready = false;
};

namespace {

// Runs fn(i, thread) for i in [0, n): on the pool when there is enough work
// to be worth a dispatch.
template <typename Fn>
void ForEach(kernels::ThreadPool& pool, int64_t n, Fn&& fn) {
  if (n == 1 || pool.size() == 1) {
    for (int64_t i = 0; i < n; ++i) fn(i, 0);
    return;
  }
  pool.ParallelFor(n, [&](int64_t begin, int64_t end, int thread) {
    for (int64_t i = begin; i < end; ++i) fn(i, thread);
  });
}

// out = x / sqrt(mean(x^2) + eps) * w
void RmsNorm(const float* x, const float* w, float eps, int64_t n, float* out) {
  double sum = 0;  // double: matches the reference at 1e-4 for any n
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * x[i];
  const float scale = static_cast<float>(1.0 / std::sqrt(sum / n + eps));
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale * w[i];
}

// Rotates the first n_rot dims of each of `heads` heads of size hd.
void Rope(float* v, int heads, int hd, int n_rot, RopeType type, const float* cs) {
  const int half = n_rot / 2;
  for (int h = 0; h < heads; ++h) {
    float* x = v + static_cast<int64_t>(h) * hd;
    for (int i = 0; i < half; ++i) {
      const float c = cs[2 * i], s = cs[2 * i + 1];
      // Normal: adjacent pairs. NeoX: the two halves of the rotated part.
      const int a = type == RopeType::kNormal ? 2 * i : i;
      const int b = type == RopeType::kNormal ? 2 * i + 1 : i + half;
      const float x0 = x[a], x1 = x[b];
      x[a] = x0 * c - x1 * s;
      x[b] = x0 * s + x1 * c;
    }
  }
}

}  // namespace

Context::Context(const Model& model) : model_(model), s_(std::make_unique<Scratch>()) {}
Context::~Context() = default;

Result<std::unique_ptr<Context>> Context::Create(const Model& model,
                                                 const ContextOptions& o) {
  const ModelConfig& c = model.config();
  if (o.n_threads < 1) return InvalidArgumentError("n_threads must be at least 1");
  if (o.n_batch < 1) return InvalidArgumentError("n_batch must be at least 1");
  if (o.n_ctx < 0) return InvalidArgumentError("n_ctx must not be negative");
  if (o.kv_type != TensorType::kF16 && o.kv_type != TensorType::kF32)
    return InvalidArgumentError("the KV cache type must be F16 or F32");
  if (!o.best_isa && !kernels::IsaAvailable(o.isa))
    return UnavailableError("kernel variant " + std::string(kernels::IsaName(o.isa)) +
                            " is not available on this CPU or build");
  std::unique_ptr<Context> ctx(new Context(model));
  ctx->options_ = o;
  ctx->kernels_ = o.best_isa ? &kernels::BestKernels() : &kernels::GetKernels(o.isa);
  ctx->n_ctx_ = o.n_ctx > 0 ? o.n_ctx : c.n_ctx_train;
  ASSIGN_OR_RETURN(ctx->s_->pool, kernels::ThreadPool::Create(o.n_threads, o.cpus));

  Scratch& s = *ctx->s_;
  const int64_t T = std::min(o.n_batch, ctx->n_ctx_);
  ctx->options_.n_batch = static_cast<int>(T);
  const int64_t d = c.n_embd, nq = int64_t{c.n_head} * c.head_dim,
                nkv = int64_t{c.n_head_kv} * c.head_dim, ff = c.n_ff;
  s.kv_elem_bytes = o.kv_type == TensorType::kF16 ? 2 : 4;
  const size_t kv_bytes =
      static_cast<size_t>(c.n_layer) * nkv * ctx->n_ctx_ * s.kv_elem_bytes;
  // Not value-initialised: pages are touched (and counted in RSS) only as
  // the context fills, as in any engine.
  s.k_cache.reset(new (std::nothrow) uint8_t[kv_bytes]);
  s.v_cache.reset(new (std::nothrow) uint8_t[kv_bytes]);
  if (!s.k_cache || !s.v_cache)
    return ResourceExhaustedError("cannot allocate the KV cache (" +
                                  std::to_string(2 * kv_bytes >> 20) + " MiB)");
  s.x.resize(T * d);
  s.h.resize(T * std::max(d, nq));
  s.q.resize(T * nq);
  s.k.resize(T * nkv);
  s.v.resize(T * nkv);
  s.attn.resize(T * nq);
  s.gate.resize(T * ff);
  s.up.resize(T * ff);
  s.proj.resize(T * d);
  s.logits.resize((o.all_logits ? T : 1) * c.n_vocab);
  s.scores.resize(static_cast<size_t>(o.n_threads) * ctx->n_ctx_);
  s.rope.resize(T * c.n_rot);
  for (int i = 0; i < c.n_rot / 2; ++i) {
    double f = std::pow(static_cast<double>(c.rope_freq_base), -2.0 * i / c.n_rot);
    if (model.rope_freqs()) f /= model.rope_freqs()[i];
    s.inv_freq.push_back(f * c.rope_freq_scale);
  }
  int64_t act_bytes = 0;
  for (TensorType t : {TensorType::kF32, TensorType::kQ8_0, TensorType::kQ4_K})
    act_bytes = std::max({act_bytes, kernels::ActivationBytes(t, std::max(d, nq)),
                          kernels::ActivationBytes(t, ff)});
  s.act.resize(T * act_bytes);
  return ctx;
}

void Context::Clear() { n_past_ = 0; }

std::span<const float> Context::Logits() const {
  const int n_vocab = model_.config().n_vocab;
  const int last = std::max(0, s_->n_logits - 1);
  return {s_->logits.data() + static_cast<size_t>(last) * n_vocab,
          static_cast<size_t>(n_vocab)};
}

std::span<const float> Context::AllLogits() const {
  return {s_->logits.data(), static_cast<size_t>(s_->n_logits) * model_.config().n_vocab};
}

Status Context::Eval(std::span<const int32_t> tokens) {
  const ModelConfig& c = model_.config();
  if (tokens.empty()) return InvalidArgumentError("Eval: no tokens");
  if (static_cast<int64_t>(n_past_) + static_cast<int64_t>(tokens.size()) > n_ctx_)
    return OutOfRangeError("context overflow: " + std::to_string(n_past_) + " + " +
                           std::to_string(tokens.size()) + " tokens > n_ctx " +
                           std::to_string(n_ctx_));
  for (int32_t t : tokens)
    if (t < 0 || t >= c.n_vocab)
      return InvalidArgumentError("token id " + std::to_string(t) + " is outside the vocabulary (" +
                                  std::to_string(c.n_vocab) + " tokens)");
  const size_t batch = static_cast<size_t>(options_.n_batch);
  for (size_t at = 0; at < tokens.size(); at += batch) {
    const size_t n = std::min(batch, tokens.size() - at);
    // With all_logits every batch keeps its logits; callers that need all
    // of a long input use n_batch >= its length.
    RETURN_IF_ERROR(EvalBatch(tokens.subspan(at, n), options_.all_logits));
  }
  return Status::Ok();
}

Status Context::EvalBatch(std::span<const int32_t> tokens, bool want_all_logits) {
  const Model& m = model_;
  const ModelConfig& c = m.config();
  const kernels::KernelTable& K = *kernels_;
  Scratch& s = *s_;
  kernels::ThreadPool& pool = *s.pool;
  const int T = static_cast<int>(tokens.size());
  const int64_t d = c.n_embd, hd = c.head_dim, nq = int64_t{c.n_head} * hd,
                nkv = int64_t{c.n_head_kv} * hd, ff = c.n_ff;
  const int half_rot = c.n_rot / 2;
  const int p0 = n_past_;

  // prepare() names the input of the next matmuls; each matmul converts it
  // for its weight type's dot product, once per distinct vec-dot type (Q, K
  // and V share one conversion, gate and up another).
  auto prepare = [&](const float* in, int nt, int64_t cols) {
    s.act_src = in;
    s.act_rows = nt;
    s.act_cols = cols;
    s.act_ready = false;
  };
  // out[t, r] = W[r] · in[t] for the prepared rows: the hot spot.
  auto matmul = [&](const Weight& w, float* out) {
    const int nt = s.act_rows;
    const TensorType vt = kernels::VecDotType(w.type);
    const int64_t arb = kernels::ActivationBytes(w.type, w.cols);
    if (!s.act_ready || s.act_type != vt) {
      ForEach(pool, nt, [&](int64_t t, int) {
        K.QuantizeActivations(w.type, s.act_src + t * s.act_cols, s.act.data() + t * arb,
                              s.act_cols);
      });
      s.act_ready = true;
      s.act_type = vt;
    }
    kernels::Matmul(K, {.type = w.type, .w = w.data, .rows = w.rows, .cols = w.cols,
                        .x = s.act.data(), .n_tokens = nt, .y = out},
                    pool);
  };
  auto add_bias = [&](float* y, const float* b, int64_t n) {
    if (!b) return;
    for (int t = 0; t < T; ++t)
      for (int64_t i = 0; i < n; ++i) y[t * n + i] += b[i];
  };

  // Embeddings: one row of the table per token, converted to floats.
  for (int t = 0; t < T; ++t)
    gguf::DequantizeRow(m.token_embd().type,
                        m.token_embd().data + int64_t{tokens[t]} * m.token_embd().row_bytes,
                        s.x.data() + t * d, d);
  // cos/sin of every rotated pair at every position of the batch.
  for (int t = 0; t < T; ++t)
    for (int i = 0; i < half_rot; ++i) {
      const double angle = static_cast<double>(p0 + t) * s.inv_freq[i];
      s.rope[(t * half_rot + i) * 2] = static_cast<float>(std::cos(angle));
      s.rope[(t * half_rot + i) * 2 + 1] = static_cast<float>(std::sin(angle));
    }

  const float attn_scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const int group = c.n_head / c.n_head_kv;
  const size_t head_stride = static_cast<size_t>(n_ctx_) * hd;  // elements per (layer, kv head)
  for (int l = 0; l < c.n_layer; ++l) {
    const LayerWeights& L = m.layer(l);
    // ---- attention ----
    ForEach(pool, T, [&](int64_t t, int) {
      RmsNorm(s.x.data() + t * d, L.attn_norm, c.rms_eps, d, s.h.data() + t * d);
    });
    prepare(s.h.data(), T, d);
    matmul(L.wq, s.q.data());  // [T, nq]
    matmul(L.wk, s.k.data());  // [T, nkv]
    matmul(L.wv, s.v.data());  // [T, nkv]
    add_bias(s.q.data(), L.bq, nq);
    add_bias(s.k.data(), L.bk, nkv);
    add_bias(s.v.data(), L.bv, nkv);
    for (int t = 0; t < T; ++t) {
      const float* cs = s.rope.data() + static_cast<size_t>(t) * half_rot * 2;
      Rope(s.q.data() + t * nq, c.n_head, static_cast<int>(hd), c.n_rot, c.rope_type, cs);
      Rope(s.k.data() + t * nkv, c.n_head_kv, static_cast<int>(hd), c.n_rot, c.rope_type, cs);
    }
    // Append this batch's K and V to the cache.
    uint8_t* kc = s.k_cache.get();
    uint8_t* vc = s.v_cache.get();
    for (int t = 0; t < T; ++t)
      for (int g = 0; g < c.n_head_kv; ++g) {
        const size_t at = ((static_cast<size_t>(l) * c.n_head_kv + g) * n_ctx_ + p0 + t) * hd;
        const float* kt = s.k.data() + t * nkv + g * hd;
        const float* vt = s.v.data() + t * nkv + g * hd;
        if (s.kv_elem_bytes == 2) {
          K.fp32_to_fp16(kt, reinterpret_cast<uint16_t*>(kc) + at, hd);
          K.fp32_to_fp16(vt, reinterpret_cast<uint16_t*>(vc) + at, hd);
        } else {
          std::memcpy(reinterpret_cast<float*>(kc) + at, kt, hd * sizeof(float));
          std::memcpy(reinterpret_cast<float*>(vc) + at, vt, hd * sizeof(float));
        }
      }
    // softmax(q·K / sqrt(hd)) · V per (token, head), causal: token t sees
    // positions 0 .. p0 + t.
    ForEach(pool, int64_t{T} * c.n_head, [&](int64_t task, int thread) {
      const int t = static_cast<int>(task / c.n_head), hh = static_cast<int>(task % c.n_head);
      const int g = hh / group;
      const int n_pos = p0 + t + 1;
      const float* qh = s.q.data() + t * nq + hh * hd;
      float* out = s.attn.data() + t * nq + hh * hd;
      float* sc = s.scores.data() + static_cast<size_t>(thread) * n_ctx_;
      const size_t base = (static_cast<size_t>(l) * c.n_head_kv + g) * head_stride;
      float max = -INFINITY;
      for (int p = 0; p < n_pos; ++p) {
        const size_t at = base + static_cast<size_t>(p) * hd;
        sc[p] = attn_scale * (s.kv_elem_bytes == 2
                                  ? K.vec_dot_f16(hd, reinterpret_cast<const uint16_t*>(kc) + at, qh)
                                  : K.vec_dot_f32(hd, reinterpret_cast<const float*>(kc) + at, qh));
        max = std::max(max, sc[p]);
      }
      float sum = 0;
      for (int p = 0; p < n_pos; ++p) {
        sc[p] = std::exp(sc[p] - max);
        sum += sc[p];
      }
      const float inv = 1.0f / sum;
      std::fill(out, out + hd, 0.0f);
      for (int p = 0; p < n_pos; ++p) {
        const size_t at = base + static_cast<size_t>(p) * hd;
        if (s.kv_elem_bytes == 2)
          K.axpy_f16(hd, sc[p] * inv, reinterpret_cast<const uint16_t*>(vc) + at, out);
        else
          K.axpy_f32(hd, sc[p] * inv, reinterpret_cast<const float*>(vc) + at, out);
      }
    });
    prepare(s.attn.data(), T, nq);
    matmul(L.wo, s.proj.data());  // [T, d]
    for (int64_t i = 0; i < T * d; ++i) s.x[i] += s.proj[i];

    // ---- feed-forward: w_down(silu(w_gate h) * w_up h) ----
    ForEach(pool, T, [&](int64_t t, int) {
      RmsNorm(s.x.data() + t * d, L.ffn_norm, c.rms_eps, d, s.h.data() + t * d);
    });
    prepare(s.h.data(), T, d);
    matmul(L.w_gate, s.gate.data());  // [T, ff]
    matmul(L.w_up, s.up.data());      // [T, ff]
    ForEach(pool, T, [&](int64_t t, int) {
      float* g = s.gate.data() + t * ff;
      const float* u = s.up.data() + t * ff;
      for (int64_t i = 0; i < ff; ++i) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
    });
    prepare(s.gate.data(), T, ff);
    matmul(L.w_down, s.proj.data());  // [T, d]
    for (int64_t i = 0; i < T * d; ++i) s.x[i] += s.proj[i];
  }

  // ---- output head: logits of the last token, or of all ----
  const int first = want_all_logits ? 0 : T - 1;
  const int n_out = T - first;
  ForEach(pool, n_out, [&](int64_t i, int) {
    RmsNorm(s.x.data() + (first + i) * d, m.output_norm(), c.rms_eps, d, s.h.data() + i * d);
  });
  prepare(s.h.data(), n_out, d);
  matmul(m.output(), s.logits.data());  // [n_out, V]
  s.n_logits = n_out;
  n_past_ += T;
  return Status::Ok();
}

}  // namespace edgebench::native
