// Telemetry on prepared sysfs/procfs trees shaped like real devices.
//
// Where the layouts come from:
//   power_supply  Documentation/ABI/testing/sysfs-class-power (current_now
//                 µA, voltage_now µV, power_now µW; negative current for
//                 discharging since 5.10, commit 05f94eb98907, whose message
//                 says gauges use all three conventions); Samsung's
//                 sec_battery driver (current_now in mA, batt_current_ua_now
//                 in µA).
//   hwmon         Documentation/hwmon/sysfs-interface.rst (in* mV, curr* mA,
//                 power* µW) and hwmon/ina3221.rst (in[123]_label, bus
//                 voltage in[123]_input mV, curr[123]_input mA, shunt
//                 voltage in[456]_input µV, in7 "sum of shunt voltages",
//                 curr4 the sum); Jetson rail names as in energymon's
//                 JetsonPowerRails.md and alumet's Jetson plugin (Xavier NX /
//                 Orin NX: VDD_IN, VDD_CPU_GPU_CV, VDD_SOC at
//                 /sys/bus/i2c/drivers/ina3221/*-0040/hwmon/hwmon*).
//   Raspberry Pi 5 hwmon: cpu_thermal (temp1), rp1_adc (in1-4, temp1),
//                 rpi_volt (in0_lcrit_alarm only: the under-voltage flag),
//                 pwmfan (fan1, pwm1). The PMIC's rails are read only by
//                 `vcgencmd pmic_read_adc` through the firmware: no power in
//                 sysfs.
//   RAPL          powercap: /sys/class/powercap/intel-rapl:N (package-N,
//                 psys), intel-rapl:N:M subzones (core, uncore, dram),
//                 energy_uj up to max_energy_range_uj.
//   procfs        /proc/<pid>/status, smaps_rollup, meminfo copied from
//                 Linux 6.18.
#include "runtime/telemetry/telemetry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "protocol/rep_metrics.h"
#include "runtime/telemetry/internal/clock.h"
#include "runtime/telemetry/testing/device_tree.h"

namespace edgebench::runtime {
namespace {

using protocol::Sample;
using testing::DeviceTree;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// ---------------------------------------------------------------------------
// Device tables

struct Policy {
  std::vector<int> cpus;
  int64_t max_khz;
  int64_t cur_khz;
  int64_t base_khz = 0;  // intel_pstate's base_frequency; 0: none
};

// cpufreq as ARM kernels lay it out: cpufreq/policyN holds the attributes,
// cpuK/cpufreq links to it.
void AddCpufreq(DeviceTree& t, const std::string& online,
                const std::vector<Policy>& policies) {
  const std::string cpu = "sys/devices/system/cpu";
  t.Files(cpu, {{"online", online}, {"possible", online}});
  for (const Policy& p : policies) {
    std::string related;
    for (const int c : p.cpus)
      related += (related.empty() ? "" : " ") + std::to_string(c);
    const std::string pol = cpu + "/cpufreq/policy" + std::to_string(p.cpus.front());
    t.Files(pol, {{"cpuinfo_max_freq", std::to_string(p.max_khz)},
                  {"cpuinfo_min_freq", "300000"},
                  {"scaling_cur_freq", std::to_string(p.cur_khz)},
                  {"scaling_governor", "schedutil"},
                  {"related_cpus", related},
                  {"affected_cpus", related}});
    if (p.base_khz) t.Files(pol, {{"base_frequency", std::to_string(p.base_khz)}});
    for (const int c : p.cpus) {
      t.Files(cpu + "/cpu" + std::to_string(c), {{"online", "1"}});
      t.Link(cpu + "/cpu" + std::to_string(c) + "/cpufreq",
             "../cpufreq/policy" + std::to_string(p.cpus.front()));
    }
  }
}

// Snapdragon-style three clusters: 4 x 1.8 GHz, 3 x 2.4 GHz, 1 x 3.0 GHz.
void AddSnapdragonCpufreq(DeviceTree& t) {
  AddCpufreq(t, "0-7",
             {{{0, 1, 2, 3}, 1804800, 1209600},
              {{4, 5, 6}, 2419200, 2016000},
              {{7}, 3014400, 2841600}});
}

constexpr char kReadError[] = "<read error>";

struct Zone {
  std::string type;
  std::string temp;  // m°C; kReadError: the read fails (EISDIR)
};

// /sys/class/thermal/thermal_zoneN -> ../../devices/virtual/thermal/...
void AddThermal(DeviceTree& t, const std::vector<Zone>& zones) {
  for (size_t i = 0; i < zones.size(); ++i) {
    const std::string z = "thermal_zone" + std::to_string(i);
    const std::string dev = "sys/devices/virtual/thermal/" + z;
    t.Files(dev, {{"type", zones[i].type}, {"mode", "enabled"}, {"policy", "step_wise"}});
    if (zones[i].temp == kReadError)
      t.Dir(dev + "/temp");
    else
      t.Files(dev, {{"temp", zones[i].temp}});
    t.Link("sys/class/thermal/" + z, "../../devices/virtual/thermal/" + z);
  }
}

constexpr char kBattery[] = "sys/class/power_supply/battery";

// A Pixel's power_supply: the fuel gauge as "battery" (µA, negative while
// discharging), plus the charger inputs, which are not batteries.
void AddPixelBattery(DeviceTree& t, const std::string& status,
                     const std::string& current_ua, const std::string& voltage_uv) {
  const std::string dev = "sys/devices/platform/google,battery/power_supply/battery";
  t.Files(dev, {{"type", "Battery"},
                {"status", status},
                {"present", "1"},
                {"capacity", "78"},
                {"current_now", current_ua},
                {"current_avg", current_ua},
                {"voltage_now", voltage_uv},
                {"voltage_ocv", "4012000"},
                {"charge_counter", "3518000"},
                {"temp", "285"},
                {"health", "Good"},
                {"technology", "Li-ion"}});
  t.Link(kBattery, "../../devices/platform/google,battery/power_supply/battery");
  t.Files("sys/class/power_supply/usb",
          {{"type", "USB"}, {"online", "0"}, {"current_max", "0"}, {"voltage_now", "0"}});
  t.Files("sys/class/power_supply/wireless", {{"type", "Wireless"}, {"online", "0"}});
  t.Files("sys/class/power_supply/dc", {{"type", "Mains"}, {"online", "0"}});
}

// A Jetson Orin NX / Xavier NX INA3221 with the upstream driver, as newer
// Jetson Linux has it: the device under the i2c bus, reachable from
// class/hwmon and from the driver's folder.
void AddJetsonIna3221(DeviceTree& t) {
  const std::string dev = "sys/devices/platform/bus@0/c240000.i2c/i2c-1/1-0040";
  const std::string hw = dev + "/hwmon/hwmon1";
  t.Files(hw, {{"name", "ina3221"},
               {"in1_label", "VDD_IN"},
               {"in2_label", "VDD_CPU_GPU_CV"},
               {"in3_label", "VDD_SOC"},
               {"in7_label", "sum of shunt voltages"},
               {"in1_enable", "1"},
               {"in2_enable", "1"},
               {"in3_enable", "1"},
               {"in1_input", "5080"},  // bus voltage, mV
               {"in2_input", "5072"},
               {"in3_input", "5064"},
               {"curr1_input", "1840"},  // mA
               {"curr2_input", "420"},
               {"curr3_input", "760"},
               {"in4_input", "9200"},  // shunt voltage, µV: must not pair with curr4
               {"in5_input", "2100"},
               {"in6_input", "3800"},
               {"in7_input", "15100"},
               {"curr4_input", "3020"},  // sum of the channels
               {"curr1_crit", "5000"},
               {"curr1_max", "4000"},
               {"shunt1_resistor", "5000"},
               {"samples", "512"},
               {"update_interval", "8"}});
  t.Link("sys/class/hwmon/hwmon1",
         "../../devices/platform/bus@0/c240000.i2c/i2c-1/1-0040/hwmon/hwmon1");
  t.Link("sys/bus/i2c/drivers/ina3221/1-0040",
         "../../../../devices/platform/bus@0/c240000.i2c/i2c-1/1-0040");
  t.Files("sys/class/hwmon/hwmon0", {{"name", "soctherm"}, {"temp1_input", "48500"}});
}

void AddRapl(DeviceTree& t, uint64_t package_uj, uint64_t core_uj) {
  const std::string pc = "sys/devices/virtual/powercap/intel-rapl";
  const std::string range = "262143328850";
  t.Files(pc, {{"enabled", "1"}});
  t.Files(pc + "/intel-rapl:0", {{"name", "package-0"},
                                 {"energy_uj", std::to_string(package_uj)},
                                 {"max_energy_range_uj", range},
                                 {"enabled", "1"}});
  t.Files(pc + "/intel-rapl:0/intel-rapl:0:0", {{"name", "core"},
                                                {"energy_uj", std::to_string(core_uj)},
                                                {"max_energy_range_uj", range}});
  t.Files(pc + "/intel-rapl:0/intel-rapl:0:1",
          {{"name", "uncore"}, {"energy_uj", "1000"}, {"max_energy_range_uj", range}});
  t.Files(pc + "/intel-rapl:1",
          {{"name", "psys"}, {"energy_uj", "5000"}, {"max_energy_range_uj", range}});
  t.Link("sys/class/powercap/intel-rapl", "../../devices/virtual/powercap/intel-rapl");
  t.Link("sys/class/powercap/intel-rapl:0",
         "../../devices/virtual/powercap/intel-rapl/intel-rapl:0");
  t.Link("sys/class/powercap/intel-rapl:0:0",
         "../../devices/virtual/powercap/intel-rapl/intel-rapl:0/intel-rapl:0:0");
  t.Link("sys/class/powercap/intel-rapl:0:1",
         "../../devices/virtual/powercap/intel-rapl/intel-rapl:0/intel-rapl:0:1");
  t.Link("sys/class/powercap/intel-rapl:1",
         "../../devices/virtual/powercap/intel-rapl/intel-rapl:1");
  // The same package through MMIO: must not be counted twice.
  t.Files("sys/class/powercap/intel-rapl-mmio:0",
          {{"name", "package-0"}, {"energy_uj", "77"}, {"max_energy_range_uj", range}});
}

// The formats of Linux 6.18 (the machine these tests were written on);
// the numbers are a 1.1B model's process. status separates with a tab.
constexpr char kStatusText[] = R"(Name:	edgebench-rt
Umask:	0022
State:	S (sleeping)
Tgid:	4242
Ngid:	0
Pid:	4242
PPid:	4200
TracerPid:	0
Uid:	2000	2000	2000	2000
Gid:	2000	2000	2000	2000
FDSize:	64
Groups:	 
NStgid:	4242
NSpid:	4242
NSpgid:	4200
NSsid:	4200
Kthread:	0
VmPeak:	 1402220 kB
VmSize:	 1398120 kB
VmLck:	       0 kB
VmPin:	       0 kB
VmHWM:	  912344 kB
VmRSS:	  880120 kB
RssAnon:	  871000 kB
RssFile:	    9120 kB
RssShmem:	       0 kB
VmData:	  980000 kB
VmStk:	     132 kB
VmExe:	    2100 kB
VmLib:	       8 kB
VmPTE:	    1800 kB
VmSwap:	       0 kB
HugetlbPages:	       0 kB
CoreDumping:	0
THP_enabled:	1
Threads:	9
SigQ:	0/96365
Cpus_allowed_list:	0-7
voluntary_ctxt_switches:	120
nonvoluntary_ctxt_switches:	7
)";
constexpr char kSmapsRollupText[] = R"(5600c0de0000-7fff11604000 ---p 00000000 00:00 0                          [rollup]
Rss:              880120 kB
Pss:              874500 kB
Pss_Dirty:        871000 kB
Pss_Anon:         871000 kB
Pss_File:           3500 kB
Pss_Shmem:             0 kB
Shared_Clean:       5620 kB
Shared_Dirty:          0 kB
Private_Clean:      3500 kB
Private_Dirty:    871000 kB
Referenced:       880120 kB
Anonymous:        871000 kB
KSM:                   0 kB
LazyFree:              0 kB
AnonHugePages:         0 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
Swap:                  0 kB
SwapPss:               0 kB
Locked:                0 kB
)";
constexpr char kMeminfoText[] = R"(MemTotal:       24683620 kB
MemFree:        21604652 kB
MemAvailable:   23498436 kB
Buffers:           14424 kB
Cached:          1859704 kB
SwapCached:            0 kB
)";

void AddProcess(DeviceTree& t, const std::string& pid_dir) {
  t.Text("proc/" + pid_dir + "/status", kStatusText);
  t.Text("proc/" + pid_dir + "/smaps_rollup", kSmapsRollupText);
}

// ---------------------------------------------------------------------------
// Helpers

std::unique_ptr<Telemetry> Make(const protocol::TelemetrySpec& spec) {
  auto t = Telemetry::Create(spec);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? std::move(*t) : nullptr;
}

// The value named `name` in the sample, NaN when absent.
double Value(const Sample& s, const std::string& name) {
  for (const auto& [k, v] : s.values)
    if (k == name) return v;
  return NAN;
}

bool Has(const Sample& s, const std::string& name) { return !std::isnan(Value(s, name)); }

std::vector<std::string> Names(const Sample& s) {
  std::vector<std::string> n;
  for (const auto& [k, v] : s.values) n.push_back(k);
  return n;
}

// A sample clock the test advances by hand: exact energy integrals.
std::atomic<int64_t> g_now_ns{0};
int64_t FakeNow() { return g_now_ns.load(); }

class FakeClock {
 public:
  explicit FakeClock(int64_t start_ns) {
    g_now_ns = start_ns;
    telemetry_internal::SetSampleClockForTesting(&FakeNow);
  }
  ~FakeClock() { telemetry_internal::SetSampleClockForTesting(nullptr); }
  void Advance(int64_t ns) { g_now_ns += ns; }
};

constexpr int64_t kMs = 1'000'000;

// Off under qemu (EDGEBENCH_TELEMETRY_NO_TIMING): emulated reads cost many
// times a device's, which says nothing about the device. Off with
// AddressSanitizer too: its shadow mappings make smaps_rollup of the test
// process alone cost ~1 ms.
bool TimingEnabled() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return false;
#else
  return std::getenv("EDGEBENCH_TELEMETRY_NO_TIMING") == nullptr;
#endif
}

// ---------------------------------------------------------------------------
// Batteries

TEST(TelemetryPowerSupply, PixelDischargingIsThePrimaryEnergy) {
  DeviceTree t;
  AddPixelBattery(t, "Discharging", "-500000", "4000000");  // 0.5 A at 4.0 V
  FakeClock clock(1'000'000 * kMs);
  auto tel = Make(t.Spec());
  const nlohmann::json d = tel->Describe();
  EXPECT_EQ(d["sources"]["power_supply"], "present");
  EXPECT_EQ(d["primary_energy"], "power_supply:battery");
  ASSERT_EQ(d["power"].size(), 1u);  // usb, wireless, dc are not batteries
  EXPECT_EQ(
      d["power"][0]["units"].get<std::string>().rfind("current_now µA (kernel ABI)", 0),
      0u);
  EXPECT_EQ(d["power"][0]["status_at_start"], "Discharging");

  const Sample s0 = tel->SampleNow();
  EXPECT_DOUBLE_EQ(Value(s0, "power.battery_w"), 2.0);
  EXPECT_DOUBLE_EQ(Value(s0, "energy.battery_j"), 0.0);
  EXPECT_DOUBLE_EQ(Value(s0, "energy.primary_j"), 0.0);
  clock.Advance(20 * kMs);
  t.Rewrite(std::string(kBattery) + "/current_now", "-1000000");  // 4 W
  const Sample s1 = tel->SampleNow();
  EXPECT_DOUBLE_EQ(Value(s1, "power.battery_w"), 4.0);
  EXPECT_DOUBLE_EQ(Value(s1, "energy.battery_j"), 0.06);  // (2 + 4) / 2 W * 20 ms
  EXPECT_DOUBLE_EQ(Value(s1, "energy.primary_j"), 0.06);
}

TEST(TelemetryPowerSupply, ChargingGivesNegativePowerAndANote) {
  DeviceTree t;
  AddPixelBattery(t, "Charging", "1500000", "4200000");
  FakeClock clock(5 * kMs);
  auto tel = Make(t.Spec());
  const nlohmann::json d = tel->Describe();
  EXPECT_EQ(d["primary_energy"], "power_supply:battery");  // kept, with a warning
  EXPECT_THAT(d["primary_note"].get<std::string>(), HasSubstr("\"Charging\" at start"));
  const Sample s0 = tel->SampleNow();
  EXPECT_DOUBLE_EQ(Value(s0, "power.battery_w"), -6.3);
  clock.Advance(100 * kMs);
  const Sample s1 = tel->SampleNow();
  EXPECT_NEAR(Value(s1, "energy.primary_j"), -0.63, 1e-12);
}

TEST(TelemetryPowerSupply, GaugeThatCountsDischargeAsPositive) {
  // One of the three conventions the kernel commit lists: status decides.
  DeviceTree t;
  AddPixelBattery(t, "Discharging", "500000", "4000000");
  auto tel = Make(t.Spec({"power_supply"}));
  EXPECT_DOUBLE_EQ(Value(tel->SampleNow(), "power.battery_w"), 2.0);
  // Status changes during the run are followed sample by sample.
  t.Rewrite(std::string(kBattery) + "/status", "Charging");
  EXPECT_DOUBLE_EQ(Value(tel->SampleNow(), "power.battery_w"), -2.0);
}

TEST(TelemetryPowerSupply, SamsungReportsMilliampsAndMicroampsBesideThem) {
  DeviceTree t;
  t.Files("sys/class/power_supply/battery", {{"type", "Battery"},
                                             {"status", "Discharging"},
                                             {"present", "1"},
                                             {"current_now", "-512"},  // mA
                                             {"current_avg", "-498"},
                                             {"batt_current_ua_now", "-512000"},
                                             {"batt_current_ua_avg", "-498000"},
                                             {"voltage_now", "3987000"},
                                             {"batt_temp", "291"}});
  auto tel = Make(t.Spec({"power_supply"}));
  EXPECT_DOUBLE_EQ(Value(tel->SampleNow(), "power.battery_w"), 0.512 * 3.987);
  EXPECT_THAT(tel->Describe()["power"][0]["units"].get<std::string>(),
              HasSubstr("batt_current_ua_now µA (Samsung"));
}

TEST(TelemetryPowerSupply, MillivoltDriverIsReadInMilliunits) {
  DeviceTree t;
  t.Files("sys/class/power_supply/battery", {{"type", "Battery"},
                                             {"status", "Discharging"},
                                             {"current_now", "-512"},
                                             {"voltage_now", "3987"}});
  auto tel = Make(t.Spec({"power_supply"}));
  EXPECT_DOUBLE_EQ(Value(tel->SampleNow(), "power.battery_w"), 0.512 * 3.987);
  EXPECT_THAT(tel->Describe()["power"][0]["units"].get<std::string>(),
              HasSubstr("voltage_now mV (it read 3987)"));
}

TEST(TelemetryPowerSupply, LaptopPowerNowAndPeripheralBatteries) {
  DeviceTree t;
  t.Files("sys/class/power_supply/BAT0", {{"type", "Battery"},
                                          {"status", "Discharging"},
                                          {"present", "1"},
                                          {"power_now", "8500000"},  // µW
                                          {"voltage_now", "11800000"},
                                          {"energy_now", "41000000"}});
  t.Files("sys/class/power_supply/AC", {{"type", "Mains"}, {"online", "0"}});
  // A Bluetooth mouse: scope Device, never the device under test.
  t.Files("sys/class/power_supply/hid-00:11:22:33:44:55-battery",
          {{"type", "Battery"},
           {"scope", "Device"},
           {"status", "Discharging"},
           {"capacity", "60"}});
  auto tel = Make(t.Spec());
  const nlohmann::json d = tel->Describe();
  EXPECT_EQ(d["primary_energy"], "power_supply:BAT0");
  ASSERT_EQ(d["power"].size(), 1u);
  EXPECT_DOUBLE_EQ(Value(tel->SampleNow(), "power.bat0_w"), 8.5);
}

// ---------------------------------------------------------------------------
// hwmon

TEST(TelemetryHwmon, JetsonOrinIna3221RailsWithVddInPrimary) {
  DeviceTree t;
  AddJetsonIna3221(t);
  auto tel = Make(t.Spec());
  const nlohmann::json d = tel->Describe();
  EXPECT_EQ(d["sources"]["hwmon"], "present");
  EXPECT_EQ(d["sources"]["power_supply"], "absent");
  EXPECT_EQ(d["primary_energy"], "hwmon:ina3221/hwmon1:VDD_IN");
  // Three labelled rails, found once although reachable by two paths;
  // in4-in7 / curr4 (shunt voltages, sums) are no rails.
  ASSERT_EQ(d["power"].size(), 3u);
  const Sample s = tel->SampleNow();
  EXPECT_THAT(Names(s),
              ElementsAre("power.vdd_in_w", "energy.vdd_in_j", "power.vdd_cpu_gpu_cv_w",
                          "energy.vdd_cpu_gpu_cv_j", "power.vdd_soc_w",
                          "energy.vdd_soc_j", "energy.primary_j"));
  EXPECT_DOUBLE_EQ(Value(s, "power.vdd_in_w"), 1.840 * 5.080);
  EXPECT_DOUBLE_EQ(Value(s, "power.vdd_cpu_gpu_cv_w"), 0.420 * 5.072);
  EXPECT_DOUBLE_EQ(Value(s, "power.vdd_soc_w"), 0.760 * 5.064);
}

TEST(TelemetryHwmon, AgxOrinHasNoWholeInputRail) {
  // AGX Orin: VDD_GPU_SOC, VDD_CPU_CV, VIN_SYS_5V0 and a second chip with
  // unconnected channels; none is the whole module, so no primary.
  DeviceTree t;
  t.Files("sys/class/hwmon/hwmon1", {{"name", "ina3221"},
                                     {"in1_label", "VDD_GPU_SOC"},
                                     {"in2_label", "VDD_CPU_CV"},
                                     {"in3_label", "VIN_SYS_5V0"},
                                     {"in1_input", "5000"},
                                     {"in2_input", "5000"},
                                     {"in3_input", "5000"},
                                     {"curr1_input", "1000"},
                                     {"curr2_input", "600"},
                                     {"curr3_input", "900"}});
  t.Files("sys/class/hwmon/hwmon2", {{"name", "ina3221"},
                                     {"in1_label", "NC"},
                                     {"in2_label", "VDDQ_VDD2_1V8AO"},
                                     {"in3_label", "NC"},
                                     {"in1_input", "0"},
                                     {"in2_input", "1800"},
                                     {"in3_input", "0"},
                                     {"curr1_input", "0"},
                                     {"curr2_input", "300"},
                                     {"curr3_input", "0"}});
  auto tel = Make(t.Spec());
  const nlohmann::json d = tel->Describe();
  EXPECT_TRUE(d["primary_energy"].is_null());
  EXPECT_EQ(d["power"].size(), 4u);  // the two "NC" channels are skipped
  const Sample s = tel->SampleNow();
  EXPECT_DOUBLE_EQ(Value(s, "power.vin_sys_5v0_w"), 4.5);
  EXPECT_DOUBLE_EQ(Value(s, "power.vddq_vdd2_1v8ao_w"), 0.54);
  EXPECT_FALSE(Has(s, "energy.primary_j"));
}

TEST(TelemetryHwmon, PowerInputInMicrowatts) {
  DeviceTree t;
  t.Files("sys/class/hwmon/hwmon3", {{"name", "ina226"},
                                     {"power1_input", "6250000"},
                                     {"in0_input", "12"},  // shunt, mV
                                     {"in1_input", "5000"},
                                     {"curr1_input", "1250"}});
  auto tel = Make(t.Spec({"hwmon"}));
  const Sample s = tel->SampleNow();
  // power1 is read; curr1 x in1 is not added as a second rail.
  EXPECT_THAT(Names(s), ElementsAre("power.power1_w", "energy.power1_j"));
  EXPECT_DOUBLE_EQ(Value(s, "power.power1_w"), 6.25);
}

TEST(TelemetryHwmon, RaspberryPi5ExposesNoPower) {
  DeviceTree t;
  t.Files("sys/class/hwmon/hwmon0", {{"name", "cpu_thermal"}, {"temp1_input", "52300"}});
  t.Files("sys/class/hwmon/hwmon1", {{"name", "rp1_adc"},
                                     {"in1_input", "1460"},
                                     {"in2_input", "1461"},
                                     {"in3_input", "1320"},
                                     {"in4_input", "1344"},
                                     {"temp1_input", "55200"}});
  t.Files("sys/class/hwmon/hwmon2", {{"name", "rpi_volt"}, {"in0_lcrit_alarm", "0"}});
  t.Files("sys/class/hwmon/hwmon3",
          {{"name", "pwmfan"}, {"fan1_input", "2900"}, {"pwm1", "75"}});
  AddThermal(t, {{"cpu-thermal", "52300"}});
  AddCpufreq(t, "0-3", {{{0, 1, 2, 3}, 2400000, 1500000}});
  auto tel = Make(t.Spec());
  const nlohmann::json d = tel->Describe();
  EXPECT_EQ(d["sources"]["hwmon"], "absent");
  EXPECT_EQ(d["sources"]["power_supply"], "absent");
  EXPECT_EQ(d["sources"]["rapl"], "absent");
  EXPECT_TRUE(d["primary_energy"].is_null());
  EXPECT_TRUE(d["power"].empty());
  EXPECT_THAT(d["notes"]["hwmon"].get<std::string>(),
              HasSubstr("in: cpu_thermal rp1_adc rpi_volt pwmfan"));
  const Sample s = tel->SampleNow();
  EXPECT_THAT(Names(s), ElementsAre("freq.cluster0_khz", "temp.cpu_thermal_c"));
  EXPECT_TRUE(std::isnan(tel->MeasureIdlePowerW(5)));
}

// ---------------------------------------------------------------------------
// RAPL

TEST(TelemetryRapl, WrapsAroundMidRun) {
  constexpr uint64_t kRange = 262143328850;
  DeviceTree t;
  AddRapl(t, kRange - 1'000'000, 50'000);
  t.Files("sys/class/power_supply/BAT0",
          {{"type", "Battery"}, {"status", "Discharging"}, {"power_now", "9000000"}});
  FakeClock clock(7'000 * kMs);
  auto tel = Make(t.Spec());
  const nlohmann::json d = tel->Describe();
  EXPECT_EQ(d["primary_energy"], "rapl:package-0");  // before the battery
  // package-0, core, uncore, psys, BAT0; not intel-rapl-mmio.
  EXPECT_EQ(d["power"].size(), 5u);
  const std::string pkg = "sys/class/powercap/intel-rapl:0/energy_uj";
  const std::string core = "sys/class/powercap/intel-rapl:0:0/energy_uj";

  const Sample s0 = tel->SampleNow();
  EXPECT_DOUBLE_EQ(Value(s0, "energy.package_0_j"), 0.0);
  EXPECT_FALSE(Has(s0, "power.package_0_w"));  // no interval yet: absent, not 0
  EXPECT_DOUBLE_EQ(Value(s0, "energy.primary_j"), 0.0);

  const uint64_t steps[] = {kRange - 400'000, 200'000, 800'000};  // wraps at the 2nd
  double expect_j = 0;
  uint64_t prev = kRange - 1'000'000;
  for (const uint64_t uj : steps) {
    clock.Advance(20 * kMs);
    t.Rewrite(pkg, std::to_string(uj));
    t.Rewrite(core, "50000");
    const Sample s = tel->SampleNow();
    const uint64_t delta = uj >= prev ? uj - prev : kRange - prev + uj;
    expect_j += static_cast<double>(delta) / 1e6;
    prev = uj;
    EXPECT_NEAR(Value(s, "energy.package_0_j"), expect_j, 1e-9);
    EXPECT_NEAR(Value(s, "energy.primary_j"), expect_j, 1e-9);
    EXPECT_NEAR(Value(s, "power.package_0_w"), 30.0, 1e-9);  // 0.6 J in 20 ms
    EXPECT_DOUBLE_EQ(Value(s, "power.package_0_core_w"), 0.0);
  }
  EXPECT_NEAR(expect_j, 1.8, 1e-12);
}

TEST(TelemetryRapl, UnreadableCounterIsAbsent) {
  // As for a user since Linux 5.10 (energy_uj 0400): here a folder in its
  // place makes the read fail, since the tests may run as root.
  DeviceTree t;
  t.Files("sys/class/powercap/intel-rapl:0",
          {{"name", "package-0"}, {"max_energy_range_uj", "262143328850"}});
  t.Dir("sys/class/powercap/intel-rapl:0/energy_uj");
  auto tel = Make(t.Spec());
  const nlohmann::json d = tel->Describe();
  EXPECT_EQ(d["sources"]["rapl"], "absent");
  EXPECT_EQ(d["power"][0]["state"], "absent");
  EXPECT_TRUE(d["primary_energy"].is_null());
}

// ---------------------------------------------------------------------------
// cpufreq

TEST(TelemetryCpufreq, SnapdragonThreeClusters) {
  DeviceTree t;
  AddSnapdragonCpufreq(t);
  auto tel = Make(t.Spec());
  const nlohmann::json d = tel->Describe();
  ASSERT_EQ(d["clusters"].size(), 3u);
  EXPECT_EQ(d["clusters"][0]["cpus"], nlohmann::json({0, 1, 2, 3}));
  EXPECT_EQ(d["clusters"][1]["cpus"], nlohmann::json({4, 5, 6}));
  EXPECT_EQ(d["clusters"][2]["cpus"], nlohmann::json({7}));
  EXPECT_EQ(d["clusters"][2]["max_khz"], 3014400);
  const Sample s = tel->SampleNow();
  EXPECT_THAT(Names(s),
              ElementsAre("freq.cluster0_khz", "freq.cluster1_khz", "freq.cluster2_khz"));
  EXPECT_DOUBLE_EQ(Value(s, "freq.cluster1_khz"), 2016000);
  t.Rewrite("sys/devices/system/cpu/cpufreq/policy7/scaling_cur_freq", "1996800");
  EXPECT_DOUBLE_EQ(Value(tel->SampleNow(), "freq.cluster2_khz"), 1996800);

  // big: the performance cluster and the prime core, not the prime alone.
  EXPECT_THAT(*ClusterCores(t.Path("sys"), true), ElementsAre(4, 5, 6, 7));
  EXPECT_THAT(*ClusterCores(t.Path("sys"), false), ElementsAre(0, 1, 2, 3));
}

TEST(TelemetryCpufreq, OfflineCoreBelongsToNoCluster) {
  DeviceTree t;
  AddCpufreq(t, "0-3,5", {{{0, 1, 2, 3}, 1800000, 1800000}, {{4, 5}, 2400000, 2400000}});
  EXPECT_THAT(*ClusterCores(t.Path("sys"), true), ElementsAre(5));
}

TEST(TelemetryCpufreq, IntelHybridFavouredCoresStayWithTheirPCores) {
  // Per-core policies; favoured P-cores boost higher but share the base.
  DeviceTree t;
  AddCpufreq(t, "0-7",
             {{{0}, 4900000, 4700000, 2100000},
              {{1}, 4900000, 800000, 2100000},
              {{2}, 4700000, 800000, 2100000},
              {{3}, 4700000, 800000, 2100000},
              {{4}, 3800000, 3600000, 1500000},
              {{5}, 3800000, 800000, 1500000},
              {{6}, 3800000, 800000, 1500000},
              {{7}, 3800000, 800000, 1500000}});
  EXPECT_THAT(*ClusterCores(t.Path("sys"), true), ElementsAre(0, 1, 2, 3));
  EXPECT_THAT(*ClusterCores(t.Path("sys"), false), ElementsAre(4, 5, 6, 7));
  auto tel = Make(t.Spec({"cpufreq"}));
  // The busiest core stands for its cluster.
  const Sample s = tel->SampleNow();
  EXPECT_DOUBLE_EQ(Value(s, "freq.cluster1_khz"), 4700000);
  EXPECT_DOUBLE_EQ(Value(s, "freq.cluster0_khz"), 3600000);
}

TEST(TelemetryCpufreq, AmdPreferredCoresAreOneCluster) {
  DeviceTree t;
  AddCpufreq(t, "0-3",
             {{{0}, 5700000, 800000},
              {{1}, 5600000, 800000},
              {{2}, 5500000, 800000},
              {{3}, 5450000, 800000}});
  EXPECT_THAT(*ClusterCores(t.Path("sys"), true), ElementsAre(0, 1, 2, 3));
  EXPECT_THAT(*ClusterCores(t.Path("sys"), false), ElementsAre(0, 1, 2, 3));
}

TEST(TelemetryCpufreq, WithoutCpufreqAllOnlineCores) {
  DeviceTree t;
  t.Files("sys/devices/system/cpu", {{"online", "0-1"}});
  t.Dir("sys/devices/system/cpu/cpu0");
  t.Dir("sys/devices/system/cpu/cpu1");
  EXPECT_THAT(*ClusterCores(t.Path("sys"), true), ElementsAre(0, 1));
  EXPECT_THAT(*ClusterCores(t.Path("sys"), false), ElementsAre(0, 1));
  // No online file: the cpuN folders.
  DeviceTree u;
  u.Dir("sys/devices/system/cpu/cpu0");
  u.Dir("sys/devices/system/cpu/cpu1");
  u.Dir("sys/devices/system/cpu/cpufreq");
  u.Dir("sys/devices/system/cpu/cpuidle");
  EXPECT_THAT(*ClusterCores(u.Path("sys"), true), ElementsAre(0, 1));
  DeviceTree empty;
  EXPECT_EQ(ClusterCores(empty.Path("sys"), true).status().code(), StatusCode::kNotFound);
  auto tel = Make(t.Spec());
  EXPECT_EQ(tel->Describe()["sources"]["cpufreq"], "absent");
}

// ---------------------------------------------------------------------------
// Thermal

TEST(TelemetryThermal, ZonesWithTypesDuplicatesAndReadErrors) {
  DeviceTree t;
  AddThermal(t, {{"cpu-thermal", "45000"},
                 {"gpu-thermal", "41000"},
                 {"battery", "30500"},
                 {"acpitz", "27800"},
                 {"acpitz", "29800"},
                 {"sdm-therm", kReadError},
                 {"pa-therm", ""}});
  auto tel = Make(t.Spec());
  const nlohmann::json d = tel->Describe();
  EXPECT_EQ(d["sources"]["thermal"], "present");
  ASSERT_EQ(d["thermal_zones"].size(), 7u);
  EXPECT_EQ(d["thermal_zones"][5]["state"], "absent");
  EXPECT_EQ(d["thermal_zones"][6]["state"], "absent");
  const Sample s = tel->SampleNow();
  EXPECT_THAT(Names(s),
              ElementsAre("temp.cpu_thermal_c", "temp.gpu_thermal_c", "temp.battery_c",
                          "temp.acpitz_3_c", "temp.acpitz_4_c"));
  EXPECT_DOUBLE_EQ(Value(s, "temp.cpu_thermal_c"), 45.0);
  EXPECT_DOUBLE_EQ(Value(s, "temp.acpitz_4_c"), 29.8);
  const std::map<std::string, double> temps = tel->Temperatures();
  EXPECT_EQ(temps.size(), 5u);
  EXPECT_DOUBLE_EQ(temps.at("gpu_thermal"), 41.0);
}

protocol::CooldownSpec Cooldown(double max_c, double timeout_s, int poll_ms) {
  protocol::CooldownSpec c;
  c.enabled = true;
  c.max_temp_c = max_c;
  c.timeout_s = timeout_s;
  c.poll_ms = poll_ms;
  return c;
}

TEST(TelemetryCooldown, WaitsUntilEveryZoneIsCool) {
  DeviceTree t;
  AddThermal(t, {{"cpu-thermal", "52000"}, {"gpu-thermal", "40000"}});
  auto tel = Make(t.Spec({"thermal"}));
  std::atomic<bool> cancel{false};
  std::thread cooler([&] {
    for (const char* c : {"49000", "47000", "44500"}) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      t.Rewrite("sys/class/thermal/thermal_zone0/temp", c);
    }
  });
  const CooldownResult r = WaitForCooldown(*tel, Cooldown(45, 10, 2), cancel);
  cooler.join();
  EXPECT_FALSE(r.timed_out);
  EXPECT_DOUBLE_EQ(r.max_temp_c, 44.5);
  EXPECT_DOUBLE_EQ(r.temps_c.at("cpu_thermal"), 44.5);
  EXPECT_GE(r.waited_ms, 50);
  EXPECT_LT(r.waited_ms, 5000);
}

TEST(TelemetryCooldown, TimesOut) {
  DeviceTree t;
  AddThermal(t, {{"cpu-thermal", "61000"}});
  auto tel = Make(t.Spec({"thermal"}));
  std::atomic<bool> cancel{false};
  const CooldownResult r = WaitForCooldown(*tel, Cooldown(45, 0.05, 5), cancel);
  EXPECT_TRUE(r.timed_out);
  EXPECT_DOUBLE_EQ(r.max_temp_c, 61.0);
  EXPECT_GE(r.waited_ms, 50);
  EXPECT_LT(r.waited_ms, 5000);
}

TEST(TelemetryCooldown, CancelEndsTheWait) {
  DeviceTree t;
  AddThermal(t, {{"cpu-thermal", "61000"}});
  auto tel = Make(t.Spec({"thermal"}));
  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    cancel = true;
  });
  // A 250 ms poll: the cancel must not wait for it.
  const CooldownResult r = WaitForCooldown(*tel, Cooldown(45, 60, 250), cancel);
  canceller.join();
  EXPECT_FALSE(r.timed_out);
  EXPECT_GE(r.waited_ms, 30);
  EXPECT_LT(r.waited_ms, 200);
}

TEST(TelemetryCooldown, NoZonesOrDisabledReturnsAtOnce) {
  DeviceTree t;
  auto tel = Make(t.Spec());
  std::atomic<bool> cancel{false};
  CooldownResult r = WaitForCooldown(*tel, Cooldown(45, 60, 250), cancel);
  EXPECT_FALSE(r.timed_out);
  EXPECT_TRUE(r.temps_c.empty());
  EXPECT_TRUE(std::isnan(r.max_temp_c));
  EXPECT_LT(r.waited_ms, 100);

  DeviceTree hot;
  AddThermal(hot, {{"cpu-thermal", "90000"}});
  auto tel2 = Make(hot.Spec());
  protocol::CooldownSpec off = Cooldown(45, 60, 250);
  off.enabled = false;
  r = WaitForCooldown(*tel2, off, cancel);
  EXPECT_LT(r.waited_ms, 100);
  EXPECT_DOUBLE_EQ(r.max_temp_c, 90.0);
}

// ---------------------------------------------------------------------------
// Memory

TEST(TelemetryMem, StatusSmapsRollupAndSetPid) {
  DeviceTree t;
  t.Text("proc/self/status",
         "Name:\tx\nVmPeak:\t   1000 kB\nVmHWM:\t    900 kB\nVmRSS:\t    800 kB\n");
  t.Text("proc/self/smaps_rollup",
         "0-0 ---p 00000000 00:00 0 [rollup]\nRss: 800 kB\nPss: 700 kB\n");
  AddProcess(t, "4242");
  auto tel = Make(t.Spec({"mem"}));
  Sample s = tel->SampleNow();
  EXPECT_THAT(Names(s), ElementsAre("mem.rss_kb", "mem.hwm_kb", "mem.pss_kb"));
  EXPECT_DOUBLE_EQ(Value(s, "mem.rss_kb"), 800);
  EXPECT_DOUBLE_EQ(Value(s, "mem.hwm_kb"), 900);
  EXPECT_DOUBLE_EQ(Value(s, "mem.pss_kb"), 700);

  tel->SetPid(4242);  // an external engine, as the command backend runs one
  s = tel->SampleNow();
  EXPECT_DOUBLE_EQ(Value(s, "mem.rss_kb"), 880120);
  EXPECT_DOUBLE_EQ(Value(s, "mem.hwm_kb"), 912344);
  EXPECT_DOUBLE_EQ(Value(s, "mem.pss_kb"), 874500);

  // The process exits: its status goes, the other values stay.
  t.Remove("proc/4242");
  tel->SetPid(4243);  // never existed
  s = tel->SampleNow();
  EXPECT_TRUE(s.values.empty());
  const nlohmann::json d = tel->Describe();
  EXPECT_EQ(d["sources"]["mem"], "lost");
  EXPECT_THAT(d["lost"].back()["source"].get<std::string>(), HasSubstr("/4243"));
}

TEST(TelemetryMem, MemAvailable) {
  DeviceTree t;
  t.Text("proc/meminfo", kMeminfoText);
  EXPECT_EQ(*MemAvailableKb(t.Path("proc")), 23498436);
  DeviceTree old;
  old.Text("proc/meminfo", "MemTotal:  1000 kB\nMemFree:  500 kB\n");
  EXPECT_EQ(MemAvailableKb(old.Path("proc")).status().code(), StatusCode::kNotFound);
  DeviceTree none;
  EXPECT_EQ(MemAvailableKb(none.Path("proc")).status().code(), StatusCode::kNotFound);
}

TEST(TelemetryMem, RealProcSelf) {
  // This process, through the real /proc.
  protocol::TelemetrySpec spec;
  spec.sources = {"mem"};
  auto tel = Make(spec);
  const Sample s = tel->SampleNow();
  EXPECT_GT(Value(s, "mem.rss_kb"), 100);
  EXPECT_GE(Value(s, "mem.hwm_kb"), Value(s, "mem.rss_kb"));
  EXPECT_GT(Value(s, "mem.pss_kb"), 0);
  EXPECT_GT(*MemAvailableKb("/proc"), 0);
}

// ---------------------------------------------------------------------------
// Absent, lost, the sampler thread

TEST(TelemetryAbsent, EmptyTreeReportsEverythingAbsentAndSamplesNothing) {
  DeviceTree t;
  auto tel = Make(t.Spec());
  const nlohmann::json d = tel->Describe();
  for (const char* k : {"mem", "cpufreq", "thermal", "power_supply", "hwmon", "rapl"})
    EXPECT_EQ(d["sources"][k], "absent") << k;
  EXPECT_TRUE(d["primary_energy"].is_null());
  EXPECT_TRUE(d["notes"].is_object());
  const Sample s = tel->SampleNow();
  EXPECT_GT(s.t_ns, 0);
  EXPECT_TRUE(s.values.empty());  // absent is absent, never 0
  EXPECT_TRUE(tel->Start().ok());
  tel->Stop();
  EXPECT_TRUE(std::isnan(tel->MeasureIdlePowerW(5)));
  EXPECT_TRUE(tel->Temperatures().empty());
}

TEST(TelemetryAbsent, UnrequestedSourcesAreOff) {
  DeviceTree t;
  AddPixelBattery(t, "Discharging", "-500000", "4000000");
  auto tel = Make(t.Spec({"mem", "thermal"}));
  const nlohmann::json d = tel->Describe();
  EXPECT_EQ(d["sources"]["power_supply"], "off");
  EXPECT_EQ(d["sources"]["thermal"], "absent");
  EXPECT_TRUE(d["primary_energy"].is_null());
}

TEST(TelemetryAbsent, SpecErrors) {
  DeviceTree t;
  EXPECT_EQ(Telemetry::Create(t.Spec({"mem", "gpu"})).status().code(),
            StatusCode::kInvalidArgument);
  protocol::TelemetrySpec spec = t.Spec();
  spec.period_ms = 0;
  EXPECT_EQ(Telemetry::Create(spec).status().code(), StatusCode::kInvalidArgument);
  spec.enabled = false;  // nothing is read, so nothing to check
  auto off = Telemetry::Create(spec);
  ASSERT_TRUE(off.ok());
  EXPECT_EQ((*off)->Describe()["sources"]["mem"], "off");
}

TEST(TelemetryLost, SourcesVanishingMidRunStopQuietly) {
  DeviceTree t;
  AddPixelBattery(t, "Discharging", "-500000", "4000000");
  AddThermal(t, {{"cpu-thermal", "45000"}, {"battery", "30000"}});
  AddSnapdragonCpufreq(t);
  FakeClock clock(1 * kMs);
  auto tel = Make(t.Spec());
  Sample s = tel->SampleNow();
  EXPECT_TRUE(Has(s, "energy.primary_j"));
  // The fuel gauge's driver goes away, and a sensor with it.
  t.Truncate(std::string(kBattery) + "/current_now");
  t.Truncate("sys/class/thermal/thermal_zone1/temp");
  clock.Advance(20 * kMs);
  s = tel->SampleNow();
  EXPECT_FALSE(Has(s, "power.battery_w"));
  EXPECT_FALSE(Has(s, "energy.battery_j"));
  EXPECT_FALSE(Has(s, "energy.primary_j"));
  EXPECT_FALSE(Has(s, "temp.battery_c"));
  EXPECT_TRUE(Has(s, "temp.cpu_thermal_c"));
  EXPECT_TRUE(Has(s, "freq.cluster2_khz"));
  // It stays lost even when the file reads again.
  t.Rewrite(std::string(kBattery) + "/current_now", "-500000");
  clock.Advance(20 * kMs);
  EXPECT_FALSE(Has(tel->SampleNow(), "power.battery_w"));

  const nlohmann::json d = tel->Describe();
  EXPECT_EQ(d["sources"]["power_supply"], "lost");
  EXPECT_EQ(d["sources"]["thermal"], "present");
  EXPECT_EQ(d["power"][0]["state"], "lost");
  EXPECT_EQ(d["thermal_zones"][1]["state"], "lost");
  ASSERT_EQ(d["lost"].size(), 2u);
  const auto battery =
      std::find_if(d["lost"].begin(), d["lost"].end(),
                   [](const auto& l) { return l["source"] == "power_supply:battery"; });
  ASSERT_NE(battery, d["lost"].end());
  EXPECT_THAT((*battery)["error"].get<std::string>(), HasSubstr("current_now: empty"));
  EXPECT_EQ((*battery)["t_ns"], 21 * kMs);
}

TEST(TelemetrySampler, ThreadSamplesUntilStoppedAndDrainEmpties) {
  DeviceTree t;
  AddSnapdragonCpufreq(t);
  AddThermal(t, {{"cpu-thermal", "45000"}});
  AddProcess(t, "self");
  protocol::TelemetrySpec spec = t.Spec();
  spec.period_ms = 5;
  auto tel = Make(spec);
  ASSERT_TRUE(tel->Start().ok());
  EXPECT_EQ(tel->Start().code(), StatusCode::kFailedPrecondition);
  std::this_thread::sleep_for(std::chrono::milliseconds(120));
  const Sample now = tel->SampleNow();  // while the thread runs
  tel->Stop();
  tel->Stop();  // twice is fine
  const std::vector<Sample> samples = tel->Drain();
  ASSERT_GE(samples.size(), 5u);
  for (size_t i = 1; i < samples.size(); ++i)
    EXPECT_GT(samples[i].t_ns, samples[i - 1].t_ns);
  // The CPU budget may skip a group in some samples; at this size each is
  // read in most of them (under qemu, whose reads cost far more, in some).
  for (const char* name : {"freq.cluster0_khz", "temp.cpu_thermal_c", "mem.rss_kb"}) {
    const size_t n = static_cast<size_t>(std::count_if(
        samples.begin(), samples.end(), [&](const Sample& s) { return Has(s, name); }));
    EXPECT_GE(n, TimingEnabled() ? samples.size() / 2 : 1) << name;
  }
  // SampleNow's sample was appended, and it read everything (the thread may
  // have ticked again before Stop, so it need not be the last).
  const auto mine = std::find_if(samples.begin(), samples.end(),
                                 [&](const Sample& s) { return s.t_ns == now.t_ns; });
  ASSERT_NE(mine, samples.end());
  EXPECT_EQ(Names(*mine).size(), 7u);
  for (const Sample& s : samples) EXPECT_FALSE(s.values.empty()) << s.t_ns;
  EXPECT_TRUE(tel->Drain().empty());
  const nlohmann::json d = tel->Describe();
  EXPECT_GE(d["sampler"]["samples"].get<int>(), 4);
  EXPECT_TRUE(d["sampler"]["groups"].contains("thermal"));
  // Start again after a Stop. The budget may hold every group back for a
  // while (long under a loaded qemu), so wait for a sample, not a fixed time.
  ASSERT_TRUE(tel->Start().ok());
  std::vector<Sample> again;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (again.empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    again = tel->Drain();
  }
  tel->Stop();
  EXPECT_FALSE(again.empty());
}

TEST(TelemetrySampler, IdlePowerWithAndWithoutTheThread) {
  DeviceTree t;
  AddPixelBattery(t, "Discharging", "-250000", "4000000");  // 1 W
  protocol::TelemetrySpec spec = t.Spec({"power_supply"});
  spec.period_ms = 5;
  auto tel = Make(spec);
  EXPECT_NEAR(tel->MeasureIdlePowerW(40), 1.0, 1e-9);
  ASSERT_TRUE(tel->Start().ok());
  EXPECT_NEAR(tel->MeasureIdlePowerW(40), 1.0, 1e-9);
  tel->Stop();
  EXPECT_TRUE(std::isnan(tel->MeasureIdlePowerW(0)));
  // The samples it took are kept, so the energy series stays continuous.
  EXPECT_GE(tel->Drain().size(), 4u);
}

// ---------------------------------------------------------------------------
// End to end: a prepared tree's samples through protocol::ComputeRepMetrics.

TEST(TelemetryEndToEnd, BatterySeriesGivesHandComputedRepMetrics) {
  DeviceTree t;
  AddPixelBattery(t, "Discharging", "-500000", "4000000");
  const int64_t t0 = 1'000'000 * kMs;
  FakeClock clock(t0);
  auto tel = Make(t.Spec());
  // Samples every 20 ms: 2 W during prefill, 4 W during decode.
  //   t (ms)    0     20    40    60    80    100
  //   P (W)     2     2     2     4     4     4
  //   E (J)     0     .04   .08   .14   .22   .30
  // E(60) = .08 + (2 + 4) / 2 * .02 = .14.
  for (const char* current :
       {"-500000", "-500000", "-500000", "-1000000", "-1000000", "-1000000"}) {
    t.Rewrite(std::string(kBattery) + "/current_now", current);
    tel->SampleNow();
    clock.Advance(20 * kMs);
  }
  const std::vector<Sample> samples = tel->Drain();
  ASSERT_EQ(samples.size(), 6u);
  EXPECT_NEAR(Value(samples[5], "energy.primary_j"), 0.30, 1e-12);

  protocol::RepTiming r;
  r.t_request_ns = t0;
  r.prefill_t0_ns = t0;
  r.prefill_t1_ns = t0 + 40 * kMs;
  r.n_prompt = 8;
  for (int ms = 60; ms <= 100; ms += 10) r.token_ns.push_back(t0 + ms * kMs);
  r.t_end_ns = t0 + 100 * kMs;
  r.baseline_w = 1.0;
  const std::map<std::string, double> m = protocol::ComputeRepMetrics(r, samples);
  EXPECT_NEAR(m.at("energy_j"), 0.30, 1e-12);
  EXPECT_NEAR(m.at("avg_power_w"), 3.0, 1e-9);          // .30 J / .1 s
  EXPECT_NEAR(m.at("energy_net_j"), 0.20, 1e-12);       // .30 - 1 W * .1 s
  EXPECT_NEAR(m.at("prefill_mj_per_tok"), 10.0, 1e-9);  // 80 mJ / 8 tokens
  EXPECT_NEAR(m.at("decode_mj_per_tok"), 40.0, 1e-9);   // (300 - 140) mJ / 4
}

// ---------------------------------------------------------------------------
// Cost of one sample

double MedianSampleUs(Telemetry& tel, int n) {
  std::vector<double> us;
  for (int i = 0; i < n; ++i) {
    const int64_t a = MonotonicNs();
    tel.SampleNow();
    us.push_back(static_cast<double>(MonotonicNs() - a) / 1e3);
  }
  tel.Drain();
  std::sort(us.begin(), us.end());
  return us[us.size() / 2];
}

// The sampler thread's own CPU time per sample (no Sample materialized),
// at the default 20 ms period.
double ThreadCpuUs(Telemetry& tel, int ms) {
  EXPECT_TRUE(tel.Start().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  tel.Stop();
  tel.Drain();
  const nlohmann::json d = tel.Describe();
  return d["sampler"].contains("cpu_us_mean") ? d["sampler"]["cpu_us_mean"].get<double>()
                                              : NAN;
}

TEST(TelemetrySampleCost, ThisMachineAndABigPreparedTree) {
  // This machine: the real /proc and /sys (mem only here: no cpufreq,
  // thermal, hwmon, power_supply or RAPL in this VM).
  protocol::TelemetrySpec here;
  auto tel_here = Make(here);
  const size_t here_values = tel_here->SampleNow().values.size();
  const double here_us = MedianSampleUs(*tel_here, 2000);
  const double here_thread_us = ThreadCpuUs(*tel_here, 600);

  // A phone-sized tree: 8 cores in 3 clusters, 40 thermal zones, a
  // battery, two INA3221 (6 rails), RAPL (4 zones); mem from /proc/self.
  DeviceTree t;
  AddSnapdragonCpufreq(t);
  std::vector<Zone> zones;
  for (int i = 0; i < 40; ++i) zones.push_back({"zone-" + std::to_string(i), "41250"});
  AddThermal(t, zones);
  AddPixelBattery(t, "Discharging", "-500000", "4000000");
  AddJetsonIna3221(t);
  t.Files("sys/class/hwmon/hwmon5", {{"name", "ina3221"},
                                     {"in1_label", "VDD_A"},
                                     {"in2_label", "VDD_B"},
                                     {"in3_label", "VDD_C"},
                                     {"in1_input", "5000"},
                                     {"in2_input", "5000"},
                                     {"in3_input", "5000"},
                                     {"curr1_input", "100"},
                                     {"curr2_input", "200"},
                                     {"curr3_input", "300"}});
  AddRapl(t, 1'000'000, 500'000);
  protocol::TelemetrySpec spec = t.Spec();
  spec.proc_root = "/proc";
  auto tel = Make(spec);
  const size_t n_values = tel->SampleNow().values.size();
  const double big_us = MedianSampleUs(*tel, 2000);
  const double big_thread_us = ThreadCpuUs(*tel, 600);
  const nlohmann::json groups = tel->Describe()["sampler"]["groups"];

  std::printf(
      "[ cost     ] this machine (%zu values): one full sample (SampleNow) median "
      "%.1f us; sampler thread at 20 ms: %.1f us CPU/sample\n",
      here_values, here_us, here_thread_us);
  std::printf(
      "[ cost     ] prepared tree (%zu values): one full sample (SampleNow) median "
      "%.1f us; sampler thread at 20 ms: %.1f us CPU/sample = %.2f%% of one core\n",
      n_values, big_us, big_thread_us, 100.0 * big_thread_us / 20000.0);
  for (const auto& [g, v] : groups.items())
    std::printf("[ cost     ]   %-8s %6.1f us CPU per read\n", g.c_str(),
                v["cpu_us_mean"].get<double>());
  ::testing::Test::RecordProperty("sample_us_this_machine", std::to_string(here_us));
  ::testing::Test::RecordProperty("sample_us_prepared_tree", std::to_string(big_us));
  if (TimingEnabled()) {
    // A shared 2-core CI host under `ctest -j2` measured 208 us here once:
    // the 1%-of-a-20-ms-period target (200 us) is the benchmark's to check
    // (telemetry_cost_bench). The test only catches a gross regression: 10%
    // of the period.
    EXPECT_LT(big_us, 2000.0);
    EXPECT_LT(here_us, 2000.0);
    EXPECT_LT(big_thread_us, 2000.0);
  }
}

TEST(TelemetrySampleCost, PssOfALargeProcessIsReadOnlyOnDemand) {
  if (!TimingEnabled()) GTEST_SKIP() << "timing off";
  // 512 MiB resident: smaps_rollup walks every page table entry.
  const size_t bytes = 512u << 20;
  char* p = static_cast<char*>(std::malloc(bytes));
  ASSERT_NE(p, nullptr);
  std::memset(p, 1, bytes);
  protocol::TelemetrySpec spec;
  spec.sources = {"mem"};
  auto tel = Make(spec);
  const double forced_us = MedianSampleUs(*tel, 20);
  (void)tel->Drain();  // the forced samples above, which do read PSS
  ASSERT_TRUE(tel->Start().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  tel->Stop();
  const std::vector<Sample> samples = tel->Drain();
  size_t with_pss = 0, with_rss = 0;
  for (const Sample& s : samples) {
    with_pss += Has(s, "mem.pss_kb");
    with_rss += Has(s, "mem.rss_kb");
  }
  const nlohmann::json d = tel->Describe()["sampler"];
  std::printf(
      "[ cost     ] 512 MiB resident: one full sample %.1f us (smaps_rollup %.1f us "
      "CPU); sampler at 20 ms: %zu samples, %zu with RSS, %zu with PSS, %.1f us "
      "CPU/sample\n",
      forced_us, d["groups"]["pss"]["cpu_us_mean"].get<double>(), samples.size(),
      with_rss, with_pss, d["cpu_us_mean"].get<double>());
  std::free(p);
  // The sampler thread never walks smaps_rollup (SampleNow does).
  EXPECT_EQ(with_pss, 0u);
  EXPECT_GT(with_rss, samples.size() / 2);
  // The whole sampler within its budget, with room for a noisy host.
  EXPECT_LT(d["cpu_us_mean"].get<double>(), 2 * 200.0);
}

}  // namespace
}  // namespace edgebench::runtime
