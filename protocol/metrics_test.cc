#include "protocol/metrics.h"

#include <cctype>
#include <set>
#include <string>
#include <utility>

#include <gtest/gtest.h>

namespace edgebench::protocol {
namespace {

TEST(MetricFields, NamesAreUniqueSqlIdentifiers) {
  std::set<std::string_view> seen;
  for (const MetricField& f : MetricFields()) {
    EXPECT_TRUE(seen.insert(f.name).second) << f.name;
    ASSERT_FALSE(f.name.empty());
    EXPECT_TRUE(std::islower(static_cast<unsigned char>(f.name[0]))) << f.name;
    for (char c : f.name)
      EXPECT_TRUE(std::islower(static_cast<unsigned char>(c)) ||
                  std::isdigit(static_cast<unsigned char>(c)) || c == '_')
          << f.name;
    EXPECT_FALSE(f.description.empty()) << f.name;
  }
}

TEST(MetricFields, DesignMetricsArePresentWithDirection) {
  // DESIGN.md "Metrics": throughput is better higher, latency lower.
  ASSERT_NE(FindMetricField("decode_tps"), nullptr);
  EXPECT_EQ(FindMetricField("decode_tps")->better, Better::kHigher);
  EXPECT_EQ(FindMetricField("prefill_tps")->better, Better::kHigher);
  EXPECT_EQ(FindMetricField("ttft_ms")->better, Better::kLower);
  EXPECT_EQ(FindMetricField("load_ms")->scope, Scope::kRun);
  EXPECT_EQ(FindMetricField("itl_p99_ms")->unit, "ms");
  EXPECT_EQ(FindMetricField("no_such_metric"), nullptr);
}

TEST(MetricFields, UnitSuffixMatchesUnit) {
  const std::pair<std::string_view, std::string_view> kSuffixUnits[] = {
      {"_ms", "ms"}, {"_tps", "tok/s"}, {"_mb", "MiB"}, {"_j", "J"},
      {"_w", "W"},   {"_c", "C"},       {"_pct", "%"}, {"_per_tok", "mJ/tok"}};
  for (const MetricField& f : MetricFields()) {
    for (const auto& [suffix, unit] : kSuffixUnits) {
      if (f.name.size() >= suffix.size() &&
          f.name.substr(f.name.size() - suffix.size()) == suffix) {
        EXPECT_EQ(f.unit, unit) << f.name;
      }
    }
  }
}

}  // namespace
}  // namespace edgebench::protocol
