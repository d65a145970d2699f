// base/random.h — the project's one seeded generator: splitmix64, and
// xoshiro256** (Blackman & Vigna) seeded through it as its authors
// recommend (which also rules out the all-zero state).
//
// Written out rather than taken from <random>: the standard fixes mt19937's
// stream but not what its distributions (or std::shuffle) make of it, and a
// seed here must give the same numbers on every device, host and standard
// library: sampled tokens, synthetic weights, interleaved sweep orders,
// bootstrap intervals. Changing either stream changes stored results.
//
// Thread-safety: a generator is a value; one per thread.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace edgebench {

// The next splitmix64 output; advances `state`.
inline uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

class Xoshiro256StarStar {
 public:
  explicit Xoshiro256StarStar(uint64_t seed) {
    for (uint64_t& word : s_) word = SplitMix64(seed);
  }
  // A generator in exactly this state (reference vectors start from one).
  static Xoshiro256StarStar FromState(const std::array<uint64_t, 4>& state) {
    Xoshiro256StarStar g(0);
    g.s_ = state;
    return g;
  }

  uint64_t Next() {
    const uint64_t result = std::rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = std::rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, 1): the top 53 bits.
  double NextDouble() { return static_cast<double>(Next() >> 11) * 0x1p-53; }

 private:
  std::array<uint64_t, 4> s_;
};

}  // namespace edgebench
