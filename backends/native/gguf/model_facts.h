// backends/native/gguf/model_facts.h — what a GGUF model file is, from its
// header alone: architecture, quantization name, parameter count, and the
// bytes of weights one decoded token reads. Every engine reports these with
// the same definitions, so a comparison of engines on one file compares
// like with like.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "backends/native/gguf/gguf.h"
#include "base/status.h"

namespace edgebench::gguf {

struct ModelFacts {
  std::string arch;      // general.architecture: "llama", "qwen2", ...
  std::string quant;     // general.file_type's name ("Q4_K_M"), else the
                         // tensor type holding the most bytes
  int64_t n_params = 0;  // elements of every tensor in the file
  // Every tensor except the embedding table, of which a token reads one
  // row; the table counts whole when it is also the output head (no
  // output.weight in the file).
  uint64_t weight_bytes = 0;
  int n_vocab = 0;      // tokenizer.ggml.tokens entries
  int n_ctx_train = 0;  // <arch>.context_length, 0 when absent
};

// llama.cpp's `llama_ftype` names for general.file_type ("" when unknown).
std::string FileTypeName(int64_t id);

// Errors name the file and the missing key.
Result<ModelFacts> ReadModelFacts(const GgufFile& file);

}  // namespace edgebench::gguf
