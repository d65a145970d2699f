#include "backends/llamacpp/llamacpp_backend.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "backends/llamacpp/license.h"
#include "backends/native/gguf/gguf.h"
#include "backends/native/gguf/model_facts.h"
#include "base/cpu_features.h"
#include "ggml-cpu.h"
#include "llama.h"

#ifndef EDGEBENCH_LLAMACPP_COMMIT
#error "EDGEBENCH_LLAMACPP_COMMIT is set by cmake/llamacpp.cmake"
#endif
#ifndef EDGEBENCH_LLAMACPP_FLAGS
#define EDGEBENCH_LLAMACPP_FLAGS ""
#endif

namespace edgebench::llamacpp {

namespace {

// ---- llama.cpp's log: stderr for humans, the last errors for Status ----

// llama.cpp logs a line in pieces (GGML_LOG_LEVEL_CONT continues the last
// one). Warnings and errors go to stderr; INFO and DEBUG only with
// EDGEBENCH_LLAMACPP_LOG=info|debug, since a load prints a hundred lines.
class LogSink {
 public:
  static LogSink& Get() {
    static LogSink* sink = new LogSink();  // never destroyed: llama.cpp may log at exit
    return *sink;
  }

  void Log(ggml_log_level level, const char* text) {
    std::lock_guard<std::mutex> lock(mu_);
    if (level != GGML_LOG_LEVEL_CONT) {
      Flush();
      level_ = level;
    }
    line_ += text;
    if (!line_.empty() && line_.back() == '\n') Flush();
  }

  // The warnings and errors logged since the last call, "; "-joined.
  std::string TakeErrors() {
    std::lock_guard<std::mutex> lock(mu_);
    Flush();
    std::string out;
    for (const std::string& e : errors_) out += (out.empty() ? "" : "; ") + e;
    errors_.clear();
    return out;
  }

 private:
  LogSink() {
    const char* v = std::getenv("EDGEBENCH_LLAMACPP_LOG");
    const std::string want = v ? v : "";
    min_level_ = want == "debug"  ? GGML_LOG_LEVEL_DEBUG
                 : want == "info" ? GGML_LOG_LEVEL_INFO
                                  : GGML_LOG_LEVEL_WARN;
  }

  void Flush() {
    while (!line_.empty() && (line_.back() == '\n' || line_.back() == ' '))
      line_.pop_back();
    if (line_.empty()) return;
    if (level_ >= min_level_ || level_ == GGML_LOG_LEVEL_NONE)
      std::fprintf(stderr, "llama.cpp: %s\n", line_.c_str());
    if (level_ == GGML_LOG_LEVEL_ERROR || level_ == GGML_LOG_LEVEL_WARN) {
      errors_.push_back(line_);
      if (errors_.size() > 4) errors_.pop_front();
    }
    line_.clear();
  }

  std::mutex mu_;
  ggml_log_level level_ = GGML_LOG_LEVEL_INFO;
  ggml_log_level min_level_ = GGML_LOG_LEVEL_WARN;
  std::string line_;
  std::deque<std::string> errors_;
};

void InitOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    llama_log_set([](ggml_log_level level, const char* text,
                     void*) { LogSink::Get().Log(level, text); },
                  nullptr);
    llama_backend_init();
  });
}

// "what failed: llama.cpp's last error lines", or just what failed.
std::string WithLog(std::string what) {
  const std::string log = LogSink::Get().TakeErrors();
  if (!log.empty()) what += ": " + log;
  return what;
}

// ---- what ggml-cpu was compiled for, and whether this CPU has it ----

struct CompiledFeature {
  const char* name;
  int (*compiled)();
  bool CpuFeatures::*present;  // nullptr: not probed here, reported only
};

const std::vector<CompiledFeature>& CompiledFeatures() {
  static const std::vector<CompiledFeature> k = {
      {"avx2", ggml_cpu_has_avx2, &CpuFeatures::avx2},
      {"fma", ggml_cpu_has_fma, &CpuFeatures::fma},
      {"f16c", ggml_cpu_has_f16c, &CpuFeatures::f16c},
      {"avx512", ggml_cpu_has_avx512, &CpuFeatures::avx512f},
      {"avx512_vbmi", ggml_cpu_has_avx512_vbmi, nullptr},
      {"avx512_vnni", ggml_cpu_has_avx512_vnni, &CpuFeatures::avx512vnni},
      {"avx512_bf16", ggml_cpu_has_avx512_bf16, &CpuFeatures::avx512bf16},
      {"avx_vnni", ggml_cpu_has_avx_vnni, &CpuFeatures::avxvnni},
      {"neon", ggml_cpu_has_neon, &CpuFeatures::asimd},
      {"dotprod", ggml_cpu_has_dotprod, &CpuFeatures::asimddp},
      {"fp16_va", ggml_cpu_has_fp16_va, &CpuFeatures::asimdhp},
      {"i8mm", ggml_cpu_has_matmul_int8, &CpuFeatures::i8mm},
      {"sve", ggml_cpu_has_sve, &CpuFeatures::sve},
      {"llamafile", ggml_cpu_has_llamafile, nullptr},
  };
  return k;
}

std::string CompiledFeaturesString() {
  std::string s;
  for (const CompiledFeature& f : CompiledFeatures())
    if (f.compiled()) s += (s.empty() ? "" : " ") + std::string(f.name);
  return s;
}

// ggml-cpu is built for one instruction set (-march=native on x86, ARMv8.2
// with dotprod on aarch64): on a CPU without it the first kernel would be
// a SIGILL, so say so instead.
Status CheckCpu() {
  const CpuFeatures& cpu = GetCpuFeatures();
  std::string missing;
  for (const CompiledFeature& f : CompiledFeatures())
    if (f.present && f.compiled() && !(cpu.*f.present))
      missing += (missing.empty() ? "" : " ") + std::string(f.name);
  if (missing.empty()) return Status::Ok();
  return FailedPreconditionError(
      "llama.cpp in this edgebench-rt was built for CPU features this CPU lacks (" +
      missing + "; it has: " + CpuFeaturesString(cpu) +
      "); rebuild it for this device with scripts/llamacpp.sh");
}

// ---- the backend ----

class LlamaCppBackend final : public backends::Backend {
 public:
  ~LlamaCppBackend() override {
    FreeContext();
    if (model_) llama_model_free(model_);
  }

  std::string_view name() const override { return "llamacpp"; }

  Result<backends::ModelInfo> Load(const backends::ModelOptions& o) override {
    if (model_) return FailedPreconditionError("llamacpp backend: Load called twice");
    RETURN_IF_ERROR(CheckCpu());
    InitOnce();
    // The file's facts from its header, by the same definitions as the
    // native engine's; this also names a missing or malformed file in our
    // words before llama.cpp sees it.
    gguf::ModelFacts facts;
    {
      ASSIGN_OR_RETURN(std::unique_ptr<gguf::GgufFile> file,
                       gguf::GgufFile::Open(o.model_path));
      ASSIGN_OR_RETURN(facts, gguf::ReadModelFacts(*file));
      file_bytes_ = file->file_size();
    }
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    mp.load_mode = o.use_mmap ? LLAMA_LOAD_MODE_MMAP : LLAMA_LOAD_MODE_NONE;
    LogSink::Get().TakeErrors();
    model_ = llama_model_load_from_file(o.model_path.c_str(), mp);
    if (!model_)
      return InvalidArgumentError(
          WithLog(o.model_path + ": llama.cpp cannot load the model"));
    vocab_ = llama_model_get_vocab(model_);
    n_vocab_ = llama_vocab_n_tokens(vocab_);
    n_ctx_train_ = llama_model_n_ctx_train(model_);

    backends::ModelInfo info;
    info.arch = facts.arch;
    info.quant = facts.quant;
    info.n_params = facts.n_params;
    info.file_bytes = file_bytes_;
    info.weight_bytes = facts.weight_bytes;
    info.n_vocab = n_vocab_;
    info.n_ctx_train = n_ctx_train_;
    info.isa = CompiledFeaturesString();
    return info;
  }

  Status CreateContext(const backends::ContextOptions& o) override {
    if (!model_) return FailedPreconditionError("llamacpp backend: no model loaded");
    ggml_type kv;
    if (o.kv_type == "f16") {
      kv = GGML_TYPE_F16;
    } else if (o.kv_type == "f32") {
      kv = GGML_TYPE_F32;
    } else {
      return InvalidArgumentError("kv_type must be \"f16\" or \"f32\", got \"" +
                                  o.kv_type + "\"");
    }
    if (o.n_threads < 1 || o.n_threads > GGML_MAX_N_THREADS)
      return InvalidArgumentError("threads must be in [1, " +
                                  std::to_string(GGML_MAX_N_THREADS) + "], got " +
                                  std::to_string(o.n_threads));
    if (o.n_batch < 1) return InvalidArgumentError("n_batch must be positive");
    for (int c : o.cpus)
      if (c < 0 || c >= GGML_MAX_N_THREADS)
        return InvalidArgumentError("cpu " + std::to_string(c) +
                                    " is out of range for llama.cpp");
    FreeContext();  // free the old KV cache before allocating the new one

    n_ctx_ = o.n_ctx > 0 ? o.n_ctx : n_ctx_train_;
    n_batch_ = std::min(o.n_batch, n_ctx_);
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = static_cast<uint32_t>(n_ctx_);
    // One physical batch as large as the logical one, as the native engine
    // runs one forward pass per n_batch tokens (llama-bench: -b = -ub).
    cp.n_batch = cp.n_ubatch = static_cast<uint32_t>(n_batch_);
    cp.n_seq_max = 1;
    cp.n_threads = cp.n_threads_batch = o.n_threads;
    cp.type_k = cp.type_v = kv;
    cp.no_perf = true;  // the runtime measures; llama.cpp's own timers are not read
    cp.embeddings = false;

    // Our own thread pool, as llama-bench makes one: pinned to `cpus` (each
    // thread to the next CPU of the mask, strictly) when given.
    ggml_threadpool_params tp = ggml_threadpool_params_default(o.n_threads);
    if (!o.cpus.empty()) {
      for (int c : o.cpus) tp.cpumask[c] = true;
      tp.strict_cpu = true;
    }
    LogSink::Get().TakeErrors();
    pool_ = ggml_threadpool_new(&tp);
    if (!pool_)
      return ResourceExhaustedError(WithLog("llama.cpp: cannot create its thread pool"));
    ctx_ = llama_init_from_model(model_, cp);
    if (!ctx_) {
      FreeContext();
      return ResourceExhaustedError(
          WithLog("llama.cpp: cannot create a context of n_ctx " +
                  std::to_string(n_ctx_) + ", n_batch " + std::to_string(n_batch_)));
    }
    llama_attach_threadpool(ctx_, pool_, pool_);
    batch_ = llama_batch_init(n_batch_, 0, 1);
    has_batch_ = true;
    n_past_ = 0;
    logits_ = {};
    return Status::Ok();
  }

  Result<std::vector<int32_t>> Tokenize(std::string_view text,
                                        bool add_special) const override {
    if (!model_) return FailedPreconditionError("llamacpp backend: no model loaded");
    if (text.size() > static_cast<size_t>(INT32_MAX / 2))
      return InvalidArgumentError("text too long to tokenize");
    std::vector<llama_token> out(text.size() + 8);
    const int32_t len = static_cast<int32_t>(text.size());
    int32_t n = llama_tokenize(vocab_, text.data(), len, out.data(),
                               static_cast<int32_t>(out.size()), add_special,
                               /*parse_special=*/false);
    if (n == INT32_MIN)
      return InvalidArgumentError("tokenization result overflows int32");
    if (n < 0) {
      out.resize(static_cast<size_t>(-n));
      n = llama_tokenize(vocab_, text.data(), len, out.data(),
                         static_cast<int32_t>(out.size()), add_special, false);
      if (n < 0) return InternalError(WithLog("llama.cpp: tokenization failed"));
    }
    out.resize(static_cast<size_t>(n));
    return std::vector<int32_t>(out.begin(), out.end());
  }

  std::string TokenToPiece(int32_t token) const override {
    if (!model_ || token < 0 || token >= n_vocab_) return {};
    char buf[128];
    int32_t n =
        llama_token_to_piece(vocab_, token, buf, sizeof buf, 0, /*special=*/false);
    if (n >= 0) return std::string(buf, static_cast<size_t>(n));
    std::string big(static_cast<size_t>(-n), '\0');
    n = llama_token_to_piece(vocab_, token, big.data(), static_cast<int32_t>(big.size()),
                             0, false);
    big.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return big;
  }

  bool IsEndOfGeneration(int32_t token) const override {
    return model_ && llama_vocab_is_eog(vocab_, token);
  }
  int32_t BosToken() const override {
    return model_ ? llama_vocab_bos(vocab_) : -1;  // LLAMA_TOKEN_NULL is -1
  }

  void ClearCache() override {
    if (!ctx_) return;
    llama_memory_clear(llama_get_memory(ctx_), true);
    n_past_ = 0;
    logits_ = {};
  }

  Status Eval(std::span<const int32_t> tokens) override {
    if (!ctx_) return FailedPreconditionError("llamacpp backend: no context created");
    if (tokens.empty()) return InvalidArgumentError("Eval of no tokens");
    if (n_past_ + static_cast<int64_t>(tokens.size()) > n_ctx_)
      return OutOfRangeError("context overflow: " + std::to_string(n_past_) + " + " +
                             std::to_string(tokens.size()) + " tokens > n_ctx " +
                             std::to_string(n_ctx_));
    for (int32_t t : tokens)
      if (t < 0 || t >= n_vocab_)
        return InvalidArgumentError("token id " + std::to_string(t) +
                                    " is outside the vocabulary");
    const int start = n_past_;
    for (size_t at = 0; at < tokens.size(); at += static_cast<size_t>(n_batch_)) {
      const size_t n = std::min(tokens.size() - at, static_cast<size_t>(n_batch_));
      const bool last = at + n == tokens.size();
      batch_.n_tokens = static_cast<int32_t>(n);
      for (size_t i = 0; i < n; ++i) {
        batch_.token[i] = tokens[at + i];
        batch_.pos[i] = n_past_ + static_cast<llama_pos>(i);
        batch_.n_seq_id[i] = 1;
        batch_.seq_id[i][0] = 0;
        // Logits of the last token only: the prompt's others are never read.
        batch_.logits[i] = last && i + 1 == n;
      }
      LogSink::Get().TakeErrors();
      const int32_t rc = llama_decode(ctx_, batch_);
      if (rc != 0) {
        // Leave the cache as it was before this call.
        llama_memory_seq_rm(llama_get_memory(ctx_), 0, start, -1);
        n_past_ = start;
        logits_ = {};
        const std::string what = "llama_decode returned " + std::to_string(rc) +
                                 " at position " +
                                 std::to_string(start + static_cast<int>(at));
        if (rc == 1) return ResourceExhaustedError(WithLog(what + " (no KV cache slot)"));
        if (rc == 2) return CancelledError(WithLog(what + " (aborted)"));
        if (rc == -1) return InvalidArgumentError(WithLog(what + " (invalid batch)"));
        return InternalError(WithLog(what));
      }
      n_past_ += static_cast<int>(n);
    }
    const float* l = llama_get_logits_ith(ctx_, -1);
    if (!l) return InternalError(WithLog("llama.cpp returned no logits"));
    logits_ = std::span<const float>(l, static_cast<size_t>(n_vocab_));
    return Status::Ok();
  }

  std::span<const float> Logits() const override { return logits_; }
  int n_past() const override { return n_past_; }

 private:
  void FreeContext() {
    if (has_batch_) llama_batch_free(batch_);
    has_batch_ = false;
    if (ctx_) llama_free(ctx_);
    ctx_ = nullptr;
    if (pool_) ggml_threadpool_free(pool_);
    pool_ = nullptr;
    logits_ = {};
    n_past_ = 0;
  }

  llama_model* model_ = nullptr;
  const llama_vocab* vocab_ = nullptr;
  llama_context* ctx_ = nullptr;
  ggml_threadpool* pool_ = nullptr;
  llama_batch batch_{};
  bool has_batch_ = false;
  uint64_t file_bytes_ = 0;
  int n_vocab_ = 0;
  int n_ctx_train_ = 0;
  int n_ctx_ = 0;
  int n_batch_ = 0;
  int n_past_ = 0;
  std::span<const float> logits_;
};

}  // namespace

std::unique_ptr<backends::Backend> NewLlamaCppBackend() {
  return std::make_unique<LlamaCppBackend>();
}

backends::EngineBuild LlamaCppBuild() {
  return {.version = EDGEBENCH_LLAMACPP_COMMIT,
          .isa = CompiledFeaturesString(),
          .flags = EDGEBENCH_LLAMACPP_FLAGS,
          .license = kLlamaCppLicense};
}

}  // namespace edgebench::llamacpp
