// Tests of the telemetry's parts: parsing, names, CPU lists, the RAPL and
// battery arithmetic.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "runtime/telemetry/internal/power.h"
#include "runtime/telemetry/internal/sysfs.h"

namespace edgebench::runtime::telemetry_internal {
namespace {

TEST(TelemetryInternal, ParseIntAttributesAsSysfsWritesThem) {
  int64_t v = 0;
  ASSERT_TRUE(ParseInt("123\n", &v));
  EXPECT_EQ(v, 123);
  ASSERT_TRUE(ParseInt("-512000\n", &v));
  EXPECT_EQ(v, -512000);
  ASSERT_TRUE(ParseInt("  45000   \n", &v));  // DeviceTree::Rewrite pads this way
  EXPECT_EQ(v, 45000);
  ASSERT_TRUE(ParseInt("+7", &v));
  EXPECT_EQ(v, 7);
  ASSERT_TRUE(ParseInt("262143328850\n", &v));  // max_energy_range_uj: past 32 bits
  EXPECT_EQ(v, 262143328850);
  ASSERT_TRUE(ParseInt("-9223372036854775808", &v));
  EXPECT_EQ(v, INT64_MIN);
  EXPECT_FALSE(ParseInt("9223372036854775808", &v));
  EXPECT_FALSE(ParseInt("", &v));
  EXPECT_FALSE(ParseInt("\n", &v));
  EXPECT_FALSE(ParseInt("-", &v));
  EXPECT_FALSE(ParseInt("Discharging\n", &v));
}

// Copied from Linux 6.18's /proc/<pid>/status and smaps_rollup (the
// machine these tests were written on; the head of each).
constexpr char kStatus[] = R"(Name:	cat
Umask:	0022
State:	R (running)
Tgid:	30253
Ngid:	0
Pid:	30253
PPid:	30251
TracerPid:	0
Uid:	0	0	0	0
Gid:	0	0	0	0
FDSize:	256
Groups:	 
NStgid:	30253
NSpid:	30253
NSpgid:	30251
NSsid:	26732
Kthread:	0
VmPeak:	    3060 kB
VmSize:	    3060 kB
VmLck:	       0 kB
VmPin:	       0 kB
VmHWM:	    1760 kB
VmRSS:	    1760 kB
RssAnon:	     112 kB
RssFile:	    1648 kB
RssShmem:	       0 kB
VmData:	     360 kB
)";
constexpr char kSmapsRollup[] = R"(564e4ca92000-7fff11604000 ---p 00000000 00:00 0                          [rollup]
Rss:                1708 kB
Pss:                 270 kB
Pss_Dirty:           116 kB
Pss_Anon:            116 kB
Pss_File:            154 kB
Pss_Shmem:             0 kB
)";

TEST(TelemetryInternal, FindKeyIntProcStatusAndSmapsRollup) {
  int64_t v = 0;
  ASSERT_TRUE(FindKeyInt(kStatus, "VmRSS:", &v));
  EXPECT_EQ(v, 1760);
  ASSERT_TRUE(FindKeyInt(kStatus, "VmHWM:", &v));
  EXPECT_EQ(v, 1760);
  ASSERT_TRUE(FindKeyInt(kSmapsRollup, "Pss:", &v));
  EXPECT_EQ(v, 270);  // not Pss_Dirty, which comes after
  ASSERT_TRUE(FindKeyInt(kSmapsRollup, "Rss:", &v));
  EXPECT_EQ(v, 1708);
  // Keys only count at the start of a line: "RssAnon:" holds no "VmRSS:".
  EXPECT_FALSE(FindKeyInt("RssAnon:\t112 kB\n", "Anon:", &v));
  EXPECT_FALSE(FindKeyInt(kStatus, "VmSwap:", &v));
}

TEST(TelemetryInternal, SanitizeNameSampleNameComponents) {
  EXPECT_EQ(SanitizeName("VDD_IN"), "vdd_in");
  EXPECT_EQ(SanitizeName("cpu-thermal"), "cpu_thermal");
  EXPECT_EQ(SanitizeName("package-0"), "package_0");
  EXPECT_EQ(SanitizeName("sum of shunt voltages"), "sum_of_shunt_voltages");
  EXPECT_EQ(SanitizeName("--x--y--"), "x_y");
  EXPECT_EQ(SanitizeName("BAT0"), "bat0");
  EXPECT_EQ(SanitizeName("µ"), "");
}

TEST(TelemetryInternal, ParseCpuSetOnlineRangesAndRelatedCpus) {
  EXPECT_EQ(ParseCpuSet("0-3,6\n"), (std::vector<int>{0, 1, 2, 3, 6}));
  EXPECT_EQ(ParseCpuSet("4 5 6\n"), (std::vector<int>{4, 5, 6}));
  EXPECT_EQ(ParseCpuSet("7"), (std::vector<int>{7}));
  EXPECT_EQ(ParseCpuSet("3,1-2,2"), (std::vector<int>{1, 2, 3}));
  EXPECT_TRUE(ParseCpuSet("").empty());
  EXPECT_TRUE(ParseCpuSet("5-2").empty());
}

TEST(TelemetryInternal, NaturalLessNumbersInNames) {
  EXPECT_TRUE(NaturalLess("hwmon2", "hwmon10"));
  EXPECT_FALSE(NaturalLess("hwmon10", "hwmon2"));
  EXPECT_TRUE(NaturalLess("thermal_zone9", "thermal_zone10"));
  EXPECT_TRUE(NaturalLess("intel-rapl:0", "intel-rapl:0:0"));
  EXPECT_TRUE(NaturalLess("intel-rapl:0:1", "intel-rapl:1"));
  EXPECT_FALSE(NaturalLess("a", "a"));
  EXPECT_EQ(TrailingNumber("thermal_zone12"), 12);
  EXPECT_EQ(TrailingNumber("cpu"), -1);
}

TEST(TelemetryInternal, RaplDeltaUjUnwrapsOnceAtTheRange) {
  constexpr uint64_t kRange = 262143328850;
  EXPECT_EQ(RaplDeltaUj(1000, 1600, kRange), 600u);
  // 400000 µJ up to the top of the range, then 200000 from zero.
  EXPECT_EQ(RaplDeltaUj(kRange - 400000, 200000, kRange), 600000u);
  EXPECT_EQ(RaplDeltaUj(kRange, 0, kRange), 0u);
  // No range known: a counter that went down gives nothing, not a guess.
  EXPECT_EQ(RaplDeltaUj(5000, 100, 0), 0u);
  EXPECT_EQ(RaplDeltaUj(kRange + 10, 100, kRange), 0u);
}

TEST(TelemetryInternal, TrapezoidJMeanPowerTimesTime) {
  EXPECT_DOUBLE_EQ(TrapezoidJ(2.0, 4.0, 20'000'000), 0.06);
  EXPECT_DOUBLE_EQ(TrapezoidJ(3.0, 3.0, 1'000'000'000), 3.0);
}

TEST(TelemetryInternal, BatteryPowerWDirectionFromStatusElseTheAbiSign) {
  const double nan = std::nan("");
  using S = BatteryStatus;
  // Pixel-style (ABI): negative current while discharging.
  EXPECT_DOUBLE_EQ(BatteryPowerW(S::kDischarging, -0.5, 4.0, nan), 2.0);
  // Gauges that count discharge as positive still draw power.
  EXPECT_DOUBLE_EQ(BatteryPowerW(S::kDischarging, 0.5, 4.0, nan), 2.0);
  EXPECT_DOUBLE_EQ(BatteryPowerW(S::kCharging, 1.5, 4.2, nan), -6.3);
  EXPECT_DOUBLE_EQ(BatteryPowerW(S::kCharging, -1.5, 4.2, nan), -6.3);
  // Full / Not charging / Unknown: the documented sign decides.
  EXPECT_DOUBLE_EQ(BatteryPowerW(S::kFull, -0.1, 4.0, nan), 0.4);
  EXPECT_DOUBLE_EQ(BatteryPowerW(S::kNotCharging, 0.1, 4.0, nan), -0.4);
  EXPECT_DOUBLE_EQ(BatteryPowerW(S::kUnknown, 0.0, 4.0, nan), 0.0);
  EXPECT_FALSE(std::signbit(BatteryPowerW(S::kCharging, 0.0, 4.0, nan)));
  // power_now: no documented sign; the status's, else drawn.
  EXPECT_DOUBLE_EQ(BatteryPowerW(S::kDischarging, nan, nan, 8.5), 8.5);
  EXPECT_DOUBLE_EQ(BatteryPowerW(S::kCharging, nan, nan, 8.5), -8.5);
  EXPECT_DOUBLE_EQ(BatteryPowerW(S::kUnknown, nan, nan, 8.5), 8.5);

  EXPECT_EQ(ParseBatteryStatus("Discharging\n"), S::kDischarging);
  EXPECT_EQ(ParseBatteryStatus("Charging\n"), S::kCharging);
  EXPECT_EQ(ParseBatteryStatus("Not charging\n"), S::kNotCharging);
  EXPECT_EQ(ParseBatteryStatus("Full\n"), S::kFull);
  EXPECT_EQ(ParseBatteryStatus("Unknown\n"), S::kUnknown);
  EXPECT_EQ(ParseBatteryStatus(""), S::kUnknown);
}

}  // namespace
}  // namespace edgebench::runtime::telemetry_internal
