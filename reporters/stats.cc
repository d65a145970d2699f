#include "reporters/stats.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

#include "base/random.h"

namespace edgebench::reporters {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

// NaN breaks the strict weak ordering that sort and nth_element need
// (undefined behaviour, not just a wrong answer), so every entry point
// checks for it and answers NaN instead.
bool HasNan(std::span<const double> v) {
  return std::any_of(v.begin(), v.end(), [](double x) { return std::isnan(x); });
}

// (a + b) / 2 without overflowing to inf for huge finite values. Written
// out rather than std::midpoint so that libstdc++ and libc++ round alike.
double Mid(double a, double b) {
  const double sum = a + b;
  if (std::isfinite(sum)) return sum / 2;
  return a / 2 + b / 2;
}

// Interpolates from the nearer end, as NumPy does, so that t = 0 and t = 1
// give a and b exactly and the result is monotone in t. Separate statements
// because clang's default -ffp-contract=on fuses a multiply and an add into
// an FMA within one expression (GCC does so across statements only in its
// GNU dialects, which the build does not use), and an FMA would change the
// last bit of a stored interval on FMA targets such as aarch64.
double Lerp(double a, double b, double t) {
  if (a == b) return a;  // also keeps inf from turning into NaN
  const double diff = b - a;
  if (t < 0.5) {
    const double step = diff * t;
    return a + step;
  }
  const double step = diff * (1 - t);
  return b - step;
}

// The type-7 quantile of v, reordering v. REQUIRES: v non-empty, no NaN,
// 0 <= q <= 1.
double QuantileInPlace(std::span<double> v, double q) {
  const double h = static_cast<double>(v.size() - 1) * q;
  const size_t lo = static_cast<size_t>(std::floor(h));
  const double frac = h - static_cast<double>(lo);
  auto nth = v.begin() + static_cast<ptrdiff_t>(lo);
  std::nth_element(v.begin(), nth, v.end());
  if (frac == 0 || lo + 1 >= v.size()) return *nth;
  // After nth_element everything past nth is >= *nth, so the next order
  // statistic is the smallest of them.
  return Lerp(*nth, *std::min_element(nth + 1, v.end()), frac);
}

// --- Random numbers ---------------------------------------------------------
// base/random.h's xoshiro256**: a stored interval has to be reproducible from
// its seed on every platform, which <random>'s distributions do not promise.

// Uniform indices in [0, range). Each 64-bit output is used as two 32-bit
// words, high half first, since a resample index never needs more; Lemire's
// multiply-and-reject keeps the draw unbiased with one multiply in the
// common case. Copyable, so a resample can be replayed from a saved state.
class IndexDrawer {
 public:
  explicit IndexDrawer(uint64_t seed) : gen_(seed) {}

  // REQUIRES: 0 < range.
  uint32_t Below(uint32_t range) {
    uint64_t m = uint64_t{Next32()} * range;
    uint32_t low = static_cast<uint32_t>(m);
    if (low < range) {
      const uint32_t threshold = (0u - range) % range;  // 2^32 mod range
      while (low < threshold) {
        m = uint64_t{Next32()} * range;
        low = static_cast<uint32_t>(m);
      }
    }
    return static_cast<uint32_t>(m >> 32);
  }

 private:
  uint32_t Next32() {
    if (has_low_half_) {
      has_low_half_ = false;
      return low_half_;
    }
    const uint64_t x = gen_.Next();
    low_half_ = static_cast<uint32_t>(x);
    has_low_half_ = true;
    return static_cast<uint32_t>(x >> 32);
  }

  Xoshiro256StarStar gen_;
  uint32_t low_half_ = 0;
  bool has_low_half_ = false;
};

// --- Bootstrap --------------------------------------------------------------

// Where one resample's median sits: 0-based indices into the sorted data of
// its two middle order statistics (equal for odd n). The median is then
// Mid(sorted[lo], sorted[hi]).
struct MiddlePair {
  uint32_t lo;
  uint32_t hi;
};

// Draws resamples of n indices and finds each one's middle order statistics.
//
// A resample is n uniform indices into the sorted data, so its median sits
// at its middle order statistics. Only indices near the middle can be those,
// so the draw loop counts how often each index inside a band around the
// middle was drawn (one slot collects everything outside), and a scan of the
// band finds them. Counting instead of selecting (nth_element) makes the
// work per drawn index a few instructions. The band reaches 8 standard
// deviations of the resample median's index (about sqrt(n)/2) either side of
// the middle, so a resample whose median falls outside it essentially never
// happens; when it does, the resample is replayed from the saved generator
// state with the band covering every index. Either way the answer is the one
// that sorting the whole resample would give.
class MiddleOrderStats {
 public:
  // REQUIRES: 0 < n < 2^32 - 1.
  explicit MiddleOrderStats(uint32_t n)
      : n_(n), k_lo_((n - 1) / 2), k_hi_(n / 2), counts_(static_cast<size_t>(n) + 1, 0) {
    const uint32_t half_width =
        4 * static_cast<uint32_t>(std::ceil(std::sqrt(static_cast<double>(n)))) + 8;
    band_lo_ = k_lo_ > half_width ? k_lo_ - half_width : 0;
    const uint32_t band_hi = n - 1 - k_hi_ > half_width ? k_hi_ + half_width : n - 1;
    band_span_ = band_hi - band_lo_;
  }

  MiddlePair Next(IndexDrawer& draw) {
    const IndexDrawer saved = draw;
    if (auto m = TryBand(draw, band_lo_, band_span_)) return *m;
    draw = saved;
    return *TryBand(draw, 0, n_ - 1);  // the band is every index: cannot miss
  }

 private:
  // Draws one resample, counting the indices in [lo, lo + span]; its middle
  // pair, or nullopt when the middle order statistics fell outside.
  std::optional<MiddlePair> TryBand(IndexDrawer& draw, uint32_t lo, uint32_t span) {
    uint32_t* counts = counts_.data();  // [span + 2]: the band, then "outside"
    const uint32_t outside = span + 1;
    uint32_t below = 0;
    // The hot loop of every bootstrap. Branch-free: an index below lo wraps
    // to a huge offset, so both sides land in the `outside` slot.
    for (uint32_t i = 0; i < n_; ++i) {
      const uint32_t j = draw.Below(n_);
      const uint32_t offset = j - lo;
      ++counts[std::min(offset, outside)];
      below += j < lo;
    }
    std::optional<MiddlePair> pair;
    const uint32_t kept = n_ - counts[outside];
    if (below <= k_lo_ && below + kept > k_hi_) {
      // The first band slot where the running count passes k is the k-th
      // smallest drawn index (0-based).
      uint32_t seen = below;
      uint32_t slot = 0;
      while ((seen += counts[slot]) <= k_lo_) ++slot;
      const uint32_t lo_slot = slot;
      while (seen <= k_hi_) seen += counts[++slot];
      pair = MiddlePair{lo + lo_slot, lo + slot};
    }
    std::fill(counts, counts + span + 2, 0u);
    return pair;
  }

  uint32_t n_;
  uint32_t k_lo_;  // the median's order statistics, 0-based; equal for odd n
  uint32_t k_hi_;
  std::vector<uint32_t> counts_;  // [n_ + 1] scratch, reused by every resample
  uint32_t band_lo_ = 0;
  uint32_t band_span_ = 0;
};

// The middle pairs of `resamples` resamples drawn from one stream seeded
// with `seed`: for each resample, one pair per entry of `sizes`, in order
// (the ratio resamples its baseline, then its candidate).
//
// They depend on the seed and sizes only, not on the values, and a report
// asks for the same seed and size for every metric of every row: 10 metrics
// x 1000 rows of 100 repetitions is 10^9 draws, seconds of work, for what is
// one distinct plan. So each thread keeps its last few plans; the functions
// stay reentrant and their results are exactly what drawing afresh gives.
using Plan = std::shared_ptr<const std::vector<MiddlePair>>;

Plan ResamplePlan(uint64_t seed, std::initializer_list<uint32_t> sizes, int resamples) {
  struct Key {
    uint64_t seed = 0;
    uint32_t n1 = 0;
    uint32_t n2 = 0;  // 0: one sample
    int resamples = 0;
    bool operator==(const Key&) const = default;
  };
  constexpr size_t kEntries = 16;  // rows whose counts differ by a failed rep or two
  // Bigger plans are rebuilt each time rather than held for the thread's
  // life: at most 512 KiB per entry, 8 MiB per thread.
  constexpr size_t kMaxPairs = size_t{1} << 16;
  struct Cache {
    Key keys[kEntries];
    Plan plans[kEntries];
    size_t next = 0;  // round-robin victim
  };
  thread_local Cache cache;

  const uint32_t* size = sizes.begin();
  const Key key{seed, size[0], sizes.size() > 1 ? size[1] : 0, resamples};
  for (size_t i = 0; i < kEntries; ++i) {
    if (cache.plans[i] && cache.keys[i] == key) return cache.plans[i];
  }

  std::vector<MiddleOrderStats> samples;
  for (uint32_t n : sizes) samples.emplace_back(n);
  auto plan = std::make_shared<std::vector<MiddlePair>>();
  plan->reserve(static_cast<size_t>(resamples) * samples.size());
  IndexDrawer draw(seed);
  for (int r = 0; r < resamples; ++r) {
    for (MiddleOrderStats& sample : samples) plan->push_back(sample.Next(draw));
  }
  if (plan->size() <= kMaxPairs) {
    cache.keys[cache.next] = key;
    cache.plans[cache.next] = plan;
    cache.next = (cache.next + 1) % kEntries;
  }
  return plan;
}

double MedianAt(const std::vector<double>& sorted, MiddlePair p) {
  return Mid(sorted[p.lo], sorted[p.hi]);
}

bool ValidBootstrapArgs(size_t n, int resamples, double confidence) {
  return n < std::numeric_limits<uint32_t>::max() && resamples >= 1 && confidence >= 0 &&
         confidence <= 1;
}

// The percentile interval of `stats`, reordering it.
Interval PercentileInterval(std::span<double> stats, double confidence) {
  if (HasNan(stats)) return {kNan, kNan};
  const double lo = QuantileInPlace(stats, (1 - confidence) / 2);
  const double hi = QuantileInPlace(stats, (1 + confidence) / 2);
  return {lo, hi};
}

}  // namespace

double Median(std::span<const double> v) {
  if (v.empty() || HasNan(v)) return kNan;
  std::vector<double> copy(v.begin(), v.end());
  const size_t k = (copy.size() - 1) / 2;
  auto nth = copy.begin() + static_cast<ptrdiff_t>(k);
  std::nth_element(copy.begin(), nth, copy.end());
  if (copy.size() % 2 == 1) return *nth;
  return Mid(*nth, *std::min_element(nth + 1, copy.end()));
}

double Quantile(std::span<const double> v, double q) {
  // !(0 <= q <= 1) also catches a NaN q.
  if (v.empty() || !(q >= 0 && q <= 1) || HasNan(v)) return kNan;
  std::vector<double> copy(v.begin(), v.end());
  return QuantileInPlace(copy, q);
}

Interval BootstrapMedianCi(std::span<const double> v, uint64_t seed, int resamples,
                           double confidence) {
  if (v.empty() || HasNan(v) || !ValidBootstrapArgs(v.size(), resamples, confidence)) {
    return {kNan, kNan};
  }
  std::vector<double> sorted(v.begin(), v.end());  // [n]
  std::sort(sorted.begin(), sorted.end());
  // Every resample of equal values (one value included) has that value as
  // its median: no need to draw, and drawing would give the same.
  if (sorted.front() == sorted.back()) return {v[0], v[0]};
  const Plan plan = ResamplePlan(seed, {static_cast<uint32_t>(sorted.size())}, resamples);
  std::vector<double> medians(plan->size());  // [resamples]
  for (size_t r = 0; r < medians.size(); ++r) medians[r] = MedianAt(sorted, (*plan)[r]);
  return PercentileInterval(medians, confidence);
}

RatioCi BootstrapMedianRatio(std::span<const double> baseline,
                             std::span<const double> candidate, uint64_t seed,
                             int resamples, double confidence) {
  constexpr RatioCi kNanRatio{kNan, kNan, kNan};
  if (baseline.empty() || candidate.empty() || HasNan(baseline) || HasNan(candidate)) {
    return kNanRatio;
  }
  const size_t larger = std::max(baseline.size(), candidate.size());
  if (!ValidBootstrapArgs(larger, resamples, confidence)) return kNanRatio;
  std::vector<double> base(baseline.begin(), baseline.end());    // [n_baseline]
  std::vector<double> cand(candidate.begin(), candidate.end());  // [n_candidate]
  std::sort(base.begin(), base.end());
  std::sort(cand.begin(), cand.end());
  const auto base_n = static_cast<uint32_t>(base.size());
  const auto cand_n = static_cast<uint32_t>(cand.size());
  const auto middle = [](uint32_t n) { return MiddlePair{(n - 1) / 2, n / 2}; };
  const double base_median = MedianAt(base, middle(base_n));
  if (base_median == 0) return kNanRatio;
  const double ratio = MedianAt(cand, middle(cand_n)) / base_median;
  // Both sides constant: every resample gives the same ratio (see
  // BootstrapMedianCi).
  if (base.front() == base.back() && cand.front() == cand.back())
    return {ratio, ratio, ratio};

  // One stream, baseline first in each resample: the two sides are
  // independent because they use disjoint stretches of it.
  const Plan plan = ResamplePlan(seed, {base_n, cand_n}, resamples);
  std::vector<double> ratios(plan->size() / 2);  // [resamples]
  for (size_t r = 0; r < ratios.size(); ++r) {
    const double b = MedianAt(base, (*plan)[2 * r]);
    const double c = MedianAt(cand, (*plan)[2 * r + 1]);
    // A resample whose baseline median is 0 has no ratio; PercentileInterval
    // then gives NaN bounds rather than an interval that quietly drops it.
    ratios[r] = b == 0 ? kNan : c / b;
  }
  const Interval ci = PercentileInterval(ratios, confidence);
  return {ratio, ci.lo, ci.hi};
}

MannWhitney MannWhitneyU(std::span<const double> a, std::span<const double> b) {
  MannWhitney out;
  if (a.empty() || b.empty()) return out;  // no evidence either way: p = 1
  if (HasNan(a) || HasNan(b)) return {kNan, kNan, kNan, false};

  struct Tagged {
    double x;
    bool from_a;
  };
  std::vector<Tagged> all;  // [n]
  all.reserve(a.size() + b.size());
  for (double x : a) all.push_back({x, true});
  for (double x : b) all.push_back({x, false});
  std::sort(all.begin(), all.end(),
            [](const Tagged& l, const Tagged& r) { return l.x < r.x; });

  // Twice the rank sum of a, with tied values sharing their mean rank: a
  // tie group at 0-based positions [i, i+t) has ranks i+1..i+t, whose mean
  // doubled is 2i+t+1, an integer. Integers keep U exact at any size.
  const size_t n = all.size();
  int64_t twice_rank_sum_a = 0;
  double tie_term = 0;  // sum of t^3 - t over tie groups; double: t^3 may be huge
  for (size_t i = 0; i < n;) {
    size_t j = i;
    int64_t in_a = 0;
    for (; j < n && all[j].x == all[i].x; ++j) in_a += all[j].from_a;
    const auto t = static_cast<int64_t>(j - i);
    twice_rank_sum_a += in_a * (2 * static_cast<int64_t>(i) + t + 1);
    const auto td = static_cast<double>(t);
    tie_term += td * td * td - td;
    i = j;
  }
  const auto na = static_cast<int64_t>(a.size());
  const auto nb = static_cast<int64_t>(b.size());
  const int64_t twice_u = twice_rank_sum_a - na * (na + 1);
  out.u = static_cast<double>(twice_u) / 2;

  if (tie_term == 0 && n <= 30) {
    // counts[k][s]: k-subsets of the ranks 1..r (r growing) with rank sum s.
    // Under the null every na-subset of 1..n is equally likely to be a's
    // ranks, and U = s - na(na+1)/2. C(30,15) < 2^28, so uint64 is exact.
    const size_t max_sum = n * (n + 1) / 2;
    const auto ka = static_cast<size_t>(na);
    std::vector<std::vector<uint64_t>> counts(ka + 1,
                                              std::vector<uint64_t>(max_sum + 1, 0));
    counts[0][0] = 1;
    for (size_t r = 1; r <= n; ++r) {
      for (size_t k = std::min(r, ka); k >= 1; --k) {
        for (size_t s = max_sum; s >= r; --s) counts[k][s] += counts[k - 1][s - r];
      }
    }
    const auto u = static_cast<size_t>(twice_u / 2);
    const size_t offset = ka * (ka + 1) / 2;
    uint64_t at_most = 0;
    uint64_t at_least = 0;
    uint64_t total = 0;
    for (size_t x = 0; x <= static_cast<size_t>(na * nb); ++x) {
      const uint64_t c = counts[ka][x + offset];
      total += c;
      if (x <= u) at_most += c;
      if (x >= u) at_least += c;
    }
    out.p = std::min(1.0, 2 * static_cast<double>(std::min(at_most, at_least)) /
                              static_cast<double>(total));
    out.exact = true;
    return out;
  }

  const double nad = static_cast<double>(na);
  const double nbd = static_cast<double>(nb);
  const double nd = static_cast<double>(n);
  const double mean = nad * nbd / 2;
  const double var = nad * nbd / 12 * ((nd + 1) - tie_term / (nd * (nd - 1)));
  // var is 0 only when every value is the same, and then nothing differs.
  if (!(var > 0)) return out;
  const double diff = out.u - mean;
  const double corrected = std::max(0.0, std::abs(diff) - 0.5);
  out.z = std::copysign(corrected / std::sqrt(var), diff);
  // 2 (1 - Phi(|z|)) through erfc, which stays accurate far in the tail.
  out.p = std::min(1.0, std::erfc(std::abs(out.z) / std::sqrt(2.0)));
  return out;
}

Moments ComputeMoments(std::span<const double> v) {
  Moments m;
  if (v.empty()) {
    m.mean = kNan;
    return m;
  }
  const double n = static_cast<double>(v.size());
  double sum = 0;
  for (double x : v) sum += x;
  double mean = sum / n;
  // Corrected two-pass: the second pass measures deviations from a mean
  // that may be off by rounding, and folds that error back in; a one-pass
  // sum of squares loses everything for values like 1e9 + small.
  double dev_sum = 0;
  double sq_sum = 0;
  for (double x : v) {
    const double d = x - mean;
    dev_sum += d;
    sq_sum += d * d;
  }
  if (std::isfinite(dev_sum)) mean += dev_sum / n;  // inf - inf would poison it
  m.mean = mean;
  if (v.size() < 2) return m;
  const double var = (sq_sum - dev_sum * dev_sum / n) / (n - 1);
  m.sd = std::sqrt(std::max(0.0, var));
  m.cv = mean == 0 ? 0 : m.sd / std::abs(mean);
  return m;
}

}  // namespace edgebench::reporters
