// Devices files, device lookup, and a whole deploy-and-run on this machine
// and on an aarch64 "device" whose commands run under qemu-user.
#include "harness/devices/devices.h"

#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "backends/native/synth/synth.h"
#include "harness/deploy/deploy.h"
#include "harness/devices/probe.h"
#include "tests/adbd/adbd_testing.h"
#include "tests/testing/testing.h"

namespace edgebench::harness {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;
using testing::TempDir;
using testing::WriteFile;

std::string ParseError(const json& j) {
  auto r = ParseDevices(j);
  return r.ok() ? "ok" : r.status().message();
}

TEST(DevicesFile, ParsesEveryTransport) {
  auto d = ParseDevices(json::parse(R"({"devices": [
      {"name": "pi5", "transport": "ssh", "host": "pi5.local", "user": "pi", "port": 2222,
       "identity": "~/.ssh/id_ed25519", "jump": "bastion", "ssh_options": ["-o", "ConnectTimeout=5"]},
      {"name": "pixel", "transport": "adb", "serial": "R5CT30ABCD", "work_dir": "/data/local/tmp/eb"},
      {"name": "arm", "transport": "local", "exec_prefix": ["qemu-aarch64-static"], "abi": "aarch64"}]})"));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_EQ(d->size(), 3u);
  EXPECT_EQ((*d)[0].Key(), "ssh:pi5");
  EXPECT_EQ((*d)[0].port, 2222);
  EXPECT_EQ((*d)[0].ssh_options, (std::vector<std::string>{"-o", "ConnectTimeout=5"}));
  EXPECT_EQ((*d)[1].Key(), "adb:pixel");
  EXPECT_EQ((*d)[1].work_dir, "/data/local/tmp/eb");
  EXPECT_EQ((*d)[2].exec_prefix, std::vector<std::string>{"qemu-aarch64-static"});
}

TEST(DevicesFile, ErrorsNameTheField) {
  EXPECT_EQ(ParseError(json::parse(R"({"devices": [{"name": "a", "transport": "ssh",
      "host": "h", "port": "ssh"}]})")),
            "/devices/0/port: expected an integer in 1..65535, got \"ssh\"");
  EXPECT_EQ(ParseError(json::parse(R"({"devices": [{"name": "a", "transport": "telnet"}]})")),
            "/devices/0/transport: expected one of \"local\", \"ssh\", \"adb\", got \"telnet\"");
  EXPECT_EQ(ParseError(json::parse(R"({"devices": [{"name": "a", "transport": "ssh"}]})")),
            "/devices/0/host: required for an ssh device");
  EXPECT_EQ(ParseError(json::parse(R"({"devices": [{"name": "a", "transport": "adb",
      "serial": "x", "host": "h"}]})")),
            "/devices/0/host: only for transport \"ssh\" (this device is \"adb\")");
  EXPECT_EQ(ParseError(json::parse(R"({"devices": [{"name": "a", "transport": "local",
      "hots": "x"}]})")),
            "/devices/0/hots: unknown field");
  EXPECT_EQ(ParseError(json::parse(R"({"devices": [{"name": "a", "transport": "local"},
      {"name": "a", "transport": "local"}]})")),
            "/devices/1/name: \"a\" is declared twice (device names must be unique)");
  EXPECT_EQ(ParseError(json::parse(R"({"devices": [{"name": "a", "transport": "local",
      "work_dir": "relative"}]})")),
            "/devices/0/work_dir: expected an absolute path or one starting with ~/, got "
            "\"relative\"");
  EXPECT_EQ(ParseError(json::parse(R"({"devices": {}})")),
            "/devices: expected an array, got an object");
}

TEST(DevicesFile, LoadErrorsNameTheFile) {
  TempDir dir;
  WriteFile(dir.File("devices.json"), "{\"devices\": [");
  auto r = LoadDevicesFile(dir.File("devices.json"));
  EXPECT_THAT(r.status().message(), HasSubstr(dir.File("devices.json") + ": not valid JSON"));
  r = LoadDevicesFile(dir.File("missing.json"));
  EXPECT_THAT(r.status().message(), HasSubstr("missing.json"));
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

TEST(DevicesFile, FoundBesideTheSweepThenInTheConfigDir) {
  TempDir sweep, config;
  ::setenv("XDG_CONFIG_HOME", config.path().c_str(), 1);
  EXPECT_EQ(FindDevicesFile("", sweep.path()), "");
  std::filesystem::create_directories(config.File("edgebench"));
  WriteFile(config.File("edgebench/devices.json"), "{}");
  EXPECT_EQ(FindDevicesFile("", sweep.path()), config.File("edgebench/devices.json"));
  WriteFile(sweep.File("devices.json"), "{}");
  EXPECT_EQ(FindDevicesFile("", sweep.path()), sweep.File("devices.json"));
  EXPECT_EQ(FindDevicesFile("/x/given.json", sweep.path()), "/x/given.json");
  ::unsetenv("XDG_CONFIG_HOME");
}

TEST(Devices, ListAndFind) {
  TempDir dir;
  WriteFile(dir.File("devices.json"), R"({"devices": [
      {"name": "pi5", "transport": "ssh", "host": "pi5.local"}]})");
  // A private adb server with no device (when adb is installed): no adb
  // device appears, and nothing is left running.
  std::unique_ptr<testing::PrivateAdbServer> server;
  if (const std::string adb = testing::FindAdb(); !adb.empty()) {
    auto s = testing::PrivateAdbServer::Start(adb);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server = std::move(*s);
    ::setenv("ANDROID_ADB_SERVER_PORT", std::to_string(server->port()).c_str(), 1);
  }
  auto all = ListDevices(dir.File("devices.json"));
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].config.Key(), "local");
  EXPECT_EQ((*all)[1].config.Key(), "ssh:pi5");
  EXPECT_EQ(FindDevice(*all, "ssh:pi5")->config.host, "pi5.local");
  EXPECT_EQ(FindDevice(*all, "pi5")->config.host, "pi5.local");
  EXPECT_EQ(ResolveDevice(dir.File("devices.json"), "ssh:pi5")->config.host, "pi5.local");
  EXPECT_EQ(ResolveDevice(dir.File("devices.json"), "nexus").status().code(),
            StatusCode::kNotFound);
  const Status missing = FindDevice(*all, "nexus").status();
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.message(), HasSubstr("known: local, pi5"));
  ::unsetenv("ANDROID_ADB_SERVER_PORT");
}

std::string TinyModel(const TempDir& dir) {
  const std::string p = dir.File("tiny q8_0 'model'.gguf");
  auto r = native::SynthesizeModel({.preset = "tiny", .type = "q8_0", .seed = 1}, p);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return p;
}

// Runs the deployed runtime on the deployed model through the transport,
// the way a sweep does, and returns the events it printed.
std::vector<json> RunOnDevice(Transport& t, const DeviceConfig& d, const DeployReport& r) {
  const json spec = {{"schema", 1},
                     {"model", r.files[1].remote},
                     {"threads", 1},
                     {"n_prompt", 8},
                     {"n_gen", 4},
                     {"warmup", 0},
                     {"repetitions", 1}};
  std::vector<std::string> argv = d.exec_prefix;
  argv.push_back(r.files[0].remote);
  argv.push_back("-");
  std::vector<json> events;
  ExecOptions o;
  o.stdin_data = spec.dump();
  o.timeout_s = 120;
  o.on_line = [&](std::string_view line) { events.push_back(json::parse(line)); };
  auto res = t.Exec(argv, o);
  EXPECT_TRUE(res.ok()) << res.status().ToString();
  if (res.ok()) {
    EXPECT_EQ(res->exit_code, 0) << res->err;
  }
  return events;
}

void DeployAndRun(const DeviceConfig& d) {
  TempDir src, dev;
  const std::string model = TinyModel(src);
  auto t = OpenTransport(d);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  auto probe = ProbeDevice(**t);
  ASSERT_TRUE(probe.ok()) << probe.status().ToString();
  const std::string abi = d.abi.empty() ? probe->abi : d.abi;
  auto runtime = FindRuntime(abi, "");
  ASSERT_TRUE(runtime.ok()) << runtime.status().ToString();
  auto work = PrepareWorkDir(**t, dev.File("work"), false);
  ASSERT_TRUE(work.ok()) << work.status().ToString();
  auto r = Deploy(**t, *work, {{*runtime, true}, {model, false}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->files_sent, 2);
  const std::vector<json> events = RunOnDevice(**t, d, *r);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front()["ev"], "hello");
  EXPECT_EQ(events.back()["ev"], "done");
  EXPECT_EQ(events.back()["status"], "ok");
  int rep_ends = 0;
  for (const json& e : events)
    if (e["ev"] == "rep_end") {
      ++rep_ends;
      EXPECT_GT(e["metrics"]["decode_tps"].get<double>(), 0);
    }
  EXPECT_EQ(rep_ends, 1);
  // Once there, nothing is sent again.
  auto again = Deploy(**t, *work, {{*runtime, true}, {model, false}});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->files_sent, 0);
}

TEST(DevicesIntegration, LocalDeviceDeploysAndRunsATinyModel) {
  DeviceConfig d;
  d.name = "local";
  d.transport = "local";
  DeployAndRun(d);
}

TEST(DevicesIntegration, Aarch64DeviceUnderQemuRunsTheAarch64Runtime) {
  if (::access("/usr/bin/qemu-aarch64-static", X_OK) != 0)
    GTEST_SKIP() << "qemu-aarch64-static is not installed";
  if (!FindRuntime("aarch64", "").ok())
    GTEST_SKIP() << "the aarch64 runtime is not built (EDGEBENCH_AARCH64=OFF)";
  DeviceConfig d;
  d.name = "arm-emu";
  d.transport = "local";
  d.exec_prefix = {"qemu-aarch64-static", "-cpu", "max"};
  d.abi = "aarch64";
  DeployAndRun(d);
}

}  // namespace
}  // namespace edgebench::harness
