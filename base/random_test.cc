#include "base/random.h"

#include <gtest/gtest.h>

namespace edgebench {
namespace {

TEST(Random, SplitMix64ReproducesPublishedOutputs) {
  // splitmix64.c seeded with 1234567 (Rosetta Code "Pseudo-random
  // numbers/Splitmix64"; also Vigna's reference implementation).
  uint64_t state = 1234567;
  EXPECT_EQ(SplitMix64(state), 6457827717110365317ULL);
  EXPECT_EQ(SplitMix64(state), 3203168211198807973ULL);
  EXPECT_EQ(SplitMix64(state), 9817491932198370423ULL);
}

TEST(Random, Xoshiro256StarStarReproducesPublishedOutputs) {
  // xoshiro256starstar.c from the state {1, 2, 3, 4}: the outputs that
  // other ports test against.
  Xoshiro256StarStar g = Xoshiro256StarStar::FromState({1, 2, 3, 4});
  EXPECT_EQ(g.Next(), 11520ULL);
  EXPECT_EQ(g.Next(), 0ULL);
  EXPECT_EQ(g.Next(), 1509978240ULL);
  EXPECT_EQ(g.Next(), 1215971899390074240ULL);
}

TEST(Random, SeedingGoesThroughSplitMix64) {
  uint64_t s = 42;
  const std::array<uint64_t, 4> state = {SplitMix64(s), SplitMix64(s), SplitMix64(s),
                                         SplitMix64(s)};
  Xoshiro256StarStar a(42);
  Xoshiro256StarStar b = Xoshiro256StarStar::FromState(state);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(a.Next(), b.Next());
  Xoshiro256StarStar c(42);
  const double d = c.NextDouble();
  EXPECT_GE(d, 0.0);
  EXPECT_LT(d, 1.0);
  EXPECT_EQ(d, static_cast<double>(Xoshiro256StarStar(42).Next() >> 11) * 0x1p-53);
}

}  // namespace
}  // namespace edgebench
