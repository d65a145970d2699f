#include "backends/sampler/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace edgebench::backends {

int32_t Argmax(std::span<const float> logits) {
  int32_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i)
    if (logits[i] > logits[best]) best = static_cast<int32_t>(i);
  return best;
}

Result<Sampler> Sampler::Create(const SamplerOptions& o) {
  if (!std::isfinite(o.temperature))
    return InvalidArgumentError("sampler temperature must be finite");
  if (o.top_k < 0) return InvalidArgumentError("sampler top_k must be >= 0");
  if (!(o.top_p > 0 && o.top_p <= 1))
    return InvalidArgumentError("sampler top_p must be in (0, 1]");
  if (!(o.min_p >= 0 && o.min_p < 1))
    return InvalidArgumentError("sampler min_p must be in [0, 1)");
  return Sampler(o);
}

// base/random.h's generator, not <random>'s distributions, whose output
// differs between standard libraries: a seed means the same tokens on every
// device.
Sampler::Sampler(const SamplerOptions& o) : o_(o), rng_(o.seed) {}

double Sampler::NextUniform() { return rng_.NextDouble(); }

int32_t Sampler::Sample(std::span<const float> logits) {
  if (o_.temperature <= 0) return Argmax(logits);
  const size_t n = logits.size();
  ids_.resize(n);
  std::iota(ids_.begin(), ids_.end(), 0);
  auto by_logit = [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  size_t keep = n;
  if (o_.top_k > 0 && static_cast<size_t>(o_.top_k) < n) {
    keep = static_cast<size_t>(o_.top_k);
    std::partial_sort(ids_.begin(), ids_.begin() + keep, ids_.end(), by_logit);
  } else {
    std::sort(ids_.begin(), ids_.end(), by_logit);
  }
  ids_.resize(keep);
  // top-p and min-p look at the softmax of the raw logits of the survivors.
  const float max = logits[ids_[0]];
  probs_.resize(keep);
  double sum = 0;
  for (size_t i = 0; i < keep; ++i) sum += probs_[i] = std::exp(logits[ids_[i]] - max);
  if (o_.top_p < 1) {
    double mass = 0;
    size_t i = 0;
    while (i < keep) {
      mass += probs_[i++] / sum;
      if (mass >= o_.top_p) break;
    }
    keep = i;
  }
  if (o_.min_p > 0) {
    // probs_[0] is the largest (exp(0) = 1).
    size_t i = 1;
    while (i < keep && probs_[i] >= o_.min_p) ++i;
    keep = i;
  }
  // Temperature on what is left, then draw.
  double total = 0;
  for (size_t i = 0; i < keep; ++i)
    total += probs_[i] = static_cast<float>(std::exp((logits[ids_[i]] - max) / o_.temperature));
  double u = NextUniform() * total;
  for (size_t i = 0; i < keep; ++i) {
    u -= probs_[i];
    if (u < 0) return ids_[i];
  }
  return ids_[keep - 1];  // rounding left a sliver
}

}  // namespace edgebench::backends
