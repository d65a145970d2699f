// backends/sampler/sampler.h — choosing the next token from logits:
// greedy, or temperature sampling after top-k, top-p and min-p filters,
// with a seeded generator so runs repeat exactly.
//
// The filters work as llama.cpp's sampler chain does: top-k, then top-p and
// min-p on the softmax of the raw logits, then temperature on what is left.
// Greedy (temperature <= 0) breaks ties by the lowest token id.
//
// Thread-safety: a Sampler is used by one thread at a time.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/random.h"
#include "base/status.h"

namespace edgebench::backends {

struct SamplerOptions {
  float temperature = 0.0f;  // <= 0: greedy
  int top_k = 0;             // 0: off
  float top_p = 1.0f;        // 1: off; keep the smallest set with mass >= top_p
  float min_p = 0.0f;        // 0: off; keep p >= min_p * p_max
  uint64_t seed = 0;
};

class Sampler {
 public:
  // Errors name the option that is out of range.
  static Result<Sampler> Create(const SamplerOptions& options);

  // The next token. REQUIRES: !logits.empty().
  int32_t Sample(std::span<const float> logits);

 private:
  explicit Sampler(const SamplerOptions& o);
  double NextUniform();  // [0, 1)

  SamplerOptions o_;
  Xoshiro256StarStar rng_;
  std::vector<int32_t> ids_;   // candidates, reused between calls
  std::vector<float> probs_;
};

// Index of the largest value, lowest index on ties.
int32_t Argmax(std::span<const float> logits);

}  // namespace edgebench::backends
