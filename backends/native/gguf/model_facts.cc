#include "backends/native/gguf/model_facts.h"

#include <map>

#include "backends/native/gguf/ggml_types.h"

namespace edgebench::gguf {

std::string FileTypeName(int64_t id) {
  static const std::map<int64_t, const char*> kNames = {
      {0, "F32"},     {1, "F16"},     {2, "Q4_0"},    {3, "Q4_1"},    {7, "Q8_0"},
      {8, "Q5_0"},    {9, "Q5_1"},    {10, "Q2_K"},   {11, "Q3_K_S"}, {12, "Q3_K_M"},
      {13, "Q3_K_L"}, {14, "Q4_K_S"}, {15, "Q4_K_M"}, {16, "Q5_K_S"}, {17, "Q5_K_M"},
      {18, "Q6_K"},   {32, "BF16"},
  };
  auto it = kNames.find(id);
  return it == kNames.end() ? "" : it->second;
}

Result<ModelFacts> ReadModelFacts(const GgufFile& f) {
  ModelFacts m;
  ASSIGN_OR_RETURN(std::string_view arch, f.GetString("general.architecture"));
  m.arch = std::string(arch);
  ASSIGN_OR_RETURN(int64_t ctx, f.GetInt(m.arch + ".context_length", 0));
  m.n_ctx_train = static_cast<int>(ctx);
  if (const MetaValue* tokens = f.Find("tokenizer.ggml.tokens"))
    m.n_vocab = static_cast<int>(tokens->array_size());
  const bool tied = f.FindTensor("output.weight") == nullptr;
  std::map<std::string, uint64_t> bytes_by_type;
  for (const TensorInfo& t : f.tensors()) {
    m.n_params += t.n_elements;
    if (t.name != "token_embd.weight" || tied) m.weight_bytes += t.size_bytes;
    bytes_by_type[TypeName(static_cast<uint32_t>(t.type))] += t.size_bytes;
  }
  if (const MetaValue* ft = f.Find("general.file_type"))
    m.quant = FileTypeName(ft->AsInt().value_or(-1));
  if (m.quant.empty()) {
    uint64_t best = 0;
    for (const auto& [name, b] : bytes_by_type)
      if (b > best) {
        best = b;
        m.quant = name;
      }
  }
  return m;
}

}  // namespace edgebench::gguf
