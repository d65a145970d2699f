// backends/native/model/model_testing.h — helpers for the engine's tests:
// synthetic models cached for the test program's lifetime, our engine's
// logits and greedy tokens, and the same from the independent numpy
// reference (backends/native/reference/llama_ref.py).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "backends/native/model/model.h"
#include "base/status.h"

namespace edgebench::native::testing {

// A synthetic model file (created once per program run, then reused).
std::string SynthModel(const std::string& arch, const std::string& preset,
                       const std::string& type, uint64_t seed = 1);

// The folder synthetic models are written to (removed at exit).
std::string ModelDir();

struct RunResult {
  int n_vocab = 0;
  std::vector<float> logits;      // [n_prompt, n_vocab]: after every prompt token
  std::vector<int32_t> generated; // greedy continuation
};

// The first `n` tokens of a fixed English text, BOS first.
std::vector<int32_t> TextPrompt(const Model& model, int n);

Result<RunResult> RunNative(const std::string& path, std::span<const int32_t> prompt,
                            int n_gen, ContextOptions options);
Result<RunResult> RunReference(const std::string& path, std::span<const int32_t> prompt,
                               int n_gen);

// max over rows of max|a - b| / max|b|: the error relative to each
// position's largest logit (element-wise relative error is meaningless for
// logits near zero).
double MaxRelError(std::span<const float> a, std::span<const float> b, int n_vocab);

// Number of distinct tokens in `tokens`.
int Distinct(std::span<const int32_t> tokens);

}  // namespace edgebench::native::testing
