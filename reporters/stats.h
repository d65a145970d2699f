// reporters/stats.h — the statistics behind reports and regression gates:
// medians with bootstrap confidence intervals, and the Mann-Whitney U test
// for "is the candidate slower than the baseline".
//
// Thread-safety: pure functions; the bootstrap draws from its own seeded
// generator, so the same input and seed give the same interval everywhere.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace edgebench::reporters {

// The median (mean of the two middle values for an even count). NAN when
// empty.
double Median(std::span<const double> v);

// The q-quantile (0..1) with linear interpolation between order statistics
// (type 7, as R's and NumPy's default). NAN when empty.
double Quantile(std::span<const double> v, double q);

struct Interval {
  double lo = 0;
  double hi = 0;
};

// Percentile bootstrap CI of the median: `resamples` resamples with
// replacement drawn from a splitmix64/xoshiro-style generator seeded with
// `seed`, the (1-confidence)/2 and (1+confidence)/2 quantiles of their
// medians. One value: [v, v]. Empty: NANs.
Interval BootstrapMedianCi(std::span<const double> v, uint64_t seed, int resamples = 1000,
                           double confidence = 0.95);

// median(candidate) / median(baseline) and its percentile bootstrap CI,
// each side resampled independently. NAN when either side is empty or the
// baseline median is 0.
struct RatioCi {
  double ratio = 0;
  double lo = 0;
  double hi = 0;
};
RatioCi BootstrapMedianRatio(std::span<const double> baseline, std::span<const double> candidate,
                             uint64_t seed, int resamples = 1000, double confidence = 0.95);

// Two-sided Mann-Whitney U test of samples a and b.
//   u       U of sample a: the number of pairs (x in a, y in b) with x > y,
//           ties counting 1/2 (so u_a + u_b = n_a * n_b).
//   p       two-sided p-value: exact (the permutation distribution of U)
//           when there are no ties and n_a + n_b <= 30; otherwise the normal
//           approximation with tie correction and continuity correction.
//   exact   which of the two was used.
// Empty input: p = 1.
struct MannWhitney {
  double u = 0;
  double z = 0;  // the normal approximation's z (0 when exact)
  double p = 1;
  bool exact = false;
};
MannWhitney MannWhitneyU(std::span<const double> a, std::span<const double> b);

// Mean, sample standard deviation (n-1) and coefficient of variation
// (sd / |mean|; 0 when n < 2 or the mean is 0).
struct Moments {
  double mean = 0;
  double sd = 0;
  double cv = 0;
};
Moments ComputeMoments(std::span<const double> v);

}  // namespace edgebench::reporters
