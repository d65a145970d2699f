// Tests for harness/devices/probe and the adb-scripts: the compiled-in
// scripts are written to a temporary folder and run for real under dash,
// busybox sh and bash (and mksh, Android's shell, where it is installed)
// against sysfs/procfs trees shaped like a Pixel 8, a Raspberry Pi 5 and an
// x86 laptop, and against this machine; prepare.sh and restore.sh run
// against fake Android commands that log their calls.
#include "harness/devices/probe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "base/subprocess.h"
#include "harness/devices/scripts.h"
#include "tests/testing/testing.h"

namespace edgebench::harness {
namespace {

namespace fs = std::filesystem;
using edgebench::testing::ReadFile;
using edgebench::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// ---------------------------------------------------------------------------
// Helpers

// The program's path on PATH, "" when it is not there.
std::string FindProgram(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string p = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

struct Shell {
  std::string name;               // "busybox sh"
  std::vector<std::string> argv;  // {"busybox", "sh"}
};

// The shells the scripts must run under. dash, busybox and bash are
// required (scripts/setup.sh installs them): a missing one fails the test
// rather than quietly checking less. mksh, Android's /system/bin/sh, is
// used when installed.
std::vector<Shell> Shells() {
  std::vector<Shell> shells;
  for (const char* required : {"dash", "busybox", "bash"}) {
    const std::string path = FindProgram(required);
    if (path.empty()) {
      ADD_FAILURE() << required << " is not installed (scripts/setup.sh installs it)";
      continue;
    }
    if (std::string(required) == "busybox")
      shells.push_back({"busybox sh", {path, "sh"}});
    else
      shells.push_back({required, {path}});
  }
  if (const std::string mksh = FindProgram("mksh"); !mksh.empty())
    shells.push_back({"mksh", {mksh}});
  return shells;
}

// A folder tree built in a temporary directory: sysfs-like attributes, fake
// commands, scripts.
class Tree {
 public:
  const std::string& root() const { return dir_.path(); }
  std::string Path(const std::string& rel) const { return dir_.File(rel); }

  // A file with exactly `content`; parent folders are created.
  Tree& Text(const std::string& rel, const std::string& content) {
    const std::string p = Path(rel);
    fs::create_directories(fs::path(p).parent_path());
    edgebench::testing::WriteFile(p, content);
    return *this;
  }
  // A sysfs attribute: the value and the newline sysfs ends it with.
  Tree& Attr(const std::string& rel, const std::string& value) {
    return Text(rel, value + "\n");
  }
  Tree& Dir(const std::string& rel) {
    fs::create_directories(Path(rel));
    return *this;
  }
  // An executable script.
  Tree& Exe(const std::string& rel, const std::string& content) {
    Text(rel, content);
    ::chmod(Path(rel).c_str(), 0755);
    return *this;
  }
  std::string Read(const std::string& rel) const { return ReadFile(Path(rel)); }
  bool Exists(const std::string& rel) const { return fs::exists(Path(rel)); }

 private:
  TempDir dir_;
};

struct ScriptRun {
  int exit_code = -1;
  std::string out;
  std::string err;
  double wall_s = 0;
};

// Runs `script_path` under `shell` with `args`; `env` entries are
// "NAME=value" set on top of this process's environment. With `via_stdin`,
// the script's text goes to `sh -s ARGS` on stdin, as the transports run it.
ScriptRun RunScript(const Shell& shell, const std::string& script_path,
                    const std::vector<std::string>& args,
                    const std::vector<std::string>& env = {}, bool via_stdin = false) {
  std::vector<std::string> argv = shell.argv;
  SubprocessOptions options;
  if (via_stdin) {
    argv.push_back("-s");
    options.stdin_data = ReadFile(script_path);
  } else {
    argv.push_back(script_path);
  }
  argv.insert(argv.end(), args.begin(), args.end());
  options.timeout = std::chrono::seconds(60);
  options.env = env;
  const auto start = std::chrono::steady_clock::now();
  SubprocessResult r = RunSubprocess(argv, options);
  ScriptRun run;
  run.wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(r.spawn_status.ok()) << r.spawn_status.ToString();
  EXPECT_FALSE(r.timed_out) << shell.name << " " << script_path;
  run.exit_code = r.exit_code;
  run.out = std::move(r.out);
  run.err = std::move(r.err);
  return run;
}

std::string PathWith(const std::string& dir) {
  const char* path = std::getenv("PATH");
  return "PATH=" + dir + ":" + (path ? path : "/usr/bin:/bin");
}

// The lines of `text` that start with `prefix`.
std::vector<std::string> LinesStartingWith(const std::string& text,
                                           const std::string& prefix) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0) out.push_back(line);
  return out;
}

// ---------------------------------------------------------------------------
// Fake devices for probe.sh

// /proc/cpuinfo of an arm64 kernel: one block per core with its part.
std::string ArmCpuinfo(const std::vector<std::string>& parts, const std::string& features,
                       const std::string& variant) {
  std::string s;
  for (size_t i = 0; i < parts.size(); ++i) {
    s += "processor\t: " + std::to_string(i) + "\n";
    s += "BogoMIPS\t: 49.15\n";
    s += "Features\t: " + features + "\n";
    s += "CPU implementer\t: 0x41\n";
    s += "CPU architecture: 8\n";
    s += "CPU variant\t: " + variant + "\n";
    s += "CPU part\t: " + parts[i] + "\n";
    s += "CPU revision\t: 1\n\n";
  }
  return s;
}

// `uname -r -m` (and -r, -m alone) answering as another machine.
std::string FakeUname(const std::string& release, const std::string& machine) {
  static constexpr char kBody[] = R"(
r='' m=''
for a in "$@"; do
  case $a in -r) r=1 ;; -m) m=1 ;; -a) r=1 m=1 ;; esac
done
out=''
[ -n "$r" ] && out=$release
[ -n "$m" ] && out="${out:+$out }$machine"
echo "$out"
)";
  return "#!/bin/sh\nrelease='" + release + "' machine='" + machine + "'" + kBody;
}

// getprop like Android's: no argument lists `[key]: [value]` lines, one
// argument prints that property's value (empty when unset). The
// properties are the lines of `props_file`.
std::string FakeGetprop(const std::string& props_file) {
  static constexpr char kBody[] = R"(
if [ $# -eq 0 ]; then
  while IFS= read -r l; do echo "$l"; done < "$props"
  exit 0
fi
while IFS= read -r l; do
  case $l in "[$1]: ["*) v=${l#*"]: ["}; echo "${v%]}"; exit 0 ;; esac
done < "$props"
echo
)";
  return "#!/bin/sh\nprops='" + props_file + "'" + kBody;
}

const char kPixelFeatures[] =
    "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm "
    "jscvt "
    "fcma lrcpc dcpop sha3 sm3 sm4 asimddp sha512 sve asimdfhm dit uscat ilrcpc flagm "
    "ssbs sb paca pacg dcpodp sve2 sveaes svepmull svebitperm svesha3 svesm4 flagm2 "
    "frint svei8mm svebf16 i8mm bf16 dgh bti mte mte3";

// A Pixel 8 (Tensor G3): 4×Cortex-A510 @1.70 GHz, 4×Cortex-A715 @2.37 GHz,
// 1×Cortex-X3 @2.91 GHz, battery at 83% discharging, three thermal zones.
void BuildPixel8(Tree& t) {
  t.Text("props",
         "[dalvik.vm.heapsize]: [512m]\n"
         "[init.svc.vendor.thermal-hal]: [running]\n"
         "[ro.board.platform]: [zuma]\n"
         "[ro.build.fingerprint]: "
         "[google/shiba/shiba:14/AP1A.240305.019.A1/11445699:user/release-keys]\n"
         "[ro.build.version.release]: [14]\n"
         "[ro.build.version.sdk]: [34]\n"
         "[ro.hardware]: [shiba]\n"
         "[ro.product.cpu.abi]: [arm64-v8a]\n"
         "[ro.product.cpu.abilist]: [arm64-v8a,armeabi-v7a,armeabi]\n"
         "[ro.product.manufacturer]: [Google]\n"
         "[ro.product.model]: [Pixel 8]\n"
         "[ro.soc.manufacturer]: [Google]\n"
         "[ro.soc.model]: [Tensor G3]\n");
  t.Exe("bin/getprop", FakeGetprop(t.Path("props")));
  t.Exe("bin/uname",
        FakeUname("5.15.110-android14-11-gcc1b5bcd0ca7-ab11174230", "aarch64"));
  std::vector<std::string> parts;
  for (int i = 0; i < 4; ++i) parts.push_back("0xd46");
  for (int i = 0; i < 4; ++i) parts.push_back("0xd4d");
  parts.push_back("0xd4e");
  t.Text("proc/cpuinfo", ArmCpuinfo(parts, kPixelFeatures, "0x1"));
  t.Text("proc/meminfo",
         "MemTotal:        7869912 kB\nMemFree:          412340 kB\n"
         "MemAvailable:    3145728 kB\n");
  const int64_t khz[] = {1704000, 1704000, 1704000, 1704000, 2367000,
                         2367000, 2367000, 2367000, 2914000};
  for (int i = 0; i < 9; ++i) {
    const std::string cpu = "sys/devices/system/cpu/cpu" + std::to_string(i);
    t.Attr(cpu + "/cpufreq/cpuinfo_max_freq", std::to_string(khz[i]));
    t.Attr(cpu + "/cpufreq/scaling_governor", "sched_pixel");
  }
  t.Dir("sys/devices/system/cpu/cpufreq/policy0");
  t.Dir("sys/devices/system/cpu/cpuidle");
  t.Attr("sys/class/power_supply/battery/type", "Battery");
  t.Attr("sys/class/power_supply/battery/capacity", "83");
  t.Attr("sys/class/power_supply/battery/status", "Discharging");
  t.Attr("sys/class/power_supply/battery/current_now", "-512000");
  t.Attr("sys/class/power_supply/battery/voltage_now", "3987000");
  t.Attr("sys/class/power_supply/usb/type", "USB");
  t.Attr("sys/class/power_supply/usb/current_max", "0");
  // A file the shell cannot read (here: a folder where a file should be)
  // must change nothing and print nothing on stderr.
  t.Dir("sys/class/power_supply/bms/type");
  t.Attr("sys/class/thermal/thermal_zone0/type", "BIG");
  t.Attr("sys/class/thermal/thermal_zone1/type", "MID");
  t.Attr("sys/class/thermal/thermal_zone2/type", "LITTLE");
  t.Dir("sys/class/thermal/cooling_device0");
  t.Dir("etc");
}

std::string PixelExpected() {
  std::string s =
      "probe_version=1\n"
      "os=android\n"
      "arch=aarch64\n"
      "abi=arm64-v8a\n"
      "model=Pixel 8\n"
      "soc=Tensor G3\n"
      "cpu_model=Cortex-A510 + Cortex-A715 + Cortex-X3\n"
      "n_cpus=9\n";
  const char* cores[] = {"Cortex-A510", "Cortex-A715", "Cortex-X3"};
  const char* khz[] = {"1704000", "2367000", "2914000"};
  for (int i = 0; i < 9; ++i) {
    const int c = i < 4 ? 0 : i < 8 ? 1 : 2;
    s += "cpu." + std::to_string(i) + ".max_khz=" + khz[c] + "\n";
    s += "cpu." + std::to_string(i) + ".core=" + cores[c] + "\n";
  }
  s += std::string("features=") + kPixelFeatures + "\n";
  s += "ram_kb=7869912\n"
       "os_version=14 (SDK 34)\n"
       "kernel=5.15.110-android14-11-gcc1b5bcd0ca7-ab11174230\n"
       "governor=sched_pixel\n"
       "battery_pct=83\n"
       "battery_status=Discharging\n"
       "thermal.0.type=BIG\n"
       "thermal.1.type=MID\n"
       "thermal.2.type=LITTLE\n"
       "power_source=power_supply:battery\n"
       "manufacturer=Google\n"
       "abilist=arm64-v8a,armeabi-v7a,armeabi\n"
       "fingerprint=google/shiba/shiba:14/AP1A.240305.019.A1/11445699:user/release-keys\n"
       "soc_vendor=Google\n";
  return s;
}

const char kPi5Features[] =
    "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm "
    "lrcpc "
    "dcpop asimddp";

// A Raspberry Pi 5: device-tree model and compatible (NUL-separated),
// 4×Cortex-A76 @2.4 GHz, no battery, one thermal zone, a hwmon chip with a
// temperature but no power rail.
void BuildPi5(Tree& t) {
  t.Exe("bin/uname", FakeUname("6.6.31+rpt-rpi-2712", "aarch64"));
  t.Text("proc/cpuinfo",
         ArmCpuinfo({"0xd0b", "0xd0b", "0xd0b", "0xd0b"}, kPi5Features, "0x4") +
             "Revision\t: d04170\n"
             "Serial\t\t: 2f9d2b3c1b5e8a11\n"
             "Model\t\t: Raspberry Pi 5 Model B Rev 1.0\n");
  t.Text("proc/meminfo", "MemTotal:        8245408 kB\nMemFree:         7012345 kB\n");
  t.Text("proc/device-tree/model", std::string("Raspberry Pi 5 Model B Rev 1.0\0", 31));
  t.Text("proc/device-tree/compatible",
         std::string("raspberrypi,5-model-b\0brcm,bcm2712\0", 35));
  for (int i = 0; i < 4; ++i) {
    const std::string cpu = "sys/devices/system/cpu/cpu" + std::to_string(i);
    t.Attr(cpu + "/cpufreq/cpuinfo_max_freq", "2400000");
    t.Attr(cpu + "/cpufreq/scaling_governor", "ondemand");
  }
  t.Attr("sys/class/thermal/thermal_zone0/type", "cpu-thermal");
  t.Attr("sys/class/hwmon/hwmon0/name", "cpu_thermal");
  t.Attr("sys/class/hwmon/hwmon0/temp1_input", "51350");
  t.Text("etc/os-release",
         "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
         "NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n");
}

std::string Pi5Expected() {
  std::string s =
      "probe_version=1\n"
      "os=linux\n"
      "arch=aarch64\n"
      "abi=aarch64\n"
      "model=Raspberry Pi 5 Model B Rev 1.0\n"
      "soc=bcm2712\n"
      "cpu_model=Cortex-A76\n"
      "n_cpus=4\n";
  for (int i = 0; i < 4; ++i)
    s += "cpu." + std::to_string(i) + ".max_khz=2400000\ncpu." + std::to_string(i) +
         ".core=Cortex-A76\n";
  s += std::string("features=") + kPi5Features + "\n";
  s += "ram_kb=8245408\n"
       "os_version=Debian GNU/Linux 12 (bookworm)\n"
       "kernel=6.6.31+rpt-rpi-2712\n"
       "governor=ondemand\n"
       "thermal.0.type=cpu-thermal\n"
       "dt_compatible=raspberrypi,5-model-b brcm,bcm2712\n";
  return s;
}

// An x86 laptop without cpufreq or cpu folders in sysfs (as in many VMs),
// with every kind of power source, thermal zones numbered past 9, and
// CRLF and tab noise in its files.
void BuildLaptop(Tree& t) {
  t.Exe("bin/uname", FakeUname("6.1.0-18-amd64", "x86_64"));
  std::string cpuinfo;
  for (int i = 0; i < 2; ++i) {
    cpuinfo += "processor\t: " + std::to_string(i) +
               "\nvendor_id\t: GenuineIntel\n"
               "model name\t: 11th Gen Intel(R) Core(TM) i7-1185G7 @ 3.00GHz\n"
               "flags\t\t: fpu vme sse sse2 avx  f16c fma avx2 avx512f avx512dq avx512bw "
               "avx512vl avx512_vnni amx_tile amx_bf16\n\n";
  }
  t.Text("proc/cpuinfo", cpuinfo);
  t.Text("proc/meminfo", "MemTotal:       16069436 kB\n");
  t.Attr("sys/class/dmi/id/product_name", "XPS 13 9310\r");
  t.Attr("sys/class/power_supply/BAT0/type", "Battery");
  t.Attr("sys/class/power_supply/BAT0/capacity", "55");
  t.Attr("sys/class/power_supply/BAT0/status", "Charging");
  t.Attr("sys/class/power_supply/BAT0/power_now", "12000000");
  t.Attr("sys/class/power_supply/AC/type", "Mains");
  t.Attr("sys/class/power_supply/AC/online", "1");
  t.Attr("sys/class/hwmon/hwmon0/name", "acpitz");
  t.Attr("sys/class/hwmon/hwmon0/temp1_input", "45000");
  t.Attr("sys/class/hwmon/hwmon1/name", "ina3221");
  t.Attr("sys/class/hwmon/hwmon1/in1_label", "VDD_IN");
  t.Attr("sys/class/hwmon/hwmon1/in1_input", "5072");
  t.Attr("sys/class/hwmon/hwmon1/curr1_input", "1204");
  t.Attr("sys/class/hwmon/hwmon2/name", "ina226");
  t.Attr("sys/class/hwmon/hwmon2/power1_input", "6100000");
  t.Attr("sys/class/powercap/intel-rapl:0/name", "package-0");
  t.Attr("sys/class/powercap/intel-rapl:0:0/name", "core");
  t.Attr("sys/class/powercap/intel-rapl-mmio:0/name", "package-0");
  for (const int z : {0, 1, 2, 10, 11})
    t.Attr("sys/class/thermal/thermal_zone" + std::to_string(z) + "/type",
           "zone\t" + std::to_string(z));
  t.Text("etc/os-release", "NAME=Debian\nPRETTY_NAME='Debian GNU/Linux trixie/sid'\r\n");
}

std::string LaptopExpected() {
  return "probe_version=1\n"
         "os=linux\n"
         "arch=x86_64\n"
         "abi=x86_64\n"
         "model=XPS 13 9310\n"
         "soc=\n"
         "cpu_model=11th Gen Intel(R) Core(TM) i7-1185G7 @ 3.00GHz\n"
         "n_cpus=2\n"
         "cpu.0.max_khz=0\n"
         "cpu.1.max_khz=0\n"
         "features=fpu vme sse sse2 avx f16c fma avx2 avx512f avx512dq avx512bw avx512vl "
         "avx512_vnni amx_tile amx_bf16\n"
         "ram_kb=16069436\n"
         "os_version=Debian GNU/Linux trixie/sid\n"
         "kernel=6.1.0-18-amd64\n"
         "governor=\n"
         "battery_pct=55\n"
         "battery_status=Charging\n"
         "thermal.0.type=zone 0\n"
         "thermal.1.type=zone 1\n"
         "thermal.2.type=zone 2\n"
         "thermal.10.type=zone 10\n"
         "thermal.11.type=zone 11\n"
         "power_source=power_supply:BAT0\n"
         "power_source=hwmon:ina3221/hwmon1\n"
         "power_source=hwmon:ina226/hwmon2\n"
         "power_source=rapl:intel-rapl:0\n"
         "power_source=rapl:intel-rapl:0:0\n";
}

// Puts logging stand-ins for the usual text tools first on PATH (bin/ of
// `t`): each appends its name to `log` and runs the real one. The probe
// must not start a process per file, and this counts what it starts.
void ShimTools(Tree& t, const std::string& log) {
  for (const char* tool :
       {"cat", "head", "tail", "sed", "awk", "grep", "cut", "tr", "wc", "ls", "find",
        "printf", "expr", "basename", "dirname", "xargs"}) {
    const std::string real = FindProgram(tool);
    if (real.empty()) continue;
    t.Exe(std::string("bin/") + tool, "#!/bin/sh\necho " + std::string(tool) + " >> '" +
                                          log + "'\nexec '" + real + "' \"$@\"\n");
  }
}

// Writes the compiled-in probe script into `t` and runs it under every
// shell against the tree (EB_SYS, EB_PROC, EB_ETC, PATH with the tree's
// bin/ first); expects the same output from each, a quiet stderr and no
// more than `max_tr` runs of tr (device-tree files) and two of printf
// (where it is no builtin), and returns the output.
std::string ProbeTreeAllShells(Tree& t, int max_tr = 0) {
  t.Exe("probe.sh", std::string(ProbeScript()));
  const std::string log = t.Path("tools.log");
  ShimTools(t, log);
  const std::vector<std::string> env = {
      "EB_SYS=" + t.Path("sys"), "EB_PROC=" + t.Path("proc"), "EB_ETC=" + t.Path("etc"),
      PathWith(t.Path("bin"))};
  std::string first;
  std::string first_shell;
  for (const Shell& shell : Shells()) {
    SCOPED_TRACE(shell.name);
    edgebench::testing::WriteFile(log, "");
    const ScriptRun r = RunScript(shell, t.Path("probe.sh"), {}, env);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.err, "") << "probe.sh must keep stderr quiet when files are missing";
    // Loose: a loaded CI machine must not flake; the tool count below is
    // what catches a process per file.
    EXPECT_LT(r.wall_s, 5.0);
    std::map<std::string, int> started;
    for (const std::string& tool : LinesStartingWith(ReadFile(log), "")) ++started[tool];
    EXPECT_LE(started["tr"], max_tr);
    EXPECT_LE(started["printf"], 2);
    started.erase("tr");
    started.erase("printf");
    for (const auto& [tool, n] : started)
      ADD_FAILURE() << "probe.sh ran " << tool << " " << n << "x";
    if (first_shell.empty()) {
      first = r.out;
      first_shell = shell.name;
    } else {
      EXPECT_EQ(r.out, first) << shell.name << " and " << first_shell << " differ";
    }
  }
  return first;
}

// ---------------------------------------------------------------------------
// probe.sh on fake devices

TEST(ProbeScriptTest, Pixel8UnderEveryShell) {
  Tree t;
  BuildPixel8(t);
  const std::string out = ProbeTreeAllShells(t);
  EXPECT_EQ(out, PixelExpected());

  Result<DeviceProbe> p = ParseProbeOutput(out);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->os, "android");
  EXPECT_EQ(p->arch, "aarch64");
  EXPECT_EQ(p->abi, "arm64-v8a");
  EXPECT_EQ(p->model, "Pixel 8");
  EXPECT_EQ(p->soc, "Tensor G3");
  EXPECT_EQ(p->cpu_model, "Cortex-A510 + Cortex-A715 + Cortex-X3");
  EXPECT_EQ(p->n_cpus, 9);
  EXPECT_THAT(p->cpu_max_khz, ElementsAre(1704000, 1704000, 1704000, 1704000, 2367000,
                                          2367000, 2367000, 2367000, 2914000));
  ASSERT_EQ(p->clusters.size(), 3u);
  EXPECT_THAT(p->clusters[0].cpus, ElementsAre(0, 1, 2, 3));
  EXPECT_EQ(p->clusters[0].max_khz, 1704000);
  EXPECT_THAT(p->clusters[1].cpus, ElementsAre(4, 5, 6, 7));
  EXPECT_EQ(p->clusters[1].max_khz, 2367000);
  EXPECT_THAT(p->clusters[2].cpus, ElementsAre(8));
  EXPECT_EQ(p->clusters[2].max_khz, 2914000);
  EXPECT_THAT(p->cpu_features,
              ElementsAre("asimd", "fphp", "asimdhp", "asimddp", "sve", "asimdfhm",
                          "sve2", "svei8mm", "svebf16", "i8mm", "bf16"));
  EXPECT_EQ(p->raw["features"], kPixelFeatures);
  EXPECT_EQ(p->ram_kb, 7869912);
  EXPECT_EQ(p->os_version, "14 (SDK 34)");
  EXPECT_EQ(p->kernel, "5.15.110-android14-11-gcc1b5bcd0ca7-ab11174230");
  EXPECT_EQ(p->governor, "sched_pixel");
  EXPECT_EQ(p->battery_pct, 83);
  EXPECT_EQ(p->battery_status, "Discharging");
  EXPECT_FALSE(p->charging);
  EXPECT_THAT(p->thermal_zones, ElementsAre("BIG", "MID", "LITTLE"));
  EXPECT_THAT(p->power_sources, ElementsAre("power_supply:battery"));
  EXPECT_EQ(p->raw["cpu.8.core"], "Cortex-X3");
  EXPECT_EQ(p->raw["manufacturer"], "Google");
}

TEST(ProbeScriptTest, RaspberryPi5UnderEveryShell) {
  Tree t;
  BuildPi5(t);
  const std::string out = ProbeTreeAllShells(t, /*max_tr=*/2);
  EXPECT_EQ(out, Pi5Expected());

  Result<DeviceProbe> p = ParseProbeOutput(out);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->os, "linux");
  EXPECT_EQ(p->arch, "aarch64");
  EXPECT_EQ(p->abi, "aarch64");
  EXPECT_EQ(p->model, "Raspberry Pi 5 Model B Rev 1.0");
  EXPECT_EQ(p->soc, "bcm2712");
  EXPECT_EQ(p->cpu_model, "Cortex-A76");
  EXPECT_EQ(p->n_cpus, 4);
  ASSERT_EQ(p->clusters.size(), 1u);
  EXPECT_THAT(p->clusters[0].cpus, ElementsAre(0, 1, 2, 3));
  EXPECT_EQ(p->clusters[0].max_khz, 2400000);
  EXPECT_THAT(p->cpu_features, ElementsAre("asimd", "fphp", "asimdhp", "asimddp"));
  EXPECT_EQ(p->ram_kb, 8245408);
  EXPECT_EQ(p->os_version, "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(p->governor, "ondemand");
  EXPECT_EQ(p->battery_pct, -1);
  EXPECT_EQ(p->battery_status, "");
  EXPECT_THAT(p->thermal_zones, ElementsAre("cpu-thermal"));
  EXPECT_THAT(p->power_sources, IsEmpty());
}

TEST(ProbeScriptTest, LaptopPowerSourcesAndNoisyFiles) {
  Tree t;
  BuildLaptop(t);
  const std::string out = ProbeTreeAllShells(t);
  EXPECT_EQ(out, LaptopExpected());

  Result<DeviceProbe> p = ParseProbeOutput(out);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->n_cpus, 2);
  ASSERT_EQ(p->clusters.size(), 1u);
  EXPECT_EQ(p->clusters[0].max_khz, 0);
  EXPECT_THAT(p->cpu_features,
              ElementsAre("avx", "f16c", "fma", "avx2", "avx512f", "avx512dq", "avx512bw",
                          "avx512vl", "avx512_vnni", "amx_tile", "amx_bf16"));
  EXPECT_EQ(p->battery_pct, 55);
  EXPECT_TRUE(p->charging);
  EXPECT_THAT(p->thermal_zones,
              ElementsAre("zone 0", "zone 1", "zone 2", "zone 10", "zone 11"));
  EXPECT_THAT(p->power_sources, ElementsAre("power_supply:BAT0", "hwmon:ina3221/hwmon1",
                                            "hwmon:ina226/hwmon2", "rapl:intel-rapl:0",
                                            "rapl:intel-rapl:0:0"));
  EXPECT_EQ(p->raw["power_source"].size(), 5u);
}

TEST(ProbeScriptTest, EmptyTreeGivesEmptyValuesAndNoErrors) {
  Tree t;
  t.Exe("bin/uname", FakeUname("6.1.0", "riscv64"));
  t.Dir("sys");
  t.Dir("proc");
  t.Dir("etc");
  const std::string out = ProbeTreeAllShells(t);
  Result<DeviceProbe> p = ParseProbeOutput(out);
  ASSERT_TRUE(p.ok()) << p.status().ToString() << "\n" << out;
  EXPECT_EQ(p->os, "linux");
  EXPECT_EQ(p->arch, "riscv64");
  EXPECT_EQ(p->n_cpus, 0);
  EXPECT_THAT(p->clusters, IsEmpty());
  EXPECT_EQ(p->ram_kb, 0);
  EXPECT_EQ(p->battery_pct, -1);
}

// This machine, for real: the three shells agree, and the parse matches
// what this process finds out for itself.
TEST(ProbeScriptTest, ThisMachine) {
  Tree t;
  t.Exe("probe.sh", std::string(ProbeScript()));
  std::string first;
  for (const Shell& shell : Shells()) {
    SCOPED_TRACE(shell.name);
    const ScriptRun r = RunScript(shell, t.Path("probe.sh"), {});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.err, "");
    EXPECT_LT(r.wall_s, 5.0);
    if (first.empty())
      first = r.out;
    else
      EXPECT_EQ(r.out, first);
    // Fed on stdin to `sh -s`, as ProbeDevice runs it: the same.
    const ScriptRun s = RunScript(shell, t.Path("probe.sh"), {}, {}, /*via_stdin=*/true);
    EXPECT_EQ(s.exit_code, 0);
    EXPECT_EQ(s.out, first);
  }
  Result<DeviceProbe> p = ParseProbeOutput(first);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  std::printf("probe.sh on this machine:\n%s", first.c_str());

  struct utsname u = {};
  ASSERT_EQ(::uname(&u), 0);
  EXPECT_EQ(p->kernel, u.release);
  EXPECT_EQ(p->os, "linux");
#if defined(__x86_64__)
  EXPECT_EQ(p->arch, "x86_64");
#elif defined(__aarch64__)
  EXPECT_EQ(p->arch, "aarch64");
#endif
  EXPECT_EQ(p->abi, p->arch);

  int cpus = 0;
  for (const auto& e : fs::directory_iterator("/sys/devices/system/cpu")) {
    const std::string n = e.path().filename().string();
    if (n.size() > 3 && n.rfind("cpu", 0) == 0 &&
        n.find_first_not_of("0123456789", 3) == std::string::npos)
      ++cpus;
  }
  EXPECT_EQ(p->n_cpus, cpus);
  EXPECT_EQ(p->cpu_max_khz.size(), static_cast<size_t>(cpus));

  const std::string meminfo = ReadFile("/proc/meminfo");
  std::istringstream mem(meminfo);
  std::string label;
  int64_t mem_kb = 0;
  mem >> label >> mem_kb;
  EXPECT_EQ(label, "MemTotal:");
  EXPECT_EQ(p->ram_kb, mem_kb);

  // Features: the parse keeps avx512f exactly when the kernel lists it.
  const std::string cpuinfo = ReadFile("/proc/cpuinfo");
  const bool has_avx512f = cpuinfo.find(" avx512f ") != std::string::npos ||
                           cpuinfo.find(" avx512f\n") != std::string::npos;
  const bool parsed_avx512f = std::find(p->cpu_features.begin(), p->cpu_features.end(),
                                        "avx512f") != p->cpu_features.end();
  EXPECT_EQ(parsed_avx512f, has_avx512f);
  EXPECT_THAT(p->raw["features"].get<std::string>(), Not(IsEmpty()));
}

// shellcheck, POSIX mode, on the scripts as compiled in: no findings.
TEST(ProbeScriptTest, ShellcheckClean) {
  const std::string shellcheck = FindProgram("shellcheck");
  ASSERT_FALSE(shellcheck.empty())
      << "shellcheck is not installed (scripts/setup.sh installs it)";
  const std::pair<const char*, std::string_view> scripts[] = {
      {"probe.sh", ProbeScript()},
      {"prepare.sh", PrepareScript()},
      {"restore.sh", RestoreScript()}};
  for (const auto& [name, text] : scripts) {
    SCOPED_TRACE(name);
    const edgebench::testing::ProgramResult r =
        edgebench::testing::RunProgram({shellcheck, "-s", "sh", "-"}, std::string(text));
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(r.out, "");
  }
}

// The header is generated from adb-scripts/ at build time; the copy in the
// binary must be the file in the tree (a stale header would mean the build
// rule is broken).
TEST(ProbeScriptTest, CompiledInScriptsMatchTheTree) {
  const std::pair<const char*, std::string_view> scripts[] = {
      {"adb-scripts/probe.sh", ProbeScript()},
      {"adb-scripts/prepare.sh", PrepareScript()},
      {"adb-scripts/restore.sh", RestoreScript()}};
  for (const auto& [path, text] : scripts) {
    // CTest runs the tests in the source tree's root.
    if (!fs::exists(path))
      GTEST_SKIP() << path << " not found from " << fs::current_path();
    EXPECT_EQ(ReadFile(path), text) << path;
  }
}

// ---------------------------------------------------------------------------
// ProbeDevice through a Transport

class FakeTransport final : public Transport {
 public:
  explicit FakeTransport(Result<ExecResult> result) : result_(std::move(result)) {}
  std::string_view kind() const override { return "fake"; }
  const std::string& name() const override { return name_; }
  Result<ExecResult> Exec(const std::vector<std::string>& argv,
                          const ExecOptions& options) override {
    argv_ = argv;
    stdin_data_ = options.stdin_data;
    timeout_s_ = options.timeout_s;
    return result_;
  }
  Status Push(const std::string&, const std::string&, const ProgressFn&) override {
    return UnimplementedError("fake");
  }
  Status Pull(const std::string&, const std::string&) override {
    return UnimplementedError("fake");
  }
  Status KillAll() override { return Status::Ok(); }

  std::vector<std::string> argv_;
  std::string stdin_data_;
  double timeout_s_ = 0;

 private:
  std::string name_ = "fake:phone";
  Result<ExecResult> result_;
};

TEST(ProbeDeviceTest, RunsTheScriptThroughShAndParses) {
  ExecResult r;
  r.exit_code = 0;
  r.out = Pi5Expected();
  FakeTransport t(r);
  Result<DeviceProbe> p = ProbeDevice(t);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_THAT(t.argv_, ElementsAre("sh", "-s"));
  EXPECT_EQ(t.stdin_data_, ProbeScript());
  EXPECT_GT(t.timeout_s_, 0);
  EXPECT_EQ(p->model, "Raspberry Pi 5 Model B Rev 1.0");
}

TEST(ProbeDeviceTest, FailedScriptIsAnErrorWithStderrTail) {
  ExecResult r;
  r.exit_code = 2;
  r.err = "noise\nsh: 12: Syntax error: \"(\" unexpected\n";
  FakeTransport t(r);
  Result<DeviceProbe> p = ProbeDevice(t);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(p.status().message(), HasSubstr("fake:phone"));
  EXPECT_THAT(p.status().message(), HasSubstr("exit code 2"));
  EXPECT_THAT(p.status().message(), HasSubstr("Syntax error"));
}

TEST(ProbeDeviceTest, TimeoutAndTransportErrors) {
  ExecResult r;
  r.exit_code = -1;
  r.signal = 9;
  r.timed_out = true;
  FakeTransport slow(r);
  EXPECT_EQ(ProbeDevice(slow).status().code(), StatusCode::kDeadlineExceeded);

  FakeTransport gone(Result<ExecResult>(UnavailableError("adb:R5CT: device offline")));
  Result<DeviceProbe> p = ProbeDevice(gone);
  EXPECT_EQ(p.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(p.status().message(), HasSubstr("device offline"));
}

TEST(ProbeDeviceTest, BadOutputNamesTheDeviceAndLine) {
  ExecResult r;
  r.exit_code = 0;
  r.out = "probe_version=1\nos=linux\ngarbage\n";
  FakeTransport t(r);
  Result<DeviceProbe> p = ProbeDevice(t);
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(), HasSubstr("fake:phone"));
  EXPECT_THAT(p.status().message(), HasSubstr("line 3"));
}

TEST(ProbeDeviceTest, LocalTransportProbesThisMachine) {
  std::unique_ptr<Transport> local = NewLocalTransport();
  Result<DeviceProbe> p = ProbeDevice(*local);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  struct utsname u = {};
  ASSERT_EQ(::uname(&u), 0);
  EXPECT_EQ(p->os, "linux");
  EXPECT_EQ(p->kernel, u.release);
  EXPECT_GT(p->n_cpus, 0);
  EXPECT_GT(p->ram_kb, 0);
}

// ---------------------------------------------------------------------------
// ParseProbeOutput

TEST(ParseProbeOutputTest, MalformedLineIsAnErrorNamingIt) {
  Result<DeviceProbe> p =
      ParseProbeOutput("os=linux\narch=x86_64\nno equals sign here\n");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(p.status().message(), HasSubstr("line 3"));
  EXPECT_THAT(p.status().message(), HasSubstr("no equals sign here"));

  Result<DeviceProbe> q = ParseProbeOutput("os=linux\n=value\n");
  ASSERT_FALSE(q.ok());
  EXPECT_THAT(q.status().message(), HasSubstr("line 2"));
}

TEST(ParseProbeOutputTest, BadNumbersAndIndicesAreErrors) {
  EXPECT_THAT(ParseProbeOutput("ram_kb=lots\n").status().message(),
              HasSubstr("line 1: ram_kb: expected an integer"));
  EXPECT_THAT(ParseProbeOutput("os=linux\ncpu.x.max_khz=1\n").status().message(),
              HasSubstr("line 2"));
  EXPECT_FALSE(ParseProbeOutput("cpu.99999999.max_khz=1\n").ok());
  EXPECT_FALSE(ParseProbeOutput("cpu.-1.max_khz=1\n").ok());
  EXPECT_FALSE(ParseProbeOutput("battery_pct=250\n").ok());
  EXPECT_FALSE(ParseProbeOutput("n_cpus=100000\n").ok());
  Result<DeviceProbe> v = ParseProbeOutput("probe_version=2\n");
  EXPECT_EQ(v.status().code(), StatusCode::kUnimplemented);
}

TEST(ParseProbeOutputTest, MissingKeysKeepDefaults) {
  Result<DeviceProbe> p = ParseProbeOutput("");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->os, "");
  EXPECT_EQ(p->n_cpus, 0);
  EXPECT_THAT(p->cpu_max_khz, IsEmpty());
  EXPECT_THAT(p->clusters, IsEmpty());
  EXPECT_EQ(p->ram_kb, 0);
  EXPECT_EQ(p->battery_pct, -1);
  EXPECT_FALSE(p->charging);
  EXPECT_TRUE(p->raw.is_object());
  EXPECT_TRUE(p->raw.empty());

  // Empty values (what the script prints for an unreadable file) are the
  // defaults too, not errors.
  Result<DeviceProbe> q = ParseProbeOutput("ram_kb=\nbattery_pct=\nn_cpus=\nmodel=\n");
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->ram_kb, 0);
  EXPECT_EQ(q->battery_pct, -1);
  EXPECT_EQ(q->raw["model"], "");
}

TEST(ParseProbeOutputTest, UnknownKeysGoToRawOnly) {
  Result<DeviceProbe> p =
      ParseProbeOutput("os=android\nvendor.secret=a=b\ncpu.3.core=Cortex-X4\n");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->os, "android");
  EXPECT_EQ(p->raw["vendor.secret"], "a=b");
  EXPECT_EQ(p->raw["cpu.3.core"], "Cortex-X4");
  EXPECT_EQ(p->raw["os"], "android");
  EXPECT_EQ(p->model, "");
  EXPECT_EQ(p->n_cpus, 0);
}

TEST(ParseProbeOutputTest, ClustersGroupEqualFrequenciesSlowestFirst) {
  // Out of order, and the fast cores first in numbering (some SoCs do).
  Result<DeviceProbe> p = ParseProbeOutput(
      "n_cpus=8\n"
      "cpu.7.max_khz=1800000\ncpu.0.max_khz=3200000\ncpu.1.max_khz=2600000\n"
      "cpu.2.max_khz=2600000\ncpu.3.max_khz=2600000\ncpu.4.max_khz=1800000\n"
      "cpu.5.max_khz=1800000\ncpu.6.max_khz=1800000\n");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->n_cpus, 8);
  EXPECT_THAT(p->cpu_max_khz, ElementsAre(3200000, 2600000, 2600000, 2600000, 1800000,
                                          1800000, 1800000, 1800000));
  ASSERT_EQ(p->clusters.size(), 3u);
  EXPECT_THAT(p->clusters[0].cpus, ElementsAre(4, 5, 6, 7));
  EXPECT_EQ(p->clusters[0].max_khz, 1800000);
  EXPECT_THAT(p->clusters[1].cpus, ElementsAre(1, 2, 3));
  EXPECT_THAT(p->clusters[2].cpus, ElementsAre(0));
  EXPECT_EQ(p->clusters[2].max_khz, 3200000);

  // No per-core lines: n_cpus cores of unknown frequency, one cluster.
  Result<DeviceProbe> q = ParseProbeOutput("n_cpus=3\n");
  ASSERT_TRUE(q.ok());
  EXPECT_THAT(q->cpu_max_khz, ElementsAre(0, 0, 0));
  ASSERT_EQ(q->clusters.size(), 1u);
  EXPECT_THAT(q->clusters[0].cpus, ElementsAre(0, 1, 2));

  // No n_cpus: counted from the per-core lines.
  Result<DeviceProbe> r = ParseProbeOutput("cpu.0.max_khz=1000\ncpu.1.max_khz=1000\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->n_cpus, 2);
}

TEST(ParseProbeOutputTest, FeaturesFilteredWholeLineKept) {
  const std::string line =
      "fpu sse2 avx avx2 fma f16c avx512f avx512bw avx512vl avx512_vnni avx512_bf16 "
      "avx_vnni "
      "amx_tile amx_int8 amx_bf16 sha_ni avx2";
  Result<DeviceProbe> p = ParseProbeOutput("features=" + line + "\n");
  ASSERT_TRUE(p.ok());
  EXPECT_THAT(p->cpu_features,
              ElementsAre("avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl",
                          "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile",
                          "amx_int8", "amx_bf16"));
  EXPECT_EQ(p->raw["features"], line);

  Result<DeviceProbe> arm = ParseProbeOutput(
      "features=fp asimd asimdhp asimddp i8mm sve sve2 sme bf16 fphp crc32\n");
  ASSERT_TRUE(arm.ok());
  EXPECT_THAT(arm->cpu_features, ElementsAre("asimd", "asimdhp", "asimddp", "i8mm", "sve",
                                             "sve2", "sme", "bf16", "fphp"));
}

TEST(ParseProbeOutputTest, CrlfBlankLinesRepeatedKeysAndBadUtf8) {
  Result<DeviceProbe> p = ParseProbeOutput(
      "os=linux\r\n\r\n\nthermal.1.type=b\r\nthermal.0.type=a\r\n"
      "power_source=rapl:intel-rapl:0\npower_source=hwmon:ina3221/hwmon1\n"
      "model=Caf\xe9 Board\nbattery_status=Charging");  // no final newline
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->os, "linux");
  EXPECT_THAT(p->thermal_zones, ElementsAre("a", "b"));
  EXPECT_THAT(p->power_sources, ElementsAre("rapl:intel-rapl:0", "hwmon:ina3221/hwmon1"));
  EXPECT_EQ(p->raw["power_source"],
            nlohmann::json::array({"rapl:intel-rapl:0", "hwmon:ina3221/hwmon1"}));
  EXPECT_EQ(p->model, "Caf? Board");
  EXPECT_TRUE(p->charging);
  EXPECT_NO_THROW((void)p->ToJson().dump());
}

TEST(DeviceProbeTest, ToJson) {
  Result<DeviceProbe> p = ParseProbeOutput(Pi5Expected());
  ASSERT_TRUE(p.ok());
  const nlohmann::json j = p->ToJson();
  EXPECT_EQ(j["model"], "Raspberry Pi 5 Model B Rev 1.0");
  EXPECT_EQ(j["n_cpus"], 4);
  EXPECT_EQ(j["clusters"],
            nlohmann::json::parse(R"([{"cpus":[0,1,2,3],"max_khz":2400000}])"));
  EXPECT_EQ(j["cpu_features"],
            nlohmann::json::parse(R"(["asimd","fphp","asimdhp","asimddp"])"));
  EXPECT_EQ(j["battery_pct"], -1);
  EXPECT_EQ(j["charging"], false);
  EXPECT_EQ(j["thermal_zones"], nlohmann::json::parse(R"(["cpu-thermal"])"));
  EXPECT_EQ(j["power_sources"], nlohmann::json::array());
  EXPECT_EQ(j["raw"]["dt_compatible"], "raspberrypi,5-model-b brcm,bcm2712");
  for (const char* k : {"os", "arch", "abi", "soc", "cpu_model", "cpu_max_khz", "ram_kb",
                        "os_version", "kernel", "governor", "battery_status"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_TRUE(DeviceProbe{}.ToJson()["raw"].is_object());
}

// ---------------------------------------------------------------------------
// prepare.sh and restore.sh

// A device for prepare/restore: a sysfs tree (battery, three cpufreq
// policies) and fake Android commands that log every call to `log` and keep
// their state in files (screen on/off, stay_on_while_plugged_in, init
// services).
class FakeDevice {
 public:
  explicit FakeDevice(bool android = true, int uid = 0, int battery_pct = 83) {
    t_.Attr("sys/class/power_supply/battery/type", "Battery");
    t_.Attr("sys/class/power_supply/battery/capacity", std::to_string(battery_pct));
    const char* governors[] = {"schedutil", "sched_pixel", "performance"};
    for (int i = 0; i < 3; ++i) {
      const std::string d =
          "sys/devices/system/cpu/cpufreq/policy" + std::to_string(i * 4);
      t_.Attr(d + "/scaling_governor", governors[i]);
      t_.Attr(
          d + "/scaling_available_governors",
          std::string(i == 1 ? "sched_pixel " : "") + "schedutil performance powersave");
    }
    t_.Attr("fake/uid", std::to_string(uid));
    t_.Exe("bin/id",
           "#!/bin/sh\necho \"id $*\" >> \"$EB_FAKE/log\"\ncat \"$EB_FAKE/uid\"\n");
    if (!android) return;
    t_.Attr("fake/screen", "on");
    t_.Attr("fake/stay_on", "7");
    t_.Attr("fake/svc.vendor.thermal-engine", "running");
    t_.Exe("bin/settings",
           "#!/bin/sh\necho \"settings $*\" >> \"$EB_FAKE/log\"\n"
           "case $1 in\n"
           "  get) cat \"$EB_FAKE/stay_on\" ;;\n"
           "  put) echo \"$4\" > \"$EB_FAKE/stay_on\" ;;\n"
           "esac\n");
    t_.Exe(
        "bin/svc",
        "#!/bin/sh\necho \"svc $*\" >> \"$EB_FAKE/log\"\n"
        "if [ \"$*\" = 'power stayon false' ]; then echo 0 > \"$EB_FAKE/stay_on\"; fi\n");
    t_.Exe("bin/input",
           "#!/bin/sh\necho \"input $*\" >> \"$EB_FAKE/log\"\n"
           "case $2 in\n"
           "  KEYCODE_SLEEP) echo off > \"$EB_FAKE/screen\" ;;\n"
           "  KEYCODE_WAKEUP) echo on > \"$EB_FAKE/screen\" ;;\n"
           "esac\n");
    t_.Exe("bin/dumpsys",
           "#!/bin/sh\necho \"dumpsys $*\" >> \"$EB_FAKE/log\"\n"
           "read -r s < \"$EB_FAKE/screen\"\n"
           "echo 'POWER MANAGER (dumpsys power)'\n"
           "if [ \"$s\" = on ]; then echo '  mWakefulness=Awake'; "
           "echo 'Display Power: state=ON'; else echo '  mWakefulness=Asleep'; "
           "echo 'Display Power: state=OFF'; fi\n");
    t_.Exe("bin/getprop",
           "#!/bin/sh\necho \"getprop $*\" >> \"$EB_FAKE/log\"\n"
           "case $1 in\n"
           "  ro.build.version.sdk) echo 34 ;;\n"
           "  init.svc.*) cat \"$EB_FAKE/svc.${1#init.svc.}\" 2>/dev/null || echo ;;\n"
           "  *) echo ;;\n"
           "esac\n");
    t_.Exe("bin/stop",
           "#!/bin/sh\necho \"stop $*\" >> \"$EB_FAKE/log\"\n"
           "echo stopped > \"$EB_FAKE/svc.$1\"\n");
    t_.Exe("bin/start",
           "#!/bin/sh\necho \"start $*\" >> \"$EB_FAKE/log\"\n"
           "echo running > \"$EB_FAKE/svc.$1\"\n");
  }

  ScriptRun Run(const Shell& shell, std::string_view script, const char* name,
                std::vector<std::string> args, const std::vector<std::string>& env = {}) {
    t_.Exe(name, std::string(script));
    std::vector<std::string> e = {"EB_SYS=" + t_.Path("sys"),
                                  "EB_FAKE=" + t_.Path("fake"),
                                  "EB_WORK=" + t_.Path("work"), PathWith(t_.Path("bin"))};
    e.insert(e.end(), env.begin(), env.end());
    // `sh -s key=value ...` with the script on stdin, as the harness runs it.
    return RunScript(shell, t_.Path(name), args, e, /*via_stdin=*/true);
  }
  ScriptRun Prepare(const Shell& shell, std::vector<std::string> args,
                    const std::vector<std::string>& env = {}) {
    return Run(shell, PrepareScript(), "prepare.sh", std::move(args), env);
  }
  ScriptRun Restore(const Shell& shell, std::vector<std::string> args = {}) {
    return Run(shell, RestoreScript(), "restore.sh", std::move(args));
  }

  std::string Governor(int policy) const {
    return Trim(t_.Read("sys/devices/system/cpu/cpufreq/policy" + std::to_string(policy) +
                        "/scaling_governor"));
  }
  std::string Fake(const std::string& name) const {
    return Trim(t_.Read("fake/" + name));
  }
  void SetFake(const std::string& name, const std::string& value) {
    t_.Attr("fake/" + name, value);
  }
  std::string Log() const { return t_.Exists("fake/log") ? t_.Read("fake/log") : ""; }
  // The lines the fakes logged, less `id` and the read-only queries.
  std::vector<std::string> Changes() const {
    std::vector<std::string> out;
    for (const std::string& l : LinesStartingWith(Log(), "")) {
      if (l.rfind("id ", 0) == 0 || l.rfind("dumpsys ", 0) == 0 ||
          l.rfind("getprop ", 0) == 0 || l.rfind("settings get", 0) == 0)
        continue;
      out.push_back(l);
    }
    return out;
  }
  std::string StatePath() const { return t_.Path("work/prepare.state"); }
  bool HasState() const { return t_.Exists("work/prepare.state"); }
  std::string State() const { return t_.Read("work/prepare.state"); }

 private:
  static std::string Trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }
  Tree t_;
};

TEST(PrepareScriptTest, LowBatteryRefuses) {
  for (const Shell& shell : Shells()) {
    SCOPED_TRACE(shell.name);
    FakeDevice d(/*android=*/true, /*uid=*/0, /*battery_pct=*/15);
    const ScriptRun r = d.Prepare(shell, {"screen_off=1", "governor=performance"});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_THAT(r.err, HasSubstr("battery 15% is below min_battery_pct=20"));
    EXPECT_THAT(d.Changes(), IsEmpty()) << "a refusal changes nothing";
    EXPECT_EQ(d.Governor(0), "schedutil");
    EXPECT_EQ(d.Fake("screen"), "on");
    EXPECT_FALSE(d.HasState());

    // The minimum from the environment, and a battery above it.
    FakeDevice ok(true, 0, 50);
    EXPECT_EQ(ok.Prepare(shell, {}, {"min_battery_pct=60"}).exit_code, 3);
    const ScriptRun fine = ok.Prepare(shell, {}, {"min_battery_pct=40"});
    EXPECT_EQ(fine.exit_code, 0) << fine.err;
    EXPECT_THAT(fine.out, HasSubstr("prepare: battery: 50% (min_battery_pct=40)"));
    // An argument wins over the environment.
    EXPECT_EQ(ok.Prepare(shell, {"min_battery_pct=10"}, {"min_battery_pct=60"}).exit_code,
              0);
  }
}

TEST(PrepareScriptTest, LowBatteryWarnsWithPolicyWarn) {
  for (const Shell& shell : Shells()) {
    SCOPED_TRACE(shell.name);
    FakeDevice d(true, 0, 15);
    const ScriptRun r = d.Prepare(
        shell, {"battery_policy=warn", "governor=performance", "state=" + d.StatePath()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("warning: battery 15% is below min_battery_pct=20"));
    EXPECT_EQ(d.Governor(0), "performance");
  }
}

TEST(PrepareScriptTest, GovernorSavedAndRestoredExactly) {
  for (const Shell& shell : Shells()) {
    SCOPED_TRACE(shell.name);
    FakeDevice d(true, /*uid=*/0);
    const ScriptRun r =
        d.Prepare(shell, {"governor=performance", "state=" + d.StatePath()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    EXPECT_THAT(r.out, HasSubstr("prepare: governor: policy0 schedutil -> performance"));
    EXPECT_THAT(r.out,
                HasSubstr("prepare: governor: policy4 sched_pixel -> performance"));
    EXPECT_THAT(r.out, HasSubstr("prepare: governor: policy8 already performance"));
    EXPECT_EQ(d.Governor(0), "performance");
    EXPECT_EQ(d.Governor(4), "performance");
    EXPECT_EQ(d.Governor(8), "performance");
    // Only what changed is recorded.
    EXPECT_EQ(d.State(), "governor.policy0=schedutil\ngovernor.policy4=sched_pixel\n");

    // A second prepare before any restore keeps the original values.
    EXPECT_EQ(
        d.Prepare(shell, {"governor=powersave", "state=" + d.StatePath()}).exit_code, 0);
    EXPECT_EQ(d.Governor(0), "powersave");
    EXPECT_EQ(d.State(),
              "governor.policy0=schedutil\ngovernor.policy4=sched_pixel\n"
              "governor.policy8=performance\n");

    const ScriptRun back = d.Restore(shell, {"state=" + d.StatePath()});
    EXPECT_EQ(back.exit_code, 0) << back.err;
    EXPECT_THAT(back.out, HasSubstr("restore: governor: policy0 back to schedutil"));
    EXPECT_EQ(d.Governor(0), "schedutil");
    EXPECT_EQ(d.Governor(4), "sched_pixel");
    EXPECT_EQ(d.Governor(8), "performance");
    EXPECT_FALSE(d.HasState());

    // Restore twice: nothing to do, nothing touched.
    const std::string log_before = d.Log();
    const ScriptRun again = d.Restore(shell, {"state=" + d.StatePath()});
    EXPECT_EQ(again.exit_code, 0);
    EXPECT_THAT(again.out, HasSubstr("nothing to restore"));
    EXPECT_EQ(d.Log(), log_before);
    EXPECT_EQ(d.Governor(0), "schedutil");
  }
}

TEST(PrepareScriptTest, AndroidStepsRecordedAndRestored) {
  for (const Shell& shell : Shells()) {
    SCOPED_TRACE(shell.name);
    FakeDevice d(true, /*uid=*/0);
    // The default state path: $EB_WORK/prepare.state.
    const ScriptRun r =
        d.Prepare(shell, {"screen_off=1", "stay_awake_off=1", "thermal_service_off=1"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("prepare: screen_off: screen turned off"));
    EXPECT_THAT(r.out,
                HasSubstr("prepare: stay_awake_off: stay_on_while_plugged_in 7 -> 0"));
    EXPECT_THAT(r.out,
                HasSubstr("prepare: thermal_service_off: stopped vendor.thermal-engine"));
    EXPECT_EQ(d.Fake("screen"), "off");
    EXPECT_EQ(d.Fake("stay_on"), "0");
    EXPECT_EQ(d.Fake("svc.vendor.thermal-engine"), "stopped");
    EXPECT_EQ(d.State(),
              "screen_was_on=1\nstay_on_while_plugged_in=7\n"
              "service.vendor.thermal-engine=running\n");
    EXPECT_THAT(d.Changes(),
                ElementsAre("input keyevent KEYCODE_SLEEP", "svc power stayon false",
                            "stop vendor.thermal-engine"));

    const ScriptRun back = d.Restore(shell);
    EXPECT_EQ(back.exit_code, 0) << back.out << back.err;
    EXPECT_EQ(d.Fake("screen"), "on");
    EXPECT_EQ(d.Fake("stay_on"), "7");
    EXPECT_EQ(d.Fake("svc.vendor.thermal-engine"), "running");
    // Undone last first.
    EXPECT_THAT(d.Changes(),
                ElementsAre("input keyevent KEYCODE_SLEEP", "svc power stayon false",
                            "stop vendor.thermal-engine", "start vendor.thermal-engine",
                            "settings put global stay_on_while_plugged_in 7",
                            "input keyevent KEYCODE_WAKEUP"));
    EXPECT_FALSE(d.HasState());
    const std::string log_before = d.Log();
    EXPECT_EQ(d.Restore(shell).exit_code, 0);
    EXPECT_EQ(d.Log(), log_before);

    // A screen already off and stay-awake already off: nothing to record.
    d.SetFake("screen", "off");
    d.SetFake("stay_on", "0");
    const ScriptRun idle = d.Prepare(shell, {"screen_off=1", "stay_awake_off=1"});
    EXPECT_EQ(idle.exit_code, 0);
    EXPECT_THAT(idle.out, HasSubstr("prepare: state: nothing changed"));
  }
}

TEST(PrepareScriptTest, NonRootSkipsRootSteps) {
  for (const Shell& shell : Shells()) {
    SCOPED_TRACE(shell.name);
    FakeDevice d(true, /*uid=*/2000);
    const ScriptRun r =
        d.Prepare(shell, {"governor=performance", "thermal_service_off=1"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("prepare: governor: skipped (needs root; uid 2000)"));
    EXPECT_THAT(
        r.out, HasSubstr("prepare: thermal_service_off: skipped (needs root; uid 2000)"));
    EXPECT_EQ(d.Governor(0), "schedutil");
    EXPECT_EQ(d.Fake("svc.vendor.thermal-engine"), "running");
    EXPECT_FALSE(d.HasState());
    EXPECT_THAT(d.Changes(), IsEmpty());
  }
}

TEST(PrepareScriptTest, PlainLinuxSkipsAndroidStepsGovernorThroughSysfs) {
  for (const Shell& shell : Shells()) {
    SCOPED_TRACE(shell.name);
    FakeDevice d(/*android=*/false, /*uid=*/0);
    const ScriptRun r =
        d.Prepare(shell, {"screen_off=1", "stay_awake_off=1", "thermal_service_off=1",
                          "governor=performance"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(
        r.out, HasSubstr("prepare: screen_off: skipped (no input/dumpsys: not Android)"));
    EXPECT_THAT(
        r.out,
        HasSubstr("prepare: stay_awake_off: skipped (no settings/svc: not Android)"));
    EXPECT_THAT(r.out, HasSubstr("prepare: thermal_service_off: skipped"));
    EXPECT_EQ(d.Governor(0), "performance");
    EXPECT_EQ(d.Restore(shell).exit_code, 0);
    EXPECT_EQ(d.Governor(0), "schedutil");
    EXPECT_EQ(d.Governor(4), "sched_pixel");
  }
}

TEST(PrepareScriptTest, BadOptionsAndUnrestorableEntries) {
  for (const Shell& shell : Shells()) {
    SCOPED_TRACE(shell.name);
    FakeDevice d(true, 0);
    const ScriptRun bad = d.Prepare(shell, {"screen=off"});
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_THAT(bad.err, HasSubstr("unknown option 'screen=off'"));
    EXPECT_EQ(d.Prepare(shell, {"min_battery_pct=lots"}).exit_code, 2);
    EXPECT_EQ(d.Prepare(shell, {"governor=perf;rm -rf /"}).exit_code, 2);
    EXPECT_EQ(d.Restore(shell, {"bogus=1"}).exit_code, 2);
    EXPECT_THAT(d.Changes(), IsEmpty());

    // An entry restore does not know stays in the state file, exit 1; the
    // rest is restored.
    EXPECT_EQ(d.Prepare(shell, {"governor=performance"}).exit_code, 0);
    edgebench::testing::WriteFile(d.StatePath(), d.State() + "mystery=1\n");
    const ScriptRun r = d.Restore(shell);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_THAT(r.out, HasSubstr("unknown entry 'mystery=1'"));
    EXPECT_EQ(d.Governor(0), "schedutil");
    EXPECT_EQ(d.State(), "mystery=1\n");
  }
}

}  // namespace
}  // namespace edgebench::harness
