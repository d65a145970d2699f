#include "backends/native/model/model.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <map>

#include "backends/native/gguf/gguf.h"
#include "backends/native/gguf/model_facts.h"
#include "backends/native/tokenizer/tokenizer.h"

namespace edgebench::native {

using gguf::TensorType;

namespace {

constexpr size_t kArenaAlign = 64;  // a cache line: SIMD loads of a row never split one
constexpr size_t kHugePage = 2u << 20;

}  // namespace

Model::~Model() {
  if (arena_) ::munmap(arena_, arena_bytes_);
}

Result<std::unique_ptr<Model>> Model::Load(const std::string& path,
                                           const ModelLoadOptions& options) {
  std::unique_ptr<Model> m(new Model());
  ASSIGN_OR_RETURN(m->file_, gguf::GgufFile::Open(path));
  RETURN_IF_ERROR(m->LoadConfig());
  ASSIGN_OR_RETURN(m->tokenizer_, Tokenizer::FromGguf(*m->file_));
  m->config_.n_vocab = m->tokenizer_->n_vocab();
  RETURN_IF_ERROR(m->LoadWeights(options.use_mmap));
  return m;
}

Status Model::LoadConfig() {
  const gguf::GgufFile& f = *file_;
  const std::string& path = f.path();
  ModelConfig& c = config_;
  ASSIGN_OR_RETURN(std::string_view arch, f.GetString("general.architecture"));
  c.arch = std::string(arch);
  if (c.arch != "llama" && c.arch != "qwen2")
    return UnimplementedError(path + ": architecture \"" + c.arch +
                              "\" is not supported by the native engine (llama, qwen2)");
  const std::string p = c.arch + ".";
  auto get_int = [&](const char* key) -> Result<int> {
    ASSIGN_OR_RETURN(int64_t v, f.GetInt(p + key));
    if (v <= 0 || v > (1 << 30))
      return InvalidArgumentError(path + ": " + p + key + " = " + std::to_string(v) +
                                  " is out of range");
    return static_cast<int>(v);
  };
  auto get_int_or = [&](const char* key, int fallback) -> Result<int> {
    if (!f.Find(p + key)) return fallback;
    return get_int(key);
  };
  ASSIGN_OR_RETURN(c.n_embd, get_int("embedding_length"));
  ASSIGN_OR_RETURN(c.n_layer, get_int("block_count"));
  ASSIGN_OR_RETURN(c.n_ff, get_int("feed_forward_length"));
  ASSIGN_OR_RETURN(c.n_head, get_int("attention.head_count"));
  ASSIGN_OR_RETURN(c.n_head_kv, get_int_or("attention.head_count_kv", c.n_head));
  ASSIGN_OR_RETURN(c.n_ctx_train, get_int("context_length"));
  if (c.n_embd % c.n_head)
    return InvalidArgumentError(path + ": embedding_length " + std::to_string(c.n_embd) +
                                " is not a multiple of head_count " + std::to_string(c.n_head));
  ASSIGN_OR_RETURN(c.head_dim, get_int_or("attention.key_length", c.n_embd / c.n_head));
  ASSIGN_OR_RETURN(int v_dim, get_int_or("attention.value_length", c.head_dim));
  if (v_dim != c.head_dim)
    return UnimplementedError(path + ": attention.value_length != key_length is not supported");
  if (c.n_head % c.n_head_kv)
    return InvalidArgumentError(path + ": head_count " + std::to_string(c.n_head) +
                                " is not a multiple of head_count_kv " +
                                std::to_string(c.n_head_kv));
  ASSIGN_OR_RETURN(c.n_rot, get_int_or("rope.dimension_count", c.head_dim));
  if (c.n_rot > c.head_dim || c.n_rot % 2)
    return InvalidArgumentError(path + ": rope.dimension_count " + std::to_string(c.n_rot) +
                                " must be even and at most the head size " +
                                std::to_string(c.head_dim));
  ASSIGN_OR_RETURN(double eps, f.GetFloat(p + "attention.layer_norm_rms_epsilon"));
  if (!(eps > 0 && eps < 1))
    return InvalidArgumentError(path + ": layer_norm_rms_epsilon " + std::to_string(eps) +
                                " is out of range");
  c.rms_eps = static_cast<float>(eps);
  ASSIGN_OR_RETURN(double base, f.GetFloat(p + "rope.freq_base", 10000.0));
  if (!(base > 1)) return InvalidArgumentError(path + ": rope.freq_base must be > 1");
  c.rope_freq_base = static_cast<float>(base);
  // Linear RoPE scaling: positions are divided by the factor. As in
  // llama.cpp, a factor without a type is linear, and the older
  // rope.scale_linear key means the same.
  double factor = 1;
  const std::string_view scaling =
      f.Find(p + "rope.scaling.type") ? f.Find(p + "rope.scaling.type")->AsString().value_or("?")
                                      : "linear";
  if (scaling == "linear") {
    if (f.Find(p + "rope.scaling.factor")) {
      ASSIGN_OR_RETURN(factor, f.GetFloat(p + "rope.scaling.factor"));
    } else if (f.Find(p + "rope.scale_linear")) {
      ASSIGN_OR_RETURN(factor, f.GetFloat(p + "rope.scale_linear"));
    }
  } else if (scaling != "none") {
    return UnimplementedError(path + ": rope.scaling.type \"" + std::string(scaling) +
                              "\" is not supported (linear, none)");
  }
  // Some converters write factor 0 for "no scaling".
  if (factor == 0) factor = 1;
  if (!(factor > 0)) return InvalidArgumentError(path + ": rope scaling factor must be > 0");
  c.rope_freq_scale = static_cast<float>(1.0 / factor);
  c.rope_type = c.arch == "qwen2" ? RopeType::kNeox : RopeType::kNormal;
  c.qkv_bias = c.arch == "qwen2";
  return Status::Ok();
}

Status Model::LoadWeights(bool use_mmap) {
  const gguf::GgufFile& f = *file_;
  const std::string& path = f.path();
  const ModelConfig& c = config_;
  const int64_t nq = static_cast<int64_t>(c.n_head) * c.head_dim;
  const int64_t nkv = static_cast<int64_t>(c.n_head_kv) * c.head_dim;

  // Every tensor the graph uses, checked for shape and type; the copy is
  // made afterwards, into one arena.
  struct Use {
    const gguf::TensorInfo* info;
    const uint8_t** target;  // where to store the final data pointer
  };
  std::vector<Use> uses;

  auto find = [&](const std::string& name) -> Result<const gguf::TensorInfo*> {
    const gguf::TensorInfo* t = f.FindTensor(name);
    if (!t) return NotFoundError(path + ": tensor \"" + name + "\" is missing");
    return t;
  };
  auto dims_str = [](const std::vector<int64_t>& d) {
    std::string s;
    for (int64_t x : d) s += (s.empty() ? "" : " x ") + std::to_string(x);
    return s;
  };
  auto check_dims = [&](const gguf::TensorInfo* t, std::vector<int64_t> want) -> Status {
    if (t->dims != want)
      return InvalidArgumentError(path + ": tensor \"" + std::string(t->name) + "\" has shape " +
                                  dims_str(t->dims) + ", expected " + dims_str(want));
    return Status::Ok();
  };
  auto matrix = [&](const std::string& name, int64_t cols, int64_t rows,
                    Weight* w) -> Status {
    ASSIGN_OR_RETURN(const gguf::TensorInfo* t, find(name));
    RETURN_IF_ERROR(check_dims(t, {cols, rows}));
    if (!kernels::HasKernel(t->type))
      return UnimplementedError(
          path + ": tensor \"" + name + "\" has type " +
          gguf::TypeName(static_cast<uint32_t>(t->type)) +
          ", which the native engine does not run (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K)");
    w->type = t->type;
    w->rows = rows;
    w->cols = cols;
    w->row_bytes = gguf::RowBytes(t->type, cols);
    uses.push_back({t, &w->data});
    return Status::Ok();
  };
  auto vector = [&](const std::string& name, int64_t n, const float** out) -> Status {
    ASSIGN_OR_RETURN(const gguf::TensorInfo* t, find(name));
    RETURN_IF_ERROR(check_dims(t, {n}));
    if (t->type != TensorType::kF32)
      return UnimplementedError(path + ": tensor \"" + name + "\" has type " +
                                gguf::TypeName(static_cast<uint32_t>(t->type)) +
                                ", expected F32");
    uses.push_back({t, reinterpret_cast<const uint8_t**>(out)});
    return Status::Ok();
  };

  RETURN_IF_ERROR(matrix("token_embd.weight", c.n_embd, c.n_vocab, &token_embd_));
  RETURN_IF_ERROR(vector("output_norm.weight", c.n_embd, &output_norm_));
  if (f.FindTensor("output.weight")) {
    RETURN_IF_ERROR(matrix("output.weight", c.n_embd, c.n_vocab, &output_));
  } else {
    config_.tied_output = true;
  }
  if (f.FindTensor("rope_freqs.weight"))
    RETURN_IF_ERROR(vector("rope_freqs.weight", c.n_rot / 2, &rope_freqs_));
  layers_.resize(c.n_layer);
  for (int i = 0; i < c.n_layer; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    LayerWeights& L = layers_[i];
    RETURN_IF_ERROR(vector(b + "attn_norm.weight", c.n_embd, &L.attn_norm));
    RETURN_IF_ERROR(matrix(b + "attn_q.weight", c.n_embd, nq, &L.wq));
    RETURN_IF_ERROR(matrix(b + "attn_k.weight", c.n_embd, nkv, &L.wk));
    RETURN_IF_ERROR(matrix(b + "attn_v.weight", c.n_embd, nkv, &L.wv));
    RETURN_IF_ERROR(matrix(b + "attn_output.weight", nq, c.n_embd, &L.wo));
    // Q/K/V biases: required by qwen2, honoured by llama when present.
    if (c.qkv_bias || f.FindTensor(b + "attn_q.bias")) {
      RETURN_IF_ERROR(vector(b + "attn_q.bias", nq, &L.bq));
      RETURN_IF_ERROR(vector(b + "attn_k.bias", nkv, &L.bk));
      RETURN_IF_ERROR(vector(b + "attn_v.bias", nkv, &L.bv));
    }
    RETURN_IF_ERROR(vector(b + "ffn_norm.weight", c.n_embd, &L.ffn_norm));
    RETURN_IF_ERROR(matrix(b + "ffn_gate.weight", c.n_embd, c.n_ff, &L.w_gate));
    RETURN_IF_ERROR(matrix(b + "ffn_up.weight", c.n_embd, c.n_ff, &L.w_up));
    RETURN_IF_ERROR(matrix(b + "ffn_down.weight", c.n_ff, c.n_embd, &L.w_down));
  }

  // Sizes: parameters of the whole file; bytes read per decoded token are
  // every tensor except the embedding table, of which one row is read
  // (unless it is also the output head).
  for (const gguf::TensorInfo& t : f.tensors()) n_params_ += t.n_elements;
  for (const Use& u : uses)
    if (u.info->name != "token_embd.weight" || config_.tied_output)
      weight_bytes_ += u.info->size_bytes;

  if (const gguf::MetaValue* ft = f.Find("general.file_type"))
    quant_ = gguf::FileTypeName(ft->AsInt().value_or(-1));
  if (quant_.empty()) {
    std::map<std::string, uint64_t> bytes;
    for (const Use& u : uses) bytes[gguf::TypeName(static_cast<uint32_t>(u.info->type))] += u.info->size_bytes;
    uint64_t best = 0;
    for (const auto& [name, b] : bytes)
      if (b > best) { best = b; quant_ = name; }
  }

  if (use_mmap) {
    for (const Use& u : uses) *u.target = u.info->data;
  } else {
    // Copy into anonymous, huge-page-backed memory with pread: the file's
    // pages never enter this process's RSS, so peak RSS is the weights once.
    size_t total = 0;
    for (const Use& u : uses) total += (u.info->size_bytes + kArenaAlign - 1) & ~(kArenaAlign - 1);
    arena_bytes_ = (total + kHugePage - 1) & ~(kHugePage - 1);
    void* mem = ::mmap(nullptr, arena_bytes_, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
      arena_bytes_ = 0;
      return ResourceExhaustedError(path + ": cannot allocate " + std::to_string(total >> 20) +
                                    " MiB for the weights: " + std::strerror(errno));
    }
    arena_ = static_cast<uint8_t*>(mem);
    ::madvise(arena_, arena_bytes_, MADV_HUGEPAGE);  // a hint; fine if refused
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoToStatus(errno, path);
    size_t at = 0;
    Status s;
    for (const Use& u : uses) {
      if (*u.target) continue;  // tied tensors appear once
      uint8_t* dst = arena_ + at;
      uint64_t off = f.data_offset() + u.info->offset;
      size_t left = u.info->size_bytes;
      uint8_t* p = dst;
      while (left > 0) {
        const ssize_t n = ::pread(fd, p, left, static_cast<off_t>(off));
        if (n <= 0) {
          s = n == 0 ? DataLossError(path + ": file shrank while loading \"" +
                                     std::string(u.info->name) + "\"")
                     : ErrnoToStatus(errno, path + ": reading \"" + std::string(u.info->name) + "\"");
          break;
        }
        p += n;
        off += static_cast<uint64_t>(n);
        left -= static_cast<size_t>(n);
      }
      if (!s.ok()) break;
      // Every use of this tensor (the tied head) shares the copy.
      for (const Use& v : uses)
        if (v.info == u.info) *v.target = dst;
      at += (u.info->size_bytes + kArenaAlign - 1) & ~(kArenaAlign - 1);
    }
    ::close(fd);
    RETURN_IF_ERROR(s);
  }
  if (config_.tied_output) output_ = token_embd_;
  return Status::Ok();
}

}  // namespace edgebench::native
