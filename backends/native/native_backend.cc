#include "backends/native/native_backend.h"

#include "backends/native/gguf/gguf.h"
#include "backends/native/kernels/kernels.h"
#include "backends/native/model/model.h"
#include "backends/native/tokenizer/tokenizer.h"

namespace edgebench::native {

namespace {

class NativeBackend final : public backends::Backend {
 public:
  std::string_view name() const override { return "native"; }

  Result<backends::ModelInfo> Load(const backends::ModelOptions& o) override {
    if (model_) return FailedPreconditionError("native backend: Load called twice");
    ASSIGN_OR_RETURN(model_, Model::Load(o.model_path, {.use_mmap = o.use_mmap}));
    const ModelConfig& c = model_->config();
    backends::ModelInfo info;
    info.arch = c.arch;
    info.quant = model_->quant();
    info.n_params = model_->n_params();
    info.file_bytes = model_->file().file_size();
    info.weight_bytes = model_->weight_bytes();
    info.n_vocab = c.n_vocab;
    info.n_ctx_train = c.n_ctx_train;
    info.isa = std::string(kernels::IsaName(kernels::BestKernels().isa));
    return info;
  }

  Status CreateContext(const backends::ContextOptions& o) override {
    if (!model_) return FailedPreconditionError("native backend: no model loaded");
    if (o.kv_type != "f16" && o.kv_type != "f32")
      return InvalidArgumentError("kv_type must be \"f16\" or \"f32\", got \"" + o.kv_type + "\"");
    ctx_.reset();  // free the old KV cache before allocating the new one
    ContextOptions co;
    co.n_ctx = o.n_ctx;
    co.n_batch = o.n_batch;
    co.n_threads = o.n_threads;
    co.cpus = o.cpus;
    co.kv_type = o.kv_type == "f32" ? gguf::TensorType::kF32 : gguf::TensorType::kF16;
    ASSIGN_OR_RETURN(ctx_, Context::Create(*model_, co));
    return Status::Ok();
  }

  Result<std::vector<int32_t>> Tokenize(std::string_view text, bool add_special) const override {
    if (!model_) return FailedPreconditionError("native backend: no model loaded");
    return model_->tokenizer().Encode(text, add_special, /*parse_special=*/false);
  }
  std::string TokenToPiece(int32_t token) const override {
    return model_ ? model_->tokenizer().TokenToPiece(token) : std::string();
  }
  bool IsEndOfGeneration(int32_t token) const override {
    return model_ && model_->tokenizer().IsEog(token);
  }
  int32_t BosToken() const override { return model_ ? model_->tokenizer().bos() : -1; }

  void ClearCache() override {
    if (ctx_) ctx_->Clear();
  }
  Status Eval(std::span<const int32_t> tokens) override {
    if (!ctx_) return FailedPreconditionError("native backend: no context created");
    return ctx_->Eval(tokens);
  }
  std::span<const float> Logits() const override {
    return ctx_ ? ctx_->Logits() : std::span<const float>();
  }
  int n_past() const override { return ctx_ ? ctx_->n_past() : 0; }

 private:
  std::unique_ptr<Model> model_;
  std::unique_ptr<Context> ctx_;
};

}  // namespace

std::unique_ptr<backends::Backend> NewNativeBackend() {
  return std::make_unique<NativeBackend>();
}

backends::EngineBuild NativeBuild() {
  return {.isa = std::string(kernels::IsaName(kernels::BestKernels().isa))};
}

}  // namespace edgebench::native
