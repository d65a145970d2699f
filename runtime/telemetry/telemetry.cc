#include "runtime/telemetry/telemetry.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <iterator>
#include <limits>
#include <mutex>
#include <set>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include "runtime/telemetry/internal/clock.h"
#include "runtime/telemetry/internal/cpu_clusters.h"
#include "runtime/telemetry/internal/power.h"
#include "runtime/telemetry/internal/sysfs.h"

namespace edgebench::runtime {

int64_t MonotonicNs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

namespace telemetry_internal {
namespace {
std::atomic<ClockFn> g_sample_clock{nullptr};
}  // namespace

void SetSampleClockForTesting(ClockFn fn) { g_sample_clock.store(fn); }

int64_t SampleNowNs() {
  const ClockFn fn = g_sample_clock.load(std::memory_order_relaxed);
  return fn ? fn() : MonotonicNs();
}
}  // namespace telemetry_internal

namespace {

namespace ti = telemetry_internal;
using nlohmann::json;

constexpr const char* kSourceKinds[] = {"mem",          "cpufreq", "thermal",
                                        "power_supply", "hwmon",   "rapl"};

// The sampler's CPU budget. Sources are read in groups (kGroupNames); a
// group is read again only once kBudgetFactor x (groups in use) x the CPU
// time of its last read has passed, so all groups together take at most
// 1/kBudgetFactor of one core, whatever the device. A cheap group (a few
// µs) is read every period; a costly one is read less often:
// smaps_rollup walks the page tables of the whole process (about 3 ms for
// 512 MiB resident here, see SampleCost in telemetry_test.cc), and a phone
// can have 60+ thermal zones. CPU time, not wall time: a read that sleeps
// on a bus (an INA3221 on I2C, a PMIC ADC) delays the sampler but takes
// nothing from the engine's threads. SampleNow reads everything.
constexpr int64_t kBudgetFactor = 100;  // 1%

enum Group {
  kGroupMem,
  kGroupPss,
  kGroupCpufreq,
  kGroupThermal,
  kGroupPower,
  kGroupRapl,
  kGroupCount
};
constexpr const char* kGroupNames[kGroupCount] = {"mem",     "pss",   "cpufreq",
                                                  "thermal", "power", "rapl"};

struct GroupBudget {
  int64_t next_ns = 0;      // sample time from which it is read again
  int64_t last_cpu_ns = 0;  // CPU time of the last read
  int64_t reads = 0;
  int64_t cpu_ns = 0;  // all reads
};

int64_t ThreadCpuNs() {
  timespec ts;
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// A battery's voltage_now is µV per the ABI: 1-30 V reads 10^6..3*10^7.
// A driver that writes mV reads 10^3..3*10^4. The ranges are three orders
// apart, so this test cannot confuse them (unlike a test on current,
// whose µA and mA ranges overlap near zero, e.g. on a charger).
constexpr int64_t kMillivoltBelow = 100'000;

// hwmon rails whose label names the whole input of the board or module
// (Jetson Orin NX / Nano, Xavier NX, TX2 NX: VDD_IN; Nano: POM_5V_IN;
// Xavier NX docs: 5V_IN). Compared after SanitizeName.
constexpr std::string_view kWholeInputLabels[] = {"vdd_in", "pom_5v_in", "5v_in",
                                                  "vin",    "vdd_total", "total"};

double Nan() { return std::numeric_limits<double>::quiet_NaN(); }

// "power1_input" -> 1 for prefix "power", suffix "_input".
bool MatchIndexed(std::string_view name, std::string_view prefix, std::string_view suffix,
                  int* index) {
  if (name.size() <= prefix.size() + suffix.size() || name.rfind(prefix, 0) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return false;
  const std::string_view digits =
      name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.empty() || digits.size() > 6) return false;
  int v = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *index = v;
  return true;
}

struct LostItem {
  std::string source;
  std::string error;
  int64_t t_ns = 0;
};

struct MemSource {
  std::string dir;  // <proc>/self or <proc>/<pid>
  ti::SysfsFile status, smaps;
  bool status_live = false, smaps_live = false;
  std::string status_error, smaps_error;
  int slot_rss = -1, slot_hwm = -1, slot_pss = -1;
};

struct FreqCluster {
  std::string name;  // "cluster0": slowest first
  std::vector<int> cpus, policy_cpus;
  int64_t max_khz = 0;
  std::vector<ti::SysfsFile> cur;  // scaling_cur_freq of one core per policy
  int slot = -1;
  bool live = false;
  std::string error;
};

struct ThermalZone {
  std::string zone;  // "thermal_zone3"
  std::string type;  // as the kernel names it
  std::string name;  // the sample name's stem
  ti::SysfsFile temp;
  int slot = -1;
  bool live = false;
  std::string error;
};

// A battery or an hwmon rail: power read instantly, energy integrated.
struct PowerSource {
  std::string kind;   // "power_supply" or "hwmon"
  std::string id;     // "power_supply:battery", "hwmon:ina3221/hwmon1:VDD_IN"
  std::string name;   // sample name stem: "battery", "vdd_in"
  std::string label;  // hwmon label or power_supply name
  std::string units;  // how the readings are scaled, and why
  bool battery = false;
  std::string status_at_start;
  ti::SysfsFile power, current, voltage, status;
  double power_scale = 0, current_scale = 0, voltage_scale = 0;  // raw -> W, A, V
  int slot_power = -1, slot_energy = -1;
  bool live = false;
  bool lost = false;
  std::string error;
  bool have_prev = false;
  double prev_w = 0;
  int64_t prev_t = 0;
  double energy_j = 0;
};

struct RaplZone {
  std::string id;        // "intel-rapl:0:2"
  std::string raw_name;  // "dram"
  std::string name;      // "package_0_dram"
  bool package = false;
  ti::SysfsFile energy;
  uint64_t max_range_uj = 0;
  int slot_power = -1, slot_energy = -1;
  bool live = false;
  bool lost = false;
  std::string error;
  bool have_prev = false;
  uint64_t prev_uj = 0;
  int64_t prev_t = 0;
  double energy_j = 0;
};

}  // namespace

struct Telemetry::Impl {
  protocol::TelemetrySpec spec;
  std::map<std::string, std::string> state;  // kind -> present / absent / off
  std::map<std::string, std::string> notes;  // kind -> why absent, unit rules

  // Everything below is guarded by mu.
  mutable std::mutex mu;
  std::condition_variable cv;
  std::thread thread;
  bool running = false;
  bool stop = false;

  std::vector<std::string> names;  // one per slot: the sample value names
  MemSource mem;
  bool mem_requested = false;
  std::vector<FreqCluster> clusters;
  std::vector<ThermalZone> zones;
  std::vector<PowerSource> powers;
  std::vector<RaplZone> rapl;
  enum class Primary { kNone, kRapl, kPower } primary = Primary::kNone;
  std::vector<size_t> primary_index;  // into rapl (packages) or powers (one)
  std::string primary_id;
  std::string primary_note;
  int slot_primary = -1;
  std::vector<LostItem> lost;

  // Samples not drained yet, compact: one time and names.size() values a
  // row, NaN where a value is absent.
  std::vector<int64_t> times;
  std::vector<double> rows;

  GroupBudget budget[kGroupCount];
  int64_t groups_in_use = 1;
  int64_t thread_samples = 0;
  int64_t thread_cpu_ns = 0;
  int64_t thread_wall_ns = 0;

  int AddSlot(std::string name) {
    names.push_back(std::move(name));
    return static_cast<int>(names.size()) - 1;
  }

  void Lose(std::string source, std::string error, int64_t t) {
    lost.push_back({std::move(source), std::move(error), t});
  }

  // Discovery (Create).
  void DiscoverMem();
  void DiscoverCpufreq();
  void DiscoverThermal();
  void DiscoverPowerSupply(std::set<std::string>* used);
  void DiscoverHwmon(std::set<std::string>* used);
  void DiscoverRapl(std::set<std::string>* used);
  void ChoosePrimary();
  void OpenMem(const std::string& dir);

  // Sampling; REQUIRE mu held.
  // Index of the sample taken, or kNoSample when a periodic (!force) tick
  // read nothing; a forced one always returns an index.
  static constexpr size_t kNoSample = static_cast<size_t>(-1);
  size_t TakeSampleLocked(bool force);
  void ReadMemStatus(double* row, int64_t t);
  void ReadPss(double* row, int64_t t);
  void ReadPower(PowerSource& p, double* row, int64_t t);
  void ReadRapl(RaplZone& z, double* row, int64_t t);
  protocol::Sample Materialize(size_t index) const;
  void Run();
};

// ---------------------------------------------------------------------------
// Discovery

void Telemetry::Impl::OpenMem(const std::string& dir) {
  mem.dir = dir;
  mem.status.Close();
  mem.smaps.Close();
  mem.status_live = mem.smaps_live = false;
  mem.status_error.clear();
  mem.smaps_error.clear();
  if (auto f = ti::SysfsFile::Open(dir + "/status"); f.ok()) {
    char buf[8192];
    int64_t v = 0;
    const ssize_t n = f->Read(buf, sizeof buf);
    if (n > 0 &&
        ti::FindKeyInt(std::string_view(buf, static_cast<size_t>(n)), "VmRSS:", &v)) {
      mem.status = std::move(*f);
      mem.status_live = true;
    } else {
      mem.status_error =
          dir + "/status: no VmRSS (a kernel thread, or the process exited)";
    }
  } else {
    mem.status_error = f.status().message();
  }
  // smaps_rollup appeared in Linux 4.14; summing smaps instead would cost
  // a walk of every mapping's text per sample.
  if (auto f = ti::SysfsFile::Open(dir + "/smaps_rollup"); f.ok()) {
    char buf[4096];
    int64_t v = 0;
    const ssize_t n = f->Read(buf, sizeof buf);
    if (n > 0 &&
        ti::FindKeyInt(std::string_view(buf, static_cast<size_t>(n)), "Pss:", &v)) {
      mem.smaps = std::move(*f);
      mem.smaps_live = true;
    } else {
      mem.smaps_error = dir + "/smaps_rollup: no Pss line";
    }
  } else {
    mem.smaps_error = f.status().message() + " (smaps_rollup needs Linux 4.14)";
  }
}

void Telemetry::Impl::DiscoverMem() {
  mem_requested = true;
  mem.slot_rss = AddSlot("mem.rss_kb");
  mem.slot_hwm = AddSlot("mem.hwm_kb");
  mem.slot_pss = AddSlot("mem.pss_kb");
  OpenMem(spec.proc_root + "/self");
  state["mem"] = mem.status_live || mem.smaps_live ? "present" : "absent";
  if (!mem.status_live)
    notes["mem"] = mem.status_error;
  else if (!mem.smaps_live)
    notes["mem"] = "no PSS: " + mem.smaps_error;
}

void Telemetry::Impl::DiscoverCpufreq() {
  auto topo = ti::ReadCpuTopology(spec.sys_root);
  if (!topo.ok() || topo->clusters.empty()) {
    state["cpufreq"] = "absent";
    notes["cpufreq"] =
        topo.ok()
            ? spec.sys_root + "/devices/system/cpu/cpu*/cpufreq: no cpuinfo_max_freq"
            : topo.status().message();
    return;
  }
  for (size_t i = 0; i < topo->clusters.size(); ++i) {
    const ti::CpuCluster& c = topo->clusters[i];
    FreqCluster fc;
    fc.name = "cluster" + std::to_string(i);
    fc.cpus = c.cpus;
    fc.policy_cpus = c.policy_cpus;
    fc.max_khz = c.max_khz;
    for (const int cpu : c.policy_cpus) {
      const std::string path = spec.sys_root + "/devices/system/cpu/cpu" +
                               std::to_string(cpu) + "/cpufreq/scaling_cur_freq";
      auto f = ti::SysfsFile::Open(path);
      int64_t v = 0;
      Status s = f.ok() ? f->ReadInt(&v) : f.status();
      if (!s.ok()) {
        fc.error = s.message();
        continue;
      }
      fc.cur.push_back(std::move(*f));
    }
    fc.live = !fc.cur.empty();
    if (fc.live) fc.slot = AddSlot("freq." + fc.name + "_khz");
    clusters.push_back(std::move(fc));
  }
  const bool any = std::any_of(clusters.begin(), clusters.end(),
                               [](const FreqCluster& c) { return c.live; });
  state["cpufreq"] = any ? "present" : "absent";
  if (!any) notes["cpufreq"] = "scaling_cur_freq unreadable: " + clusters.front().error;
}

void Telemetry::Impl::DiscoverThermal() {
  const std::string dir = spec.sys_root + "/class/thermal";
  std::vector<ThermalZone> found;
  std::map<std::string, int> count;
  for (const std::string& e : ti::ListDir(dir)) {
    if (e.rfind("thermal_zone", 0) != 0) continue;
    ThermalZone z;
    z.zone = e;
    auto type = ti::ReadTrimmed(dir + "/" + e + "/type");
    z.type = type.ok() && !type->empty() ? *type : e;
    z.name = ti::SanitizeName(z.type);
    if (z.name.empty()) z.name = e;
    ++count[z.name];
    found.push_back(std::move(z));
  }
  for (ThermalZone& z : found) {
    // Phones have dozens of zones and some share a type; x86 often has two
    // "acpitz". Those get their zone number.
    if (count[z.name] > 1) z.name += "_" + std::to_string(ti::TrailingNumber(z.zone));
    auto f = ti::SysfsFile::Open(dir + "/" + z.zone + "/temp");
    int64_t v = 0;
    Status s = f.ok() ? f->ReadInt(&v) : f.status();
    if (s.ok()) {
      z.temp = std::move(*f);
      z.live = true;
      z.slot = AddSlot("temp." + z.name + "_c");
    } else {
      // Sensors that are powered down or not wired answer EINVAL, ENODATA
      // or EAGAIN; such a zone is absent, the others are still read.
      z.error = s.message();
    }
    zones.push_back(std::move(z));
  }
  const bool any = std::any_of(zones.begin(), zones.end(),
                               [](const ThermalZone& z) { return z.live; });
  state["thermal"] = any ? "present" : "absent";
  if (zones.empty())
    notes["thermal"] = dir + ": no thermal_zone*";
  else if (!any)
    notes["thermal"] = "no zone readable: " + zones.front().error;
}

namespace {

// "name", "name_2", ... the first not in `used`.
std::string UniqueName(const std::string& base, std::set<std::string>* used) {
  const std::string stem = base.empty() ? "source" : base;
  std::string name = stem;
  for (int i = 2; used->count(name); ++i) name = stem + "_" + std::to_string(i);
  used->insert(name);
  return name;
}

Status ReadOnce(ti::SysfsFile* f, int64_t* v, const std::string& path) {
  auto opened = ti::SysfsFile::Open(path);
  if (!opened.ok()) return opened.status();
  RETURN_IF_ERROR(opened->ReadInt(v));
  *f = std::move(*opened);
  return Status::Ok();
}

}  // namespace

void Telemetry::Impl::DiscoverPowerSupply(std::set<std::string>* used) {
  const std::string dir = spec.sys_root + "/class/power_supply";
  std::vector<std::string> skipped;
  for (const std::string& e : ti::ListDir(dir)) {
    const std::string d = dir + "/" + e;
    auto type = ti::ReadTrimmed(d + "/type");
    // Mains, USB and Wireless supplies feed the charger: what they deliver
    // also charges the battery, so it is not the device's consumption.
    if (!type.ok() || *type != "Battery") continue;
    // scope "Device": the battery of a peripheral (a Bluetooth mouse).
    if (auto scope = ti::ReadTrimmed(d + "/scope"); scope.ok() && *scope == "Device") {
      skipped.push_back(e + " (scope Device)");
      continue;
    }
    if (auto present = ti::ReadTrimmed(d + "/present"); present.ok() && *present == "0") {
      skipped.push_back(e + " (not present)");
      continue;
    }
    PowerSource p;
    p.kind = "power_supply";
    p.battery = true;
    p.id = "power_supply:" + e;
    p.label = e;
    int64_t v = 0;
    Status s;
    if (ti::PathExists(d + "/power_now")) {
      s = ReadOnce(&p.power, &v, d + "/power_now");
      p.power_scale = 1e-6;
      p.units = "power_now µW (kernel ABI)";
    } else {
      int64_t volts = 0;
      s = ReadOnce(&p.voltage, &volts, d + "/voltage_now");
      // Samsung's sec_battery driver keeps current_now in mA and adds
      // batt_current_ua_now, which asks the fuel gauge for µA.
      const bool samsung = ti::PathExists(d + "/batt_current_ua_now");
      if (s.ok())
        s = ReadOnce(&p.current, &v,
                     d + (samsung ? "/batt_current_ua_now" : "/current_now"));
      if (s.ok()) {
        const bool milli = volts > -kMillivoltBelow && volts < kMillivoltBelow;
        p.voltage_scale = milli ? 1e-3 : 1e-6;
        if (samsung) {
          p.current_scale = 1e-6;
          p.units =
              "batt_current_ua_now µA (Samsung sec_battery, whose current_now is mA)";
        } else if (milli) {
          // A driver that ignores the µ convention for voltage ignores it
          // for current too.
          p.current_scale = 1e-3;
          p.units = "current_now mA";
        } else {
          p.current_scale = 1e-6;
          p.units = "current_now µA (kernel ABI)";
        }
        p.units += milli ? ", voltage_now mV (it read " + std::to_string(volts) + ")"
                         : ", voltage_now µV";
      }
    }
    if (auto st = ti::SysfsFile::Open(d + "/status"); st.ok()) {
      char buf[32];
      if (st->Read(buf, sizeof buf) > 0) {
        std::string text(buf);
        while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
          text.pop_back();
        p.status_at_start = text;
      }
      p.status = std::move(*st);
    }
    p.units += "; direction from status (Charging/Discharging), else the ABI sign";
    p.name = UniqueName(ti::SanitizeName(e), used);
    if (s.ok()) {
      p.live = true;
      p.slot_power = AddSlot("power." + p.name + "_w");
      p.slot_energy = AddSlot("energy." + p.name + "_j");
    } else {
      p.error = s.message();
    }
    powers.push_back(std::move(p));
  }
  const bool any = std::any_of(powers.begin(), powers.end(), [](const PowerSource& p) {
    return p.kind == "power_supply" && p.live;
  });
  state["power_supply"] = any ? "present" : "absent";
  if (!any) {
    std::string n = "no readable battery under " + dir;
    for (const PowerSource& p : powers)
      if (p.kind == "power_supply") n += "; " + p.id + ": " + p.error;
    for (const std::string& s : skipped) n += "; skipped " + s;
    notes["power_supply"] = n;
  }
}

void Telemetry::Impl::DiscoverHwmon(std::set<std::string>* used) {
  // Every hwmon device is in class/hwmon; newer Jetson Linux (L4T) guides
  // name the INA3221 through the i2c driver's folder, which is the same
  // device, so the two are merged by real path.
  std::vector<std::string> dirs;
  for (const std::string& e : ti::ListDir(spec.sys_root + "/class/hwmon"))
    dirs.push_back(spec.sys_root + "/class/hwmon/" + e);
  const std::string ina = spec.sys_root + "/bus/i2c/drivers/ina3221";
  for (const std::string& dev : ti::ListDir(ina))
    for (const std::string& h : ti::ListDir(ina + "/" + dev + "/hwmon"))
      dirs.push_back(ina + "/" + dev + "/hwmon/" + h);
  std::set<std::string> seen;
  std::vector<std::string> chips_without_rails;
  const size_t first = powers.size();
  for (const std::string& d : dirs) {
    if (!ti::IsDirectory(d) || !seen.insert(ti::RealPath(d)).second) continue;
    auto chip_r = ti::ReadTrimmed(d + "/name");
    const std::string chip = chip_r.ok() && !chip_r->empty() ? *chip_r : "hwmon";
    const std::string hw = d.substr(d.find_last_of('/') + 1);
    std::set<int> power_idx, curr_idx, in_idx;
    std::map<std::string, std::string> labels;  // "in1" -> "VDD_IN"
    for (const std::string& f : ti::ListDir(d)) {
      int n = 0;
      if (MatchIndexed(f, "power", "_input", &n))
        power_idx.insert(n);
      else if (MatchIndexed(f, "curr", "_input", &n))
        curr_idx.insert(n);
      else if (MatchIndexed(f, "in", "_input", &n))
        in_idx.insert(n);
      else if (f.size() > 6 && f.compare(f.size() - 6, 6, "_label") == 0)
        if (auto l = ti::ReadTrimmed(d + "/" + f); l.ok())
          labels[f.substr(0, f.size() - 6)] = *l;
    }
    const auto label_of = [&](const char* a, int n, const char* b) -> std::string {
      for (const char* k : {a, b}) {
        if (!k) continue;
        auto it = labels.find(k + std::to_string(n));
        if (it != labels.end()) return it->second;
      }
      return {};
    };
    int rails = 0;
    const auto add = [&](PowerSource p) {
      ++rails;
      p.kind = "hwmon";
      const std::string stem = ti::SanitizeName(p.label);
      p.name = UniqueName(stem.empty() ? ti::SanitizeName(chip + "_" + hw) : stem, used);
      p.id = "hwmon:" + chip + "/" + hw + ":" + p.label;
      if (p.error.empty()) {
        p.live = true;
        p.slot_power = AddSlot("power." + p.name + "_w");
        p.slot_energy = AddSlot("energy." + p.name + "_j");
      }
      powers.push_back(std::move(p));
    };
    for (const int n : power_idx) {
      PowerSource p;
      p.label = label_of("power", n, "in");
      if (p.label.empty()) p.label = "power" + std::to_string(n);
      int64_t v = 0;
      if (Status s = ReadOnce(&p.power, &v, d + "/power" + std::to_string(n) + "_input");
          !s.ok())
        p.error = s.message();
      p.power_scale = 1e-6;
      p.units = "power" + std::to_string(n) + "_input µW";
      add(std::move(p));
    }
    for (const int n : curr_idx) {
      if (!in_idx.count(n) || power_idx.count(n)) continue;
      // Only labelled channels pair currN with inN: on the INA3221, in4-6
      // are shunt voltages in µV and curr4 is a sum, with no label, while
      // the three rails are labelled (in1_label "VDD_IN" on Jetson).
      PowerSource p;
      p.label = label_of("in", n, "curr");
      const std::string l = ti::SanitizeName(p.label);
      // "NC": a channel not connected (AGX Orin's second INA3221).
      if (p.label.empty() || l == "nc" || l.find("sum_of") != std::string::npos) continue;
      int64_t v = 0;
      Status s = ReadOnce(&p.current, &v, d + "/curr" + std::to_string(n) + "_input");
      if (s.ok()) s = ReadOnce(&p.voltage, &v, d + "/in" + std::to_string(n) + "_input");
      if (!s.ok()) p.error = s.message();
      p.current_scale = 1e-3;
      p.voltage_scale = 1e-3;
      p.units =
          "curr" + std::to_string(n) + "_input mA × in" + std::to_string(n) + "_input mV";
      add(std::move(p));
    }
    if (rails == 0) chips_without_rails.push_back(chip);
  }
  const bool any = std::any_of(powers.begin() + static_cast<std::ptrdiff_t>(first),
                               powers.end(), [](const PowerSource& p) { return p.live; });
  state["hwmon"] = any ? "present" : "absent";
  if (!any) {
    std::string n = seen.empty()
                        ? spec.sys_root + "/class/hwmon: no devices"
                        : "no power rails (power*_input, or labelled curr*/in*_input)";
    if (!chips_without_rails.empty()) {
      n += " in:";
      for (const std::string& c : chips_without_rails) n += " " + c;
    }
    for (size_t i = first; i < powers.size(); ++i)
      n += "; " + powers[i].id + ": " + powers[i].error;
    notes["hwmon"] = n;
  }
}

void Telemetry::Impl::DiscoverRapl(std::set<std::string>* used) {
  const std::string dir = spec.sys_root + "/class/powercap";
  std::map<std::string, std::string> raw_names;  // id -> name
  std::vector<std::string> ids;
  for (const std::string& e : ti::ListDir(dir)) {
    // intel-rapl-mmio:* is the same package read another way; counting it
    // too would count the package twice.
    if (e.rfind("intel-rapl:", 0) != 0) continue;
    auto name = ti::ReadTrimmed(dir + "/" + e + "/name");
    raw_names[e] = name.ok() ? *name : e;
    ids.push_back(e);
  }
  for (const std::string& id : ids) {
    RaplZone z;
    z.id = id;
    z.raw_name = raw_names[id];
    const size_t colons = static_cast<size_t>(std::count(id.begin(), id.end(), ':'));
    std::string stem = ti::SanitizeName(z.raw_name);
    if (colons >= 2) {
      const std::string parent = id.substr(0, id.find_last_of(':'));
      const auto it = raw_names.find(parent);
      stem = ti::SanitizeName(it != raw_names.end() ? it->second : parent) + "_" + stem;
    }
    z.package = colons == 1 && z.raw_name.rfind("package", 0) == 0;
    z.name = UniqueName(stem, used);
    int64_t range = 0;
    auto r = ti::SysfsFile::Open(dir + "/" + id + "/max_energy_range_uj");
    if (r.ok() && r->ReadInt(&range).ok() && range > 0)
      z.max_range_uj = static_cast<uint64_t>(range);
    int64_t v = 0;
    Status s = ReadOnce(&z.energy, &v, dir + "/" + id + "/energy_uj");
    if (s.ok() && v < 0) s = DataLossError(dir + "/" + id + "/energy_uj: negative");
    if (s.ok()) {
      z.live = true;
      z.slot_power = AddSlot("power." + z.name + "_w");
      z.slot_energy = AddSlot("energy." + z.name + "_j");
    } else {
      z.error = s.message();
      // CVE-2020-8694 (Platypus): since Linux 5.10 energy_uj is 0400 root.
      if (s.code() == StatusCode::kPermissionDenied)
        z.error += " (energy_uj is readable by root only since Linux 5.10)";
    }
    rapl.push_back(std::move(z));
  }
  const bool any =
      std::any_of(rapl.begin(), rapl.end(), [](const RaplZone& z) { return z.live; });
  state["rapl"] = any ? "present" : "absent";
  if (ids.empty())
    notes["rapl"] = dir + ": no intel-rapl:* zones";
  else if (!any)
    notes["rapl"] = rapl.front().id + ": " + rapl.front().error;
}

void Telemetry::Impl::ChoosePrimary() {
  // 1. RAPL package: an energy counter, exact between any two readings.
  for (size_t i = 0; i < rapl.size(); ++i)
    if (rapl[i].package && rapl[i].live) primary_index.push_back(i);
  if (!primary_index.empty()) {
    primary = Primary::kRapl;
    for (const size_t i : primary_index)
      primary_id += (primary_id.empty() ? "rapl:" : "+") + rapl[i].raw_name;
    if (primary_index.size() > 1) primary_note = "the sum of every package";
  } else {
    // 2. The battery: everything the device draws while it runs on it.
    int best = -1;
    for (size_t i = 0; i < powers.size(); ++i) {
      const PowerSource& p = powers[i];
      if (!p.battery || !p.live) continue;
      if (best < 0 || p.label == "battery") best = static_cast<int>(i);
      if (p.label == "battery") break;
    }
    // 3. The hwmon rail that feeds the whole board or module.
    if (best < 0) {
      for (size_t i = 0; i < powers.size() && best < 0; ++i) {
        const PowerSource& p = powers[i];
        if (p.kind != "hwmon" || !p.live) continue;
        const std::string l = ti::SanitizeName(p.label);
        for (const std::string_view w : kWholeInputLabels)
          if (l == w) best = static_cast<int>(i);
      }
    }
    if (best >= 0) {
      const PowerSource& p = powers[static_cast<size_t>(best)];
      primary = Primary::kPower;
      primary_index.push_back(static_cast<size_t>(best));
      primary_id = p.id;
      if (p.battery) {
        primary_note = "battery energy: the whole device, screen and radios included";
        if (p.status_at_start.empty())
          primary_note += "; no status file: the direction comes from the current's sign";
        else if (p.status_at_start != "Discharging")
          primary_note +=
              "; status was \"" + p.status_at_start +
              "\" at start: with external power connected the battery's energy "
              "is not the device's consumption (charging gives negative energy)";
      }
    }
  }
  if (primary != Primary::kNone) slot_primary = AddSlot("energy.primary_j");
}

// ---------------------------------------------------------------------------
// Sampling

void Telemetry::Impl::ReadMemStatus(double* row, int64_t t) {
  char buf[8192];
  const ssize_t n = mem.status.Read(buf, sizeof buf);
  int64_t rss = 0, hwm = 0;
  const std::string_view text(buf, n > 0 ? static_cast<size_t>(n) : 0);
  if (n > 0 && ti::FindKeyInt(text, "VmRSS:", &rss)) {
    row[mem.slot_rss] = static_cast<double>(rss);
    if (ti::FindKeyInt(text, "VmHWM:", &hwm))
      row[mem.slot_hwm] = static_cast<double>(hwm);
    return;
  }
  mem.status_live = false;
  Lose("mem:" + mem.dir + "/status",
       n < 0 ? ErrnoToStatus(static_cast<int>(-n), mem.status.path()).message()
             : "no VmRSS (the process exited?)",
       t);
}

void Telemetry::Impl::ReadPss(double* row, int64_t t) {
  char buf[4096];
  const ssize_t n = mem.smaps.Read(buf, sizeof buf);
  int64_t pss = 0;
  if (n > 0 &&
      ti::FindKeyInt(std::string_view(buf, static_cast<size_t>(n)), "Pss:", &pss)) {
    row[mem.slot_pss] = static_cast<double>(pss);
    return;
  }
  mem.smaps_live = false;
  Lose("mem:" + mem.dir + "/smaps_rollup",
       n < 0 ? ErrnoToStatus(static_cast<int>(-n), mem.smaps.path()).message()
             : "no Pss line (the process exited?)",
       t);
}

void Telemetry::Impl::ReadPower(PowerSource& p, double* row, int64_t t) {
  int64_t raw = 0;
  double w = 0;
  Status s;
  if (p.power.is_open()) {
    s = p.power.ReadInt(&raw);
    w = static_cast<double>(raw) * p.power_scale;
    if (p.battery && s.ok()) {
      ti::BatteryStatus st = ti::BatteryStatus::kUnknown;
      char buf[32];
      if (p.status.is_open() && p.status.Read(buf, sizeof buf) > 0)
        st = ti::ParseBatteryStatus(buf);
      w = ti::BatteryPowerW(st, Nan(), Nan(), w);
    }
  } else {
    int64_t volts = 0;
    s = p.current.ReadInt(&raw);
    if (s.ok()) s = p.voltage.ReadInt(&volts);
    const double a = static_cast<double>(raw) * p.current_scale;
    const double v = static_cast<double>(volts) * p.voltage_scale;
    if (p.battery) {
      ti::BatteryStatus st = ti::BatteryStatus::kUnknown;
      char buf[32];
      if (p.status.is_open() && p.status.Read(buf, sizeof buf) > 0)
        st = ti::ParseBatteryStatus(buf);
      w = ti::BatteryPowerW(st, a, v, Nan());
    } else {
      w = a * v;
    }
  }
  if (!s.ok()) {
    p.live = false;
    p.lost = true;
    p.error = s.message();
    Lose(p.id, s.message(), t);
    return;
  }
  if (p.have_prev && t > p.prev_t)
    p.energy_j += ti::TrapezoidJ(p.prev_w, w, t - p.prev_t);
  p.have_prev = true;
  p.prev_w = w;
  p.prev_t = t;
  row[p.slot_power] = w;
  row[p.slot_energy] = p.energy_j;
}

void Telemetry::Impl::ReadRapl(RaplZone& z, double* row, int64_t t) {
  int64_t raw = 0;
  Status s = z.energy.ReadInt(&raw);
  if (s.ok() && raw < 0) s = DataLossError(z.energy.path() + ": negative");
  if (!s.ok()) {
    z.live = false;
    z.lost = true;
    z.error = s.message();
    Lose("rapl:" + z.id, s.message(), t);
    return;
  }
  const uint64_t uj = static_cast<uint64_t>(raw);
  if (z.have_prev) {
    const double de_j =
        static_cast<double>(ti::RaplDeltaUj(z.prev_uj, uj, z.max_range_uj)) * 1e-6;
    z.energy_j += de_j;
    if (t > z.prev_t)
      row[z.slot_power] = de_j / (static_cast<double>(t - z.prev_t) * 1e-9);
  }
  z.have_prev = true;
  z.prev_uj = uj;
  z.prev_t = t;
  row[z.slot_energy] = z.energy_j;
}

size_t Telemetry::Impl::TakeSampleLocked(bool force) {
  const size_t width = names.size();
  const size_t index = times.size();
  const int64_t t = ti::SampleNowNs();
  times.push_back(t);
  rows.resize(rows.size() + width, Nan());
  double* row = rows.data() + index * width;
  int groups_read = 0;

  const auto group = [&](Group g, bool any, auto&& read) {
    GroupBudget& b = budget[g];
    if (!any || (!force && t < b.next_ns)) return;
    ++groups_read;
    const int64_t c0 = ThreadCpuNs();
    read();
    const int64_t cpu = ThreadCpuNs() - c0;
    b.last_cpu_ns = cpu;
    b.cpu_ns += cpu;
    ++b.reads;
    b.next_ns = t + kBudgetFactor * groups_in_use * cpu;
  };
  group(kGroupMem, mem.status_live, [&] { ReadMemStatus(row, t); });
  // PSS only in SampleNow (the opening and closing reading of every
  // repetition), never on the sampler thread: smaps_rollup takes
  // milliseconds for a model-sized process, and when every core decodes
  // that stalls a worker, and so the whole token, each time it runs
  // (measured: decode 1.3% slower at 2 threads on 2 cores with it
  // periodic). PSS moves little within a repetition; its end is its peak.
  group(kGroupPss, mem.smaps_live && force, [&] { ReadPss(row, t); });
  group(kGroupCpufreq, !clusters.empty(), [&] {
    for (FreqCluster& c : clusters) {
      if (!c.live) continue;
      int64_t best = -1;
      for (const ti::SysfsFile& f : c.cur) {
        int64_t v = 0;
        Status s = f.ReadInt(&v);
        if (!s.ok()) {
          c.live = false;
          c.error = s.message();
          Lose("cpufreq:" + c.name, s.message(), t);
          break;
        }
        best = std::max(best, v);
      }
      // The fastest policy of the cluster: on per-core DVFS (x86) idle
      // cores sit low while the busy ones run at the cluster's speed.
      if (c.live) row[c.slot] = static_cast<double>(best);
    }
  });
  group(kGroupThermal, !zones.empty(), [&] {
    for (ThermalZone& z : zones) {
      if (!z.live) continue;
      int64_t v = 0;
      if (Status s = z.temp.ReadInt(&v); s.ok()) {
        row[z.slot] = static_cast<double>(v) / 1000.0;  // m°C
      } else {
        z.live = false;
        z.error = s.message();
        Lose("thermal:" + z.zone + " (" + z.type + ")", s.message(), t);
      }
    }
  });
  group(kGroupPower, !powers.empty(), [&] {
    for (PowerSource& p : powers)
      if (p.live) ReadPower(p, row, t);
  });
  group(kGroupRapl, !rapl.empty(), [&] {
    for (RaplZone& z : rapl)
      if (z.live) ReadRapl(z, row, t);
  });

  // The primary's energy goes into the samples where its source was read.
  if (primary == Primary::kRapl) {
    double e = 0;
    for (const size_t i : primary_index) {
      const RaplZone& z = rapl[i];
      // NaN once any package is lost: a partial sum would mislead.
      e += z.live && z.prev_t == t ? z.energy_j : Nan();
    }
    row[slot_primary] = e;
  } else if (primary == Primary::kPower) {
    const PowerSource& p = powers[primary_index.front()];
    if (p.live && p.prev_t == t && p.have_prev) row[slot_primary] = p.energy_j;
  }
  // A periodic tick where the budget let no group be read holds only a
  // time; it is not kept (readers would see an empty sample).
  if (groups_read == 0 && !force) {
    times.pop_back();
    rows.resize(index * width);
    return kNoSample;
  }
  return index;
}

protocol::Sample Telemetry::Impl::Materialize(size_t index) const {
  protocol::Sample s;
  s.t_ns = times[index];
  const size_t width = names.size();
  const double* row = rows.data() + index * width;
  size_t n = 0;
  for (size_t i = 0; i < width; ++i) n += !std::isnan(row[i]);
  s.values.reserve(n);
  for (size_t i = 0; i < width; ++i)
    if (!std::isnan(row[i])) s.values.emplace_back(names[i], row[i]);
  return s;
}

void Telemetry::Impl::Run() {
  using Clock = std::chrono::steady_clock;
  const auto period = std::chrono::milliseconds(spec.period_ms);
  std::unique_lock<std::mutex> lock(mu);
  auto next = Clock::now();
  while (!stop) {
    const int64_t c0 = ThreadCpuNs();
    const int64_t w0 = MonotonicNs();
    TakeSampleLocked(false);
    const int64_t w1 = MonotonicNs();
    ++thread_samples;
    thread_wall_ns += w1 - w0;
    thread_cpu_ns += ThreadCpuNs() - c0;
    next += period;
    const auto now = Clock::now();
    // Ticks missed (the device was suspended, or the thread starved) are
    // skipped rather than sampled in a burst.
    if (next < now) next = now + period - (now - next) % period;
    cv.wait_until(lock, next, [this] { return stop; });
  }
}

// ---------------------------------------------------------------------------
// Telemetry

Telemetry::Telemetry(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Telemetry::~Telemetry() { Stop(); }

Result<std::unique_ptr<Telemetry>> Telemetry::Create(
    const protocol::TelemetrySpec& spec) {
  auto impl = std::make_unique<Impl>();
  impl->spec = spec;
  std::set<std::string> wanted;
  for (const std::string& s : spec.sources) {
    if (std::find(std::begin(kSourceKinds), std::end(kSourceKinds), s) ==
        std::end(kSourceKinds))
      return InvalidArgumentError(
          "telemetry.sources: unknown source \"" + s +
          "\" (mem, cpufreq, thermal, power_supply, hwmon, rapl)");
    wanted.insert(s);
  }
  for (const char* k : kSourceKinds) impl->state[k] = "off";
  if (!spec.enabled) return std::unique_ptr<Telemetry>(new Telemetry(std::move(impl)));
  if (spec.period_ms < 1)
    return InvalidArgumentError("telemetry.period_ms: expected >= 1, got " +
                                std::to_string(spec.period_ms));
  if (spec.proc_root.empty() || spec.sys_root.empty())
    return InvalidArgumentError("telemetry: proc_root and sys_root must not be empty");

  // Names of power.<x>_w / energy.<x>_j are shared by every power source.
  std::set<std::string> used = {"primary"};
  if (wanted.count("mem")) impl->DiscoverMem();
  if (wanted.count("cpufreq")) impl->DiscoverCpufreq();
  if (wanted.count("thermal")) impl->DiscoverThermal();
  if (wanted.count("rapl")) impl->DiscoverRapl(&used);
  if (wanted.count("power_supply")) impl->DiscoverPowerSupply(&used);
  if (wanted.count("hwmon")) impl->DiscoverHwmon(&used);
  impl->ChoosePrimary();
  {
    Impl& m = *impl;
    const bool in_use[kGroupCount] = {m.mem_requested,     m.mem_requested,
                                      !m.clusters.empty(), !m.zones.empty(),
                                      !m.powers.empty(),   !m.rapl.empty()};
    m.groups_in_use =
        std::max<int64_t>(1, std::count(in_use, in_use + kGroupCount, true));
  }
  impl->times.reserve(1024);
  impl->rows.reserve(1024 * impl->names.size());
  return std::unique_ptr<Telemetry>(new Telemetry(std::move(impl)));
}

json Telemetry::Describe() const {
  const Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mu);
  json sources = json::object();
  for (const auto& [k, v] : m.state) sources[k] = v;
  // A kind whose every item was lost during the run.
  const auto all_lost = [&](const std::string& kind) {
    bool any = false;
    if (kind == "thermal")
      for (const ThermalZone& z : m.zones) {
        if (z.live) return false;
        any |= z.slot >= 0;
      }
    if (kind == "cpufreq")
      for (const FreqCluster& c : m.clusters) {
        if (c.live) return false;
        any |= c.slot >= 0;
      }
    if (kind == "power_supply" || kind == "hwmon")
      for (const PowerSource& p : m.powers) {
        if (p.kind != kind) continue;
        if (p.live) return false;
        any |= p.lost;
      }
    if (kind == "rapl")
      for (const RaplZone& z : m.rapl) {
        if (z.live) return false;
        any |= z.lost;
      }
    if (kind == "mem") return !m.mem.status_live && !m.mem.smaps_live;
    return any;
  };
  for (const char* k : kSourceKinds)
    if (sources[k] == "present" && all_lost(k)) sources[k] = "lost";

  json clusters = json::array();
  for (const FreqCluster& c : m.clusters) {
    json j = {{"name", c.name},
              {"cpus", c.cpus},
              {"max_khz", c.max_khz},
              {"policy_cpus", c.policy_cpus}};
    j["value"] = c.slot >= 0 ? json(m.names[static_cast<size_t>(c.slot)]) : json(nullptr);
    j["state"] = c.live ? "present" : c.slot >= 0 ? "lost" : "absent";
    if (!c.error.empty()) j["error"] = c.error;
    clusters.push_back(std::move(j));
  }
  json zones = json::array();
  for (const ThermalZone& z : m.zones) {
    json j = {{"zone", z.zone}, {"type", z.type}};
    j["value"] = z.slot >= 0 ? json(m.names[static_cast<size_t>(z.slot)]) : json(nullptr);
    j["state"] = z.live ? "present" : z.slot >= 0 ? "lost" : "absent";
    if (!z.error.empty()) j["error"] = z.error;
    zones.push_back(std::move(j));
  }
  json power = json::array();
  for (const RaplZone& z : m.rapl) {
    json j = {{"source", "rapl:" + z.id},
              {"kind", "rapl"},
              {"label", z.raw_name},
              {"units", "energy_uj µJ, unwrapped at max_energy_range_uj"},
              {"max_energy_range_uj", z.max_range_uj}};
    j["value"] = z.slot_power >= 0 ? json(m.names[static_cast<size_t>(z.slot_power)])
                                   : json(nullptr);
    j["energy"] = z.slot_energy >= 0 ? json(m.names[static_cast<size_t>(z.slot_energy)])
                                     : json(nullptr);
    j["state"] = z.live ? "present" : z.lost ? "lost" : "absent";
    if (!z.error.empty()) j["error"] = z.error;
    power.push_back(std::move(j));
  }
  for (const PowerSource& p : m.powers) {
    json j = {{"source", p.id}, {"kind", p.kind}, {"label", p.label}, {"units", p.units}};
    if (p.battery) j["status_at_start"] = p.status_at_start;
    j["value"] = p.slot_power >= 0 ? json(m.names[static_cast<size_t>(p.slot_power)])
                                   : json(nullptr);
    j["energy"] = p.slot_energy >= 0 ? json(m.names[static_cast<size_t>(p.slot_energy)])
                                     : json(nullptr);
    j["state"] = p.live ? "present" : p.lost ? "lost" : "absent";
    if (!p.error.empty()) j["error"] = p.error;
    power.push_back(std::move(j));
  }
  json lost = json::array();
  for (const LostItem& l : m.lost)
    lost.push_back({{"source", l.source}, {"error", l.error}, {"t_ns", l.t_ns}});

  json d = {{"sources", sources},
            {"period_ms", m.spec.period_ms},
            {"primary_energy", m.primary_id.empty() ? json(nullptr) : json(m.primary_id)},
            {"clusters", clusters},
            {"thermal_zones", zones},
            {"power", power},
            {"values", m.names},
            {"lost", lost}};
  if (!m.primary_note.empty()) d["primary_note"] = m.primary_note;
  if (!m.notes.empty()) d["notes"] = m.notes;
  if (m.mem_requested) {
    d["mem"] = {{"dir", m.mem.dir},
                {"status", m.mem.status_live ? "present" : "absent"},
                {"pss", m.mem.smaps_live ? "present" : "absent"}};
  }
  // What sampling costs on this device: CPU per read of each group, how
  // often the budget lets it be read, and the sampler thread's totals.
  json sampler = {{"budget", "1/" + std::to_string(kBudgetFactor) + " of one core"}};
  json groups = json::object();
  for (int g = 0; g < kGroupCount; ++g) {
    const GroupBudget& b = m.budget[g];
    if (b.reads == 0) continue;
    groups[kGroupNames[g]] = {
        {"reads", b.reads},
        {"cpu_us_mean",
         static_cast<double>(b.cpu_ns) / static_cast<double>(b.reads) / 1e3},
        {"cpu_us_last", static_cast<double>(b.last_cpu_ns) / 1e3},
        {"min_interval_ms",
         static_cast<double>(kBudgetFactor * m.groups_in_use * b.last_cpu_ns) / 1e6}};
  }
  sampler["groups"] = groups;
  if (m.thread_samples > 0) {
    const double n = static_cast<double>(m.thread_samples);
    sampler["samples"] = m.thread_samples;
    sampler["cpu_us_mean"] = static_cast<double>(m.thread_cpu_ns) / n / 1e3;
    sampler["wall_us_mean"] = static_cast<double>(m.thread_wall_ns) / n / 1e3;
  }
  d["sampler"] = sampler;
  return d;
}

void Telemetry::SetPid(pid_t pid) {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mu);
  if (!m.mem_requested) return;
  m.OpenMem(m.spec.proc_root + "/" + std::to_string(pid));
  if (!m.mem.status_live)
    m.Lose("mem:" + m.mem.dir, m.mem.status_error, ti::SampleNowNs());
}

Status Telemetry::Start() {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mu);
  if (m.running)
    return FailedPreconditionError("telemetry: the sampler is already running");
  // Nothing to read: no thread. SampleNow still gives timestamps.
  if (!m.spec.enabled || m.names.empty()) return Status::Ok();
  m.stop = false;
  try {
    m.thread = std::thread([&m] { m.Run(); });
  } catch (const std::system_error& e) {
    return ResourceExhaustedError(
        std::string("telemetry: cannot start the sampler thread: ") + e.what());
  }
  m.running = true;
  return Status::Ok();
}

void Telemetry::Stop() {
  Impl& m = *impl_;
  {
    std::lock_guard<std::mutex> lock(m.mu);
    if (!m.running) return;
    m.stop = true;
  }
  m.cv.notify_all();
  m.thread.join();
  std::lock_guard<std::mutex> lock(m.mu);
  m.running = false;
}

std::vector<protocol::Sample> Telemetry::Drain() {
  Impl& m = *impl_;
  std::vector<int64_t> times;
  std::vector<double> rows;
  std::vector<std::string> names;
  {
    std::lock_guard<std::mutex> lock(m.mu);
    times.swap(m.times);
    rows.swap(m.rows);
    // The sampler appends again right away; give it room so the next
    // samples do not grow the buffer from nothing.
    m.times.reserve(std::max<size_t>(256, times.size()));
    m.rows.reserve(std::max<size_t>(256, times.size()) * m.names.size());
  }
  // Materialize outside the lock: names never change after Create.
  std::vector<protocol::Sample> out;
  out.reserve(times.size());
  const size_t width = m.names.size();
  for (size_t i = 0; i < times.size(); ++i) {
    protocol::Sample s;
    s.t_ns = times[i];
    const double* row = rows.data() + i * width;
    for (size_t k = 0; k < width; ++k)
      if (!std::isnan(row[k])) s.values.emplace_back(m.names[k], row[k]);
    out.push_back(std::move(s));
  }
  return out;
}

protocol::Sample Telemetry::SampleNow() {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mu);
  return m.Materialize(m.TakeSampleLocked(true));
}

std::map<std::string, double> Telemetry::Temperatures() const {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mu);
  std::map<std::string, double> out;
  for (ThermalZone& z : m.zones) {
    if (!z.live) continue;
    int64_t v = 0;
    if (Status s = z.temp.ReadInt(&v); s.ok()) {
      out[z.name] = static_cast<double>(v) / 1000.0;
    } else {
      z.live = false;
      z.error = s.message();
      m.Lose("thermal:" + z.zone + " (" + z.type + ")", s.message(), ti::SampleNowNs());
    }
  }
  return out;
}

double Telemetry::MeasureIdlePowerW(int duration_ms) {
  Impl& m = *impl_;
  if (duration_ms <= 0) return Nan();
  const auto value = [&m](size_t i) {
    return m.rows[i * m.names.size() + static_cast<size_t>(m.slot_primary)];
  };
  int64_t t0 = 0;
  double e0 = Nan();
  bool sampler_running = false;
  {
    std::lock_guard<std::mutex> lock(m.mu);
    if (m.primary == Impl::Primary::kNone) return Nan();
    const size_t i = m.TakeSampleLocked(true);
    t0 = m.times[i];
    e0 = value(i);
    sampler_running = m.running;
  }
  // A power reading integrates well only when sampled as often as during a
  // run; without the sampler thread this loop takes its place.
  using Clock = std::chrono::steady_clock;
  const auto end = Clock::now() + std::chrono::milliseconds(duration_ms);
  const auto step =
      std::chrono::milliseconds(sampler_running ? duration_ms : m.spec.period_ms);
  for (auto now = Clock::now(); now < end; now = Clock::now()) {
    std::this_thread::sleep_for(std::min<Clock::duration>(step, end - now));
    if (!sampler_running && Clock::now() < end) {
      std::lock_guard<std::mutex> lock(m.mu);
      m.TakeSampleLocked(false);
    }
  }
  std::lock_guard<std::mutex> lock(m.mu);
  const size_t i = m.TakeSampleLocked(true);
  const int64_t t1 = m.times[i];
  const double e1 = value(i);
  if (std::isnan(e0) || std::isnan(e1) || t1 <= t0) return Nan();
  return (e1 - e0) / (static_cast<double>(t1 - t0) * 1e-9);
}

// ---------------------------------------------------------------------------
// Free functions

CooldownResult WaitForCooldown(Telemetry& telemetry, const protocol::CooldownSpec& spec,
                               const std::atomic<bool>& cancel) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto deadline =
      start + std::chrono::duration_cast<Clock::duration>(
                  std::chrono::duration<double>(std::max(0.0, spec.timeout_s)));
  const auto poll = std::chrono::milliseconds(std::max(1, spec.poll_ms));
  // Sleep in short slices so a cancel (Ctrl-C) is seen within ~10 ms.
  const auto slice = std::chrono::milliseconds(10);
  CooldownResult r;
  for (;;) {
    r.temps_c = telemetry.Temperatures();
    r.max_temp_c = NAN;
    for (const auto& [zone, c] : r.temps_c)
      r.max_temp_c = std::isnan(r.max_temp_c) ? c : std::max(r.max_temp_c, c);
    const auto now = Clock::now();
    if (r.temps_c.empty() || !spec.enabled || r.max_temp_c <= spec.max_temp_c ||
        cancel.load())
      break;
    if (now >= deadline) {
      r.timed_out = true;
      break;
    }
    const auto wake = std::min(now + poll, deadline);
    while (!cancel.load()) {
      const auto t = Clock::now();
      if (t >= wake) break;
      std::this_thread::sleep_for(std::min<Clock::duration>(slice, wake - t));
    }
  }
  r.waited_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  return r;
}

Result<std::vector<int>> ClusterCores(const std::string& sys_root, bool big) {
  ASSIGN_OR_RETURN(ti::CpuTopology topo, ti::ReadCpuTopology(sys_root));
  if (topo.clusters.size() <= 1) return topo.online;
  if (!big) return topo.clusters.front().cpus;
  // "big" is every core outside the slowest cluster: on a 4 + 3 + 1 phone
  // the 3 performance cores and the prime core, where `threads: 4,
  // cpus: big` is meant to run, not the lone prime core.
  std::vector<int> cores;
  for (size_t c = 1; c < topo.clusters.size(); ++c)
    cores.insert(cores.end(), topo.clusters[c].cpus.begin(), topo.clusters[c].cpus.end());
  std::sort(cores.begin(), cores.end());
  return cores;
}

Result<int64_t> MemAvailableKb(const std::string& proc_root) {
  const std::string path = proc_root + "/meminfo";
  ASSIGN_OR_RETURN(ti::SysfsFile f, ti::SysfsFile::Open(path));
  char buf[16384];
  const ssize_t n = f.Read(buf, sizeof buf);
  if (n < 0) return ErrnoToStatus(static_cast<int>(-n), path);
  int64_t kb = 0;
  // MemAvailable appeared in Linux 3.14; every kernel we run on has it.
  if (!ti::FindKeyInt(std::string_view(buf, static_cast<size_t>(n)),
                      "MemAvailable:", &kb))
    return NotFoundError(path + ": no MemAvailable line");
  return kb;
}

}  // namespace edgebench::runtime
