// `edgebench devices` and `edgebench deploy` as a user runs them, on this
// machine (the ssh and adb paths are covered by the transport and devices
// integration tests).
#include <algorithm>
#include <cstdlib>
#include <memory>
#include <filesystem>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/adbd/adbd_testing.h"
#include "tests/testing/testing.h"

namespace edgebench {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using nlohmann::json;
using testing::ProgramResult;
using testing::TempDir;
using testing::WriteFile;

class DevicesCli : public ::testing::Test {
 protected:
  void SetUp() override {
    // No user config; adb (when installed) talks to a private server this
    // test stops, never to the default one.
    ::setenv("XDG_CONFIG_HOME", config_.path().c_str(), 1);
    auto server = testing::StartAdbServerForChildren();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    adb_server_ = std::move(*server);
  }
  void TearDown() override {
    adb_server_.reset();
    ::unsetenv("XDG_CONFIG_HOME");
    ::unsetenv("ANDROID_ADB_SERVER_PORT");
  }
  ProgramResult Edgebench(std::vector<std::string> args) {
    args.insert(args.begin(), testing::BinDir() + "/edgebench");
    return testing::RunProgram(args);
  }
  TempDir config_;
  TempDir dir_;
  std::unique_ptr<testing::PrivateAdbServer> adb_server_;
};

TEST_F(DevicesCli, AnAdbDeviceIsListedProbedAndDeployedTo) {
  if (!adb_server_) GTEST_SKIP() << "adb is not installed";
  auto device = testing::FakeAdbDevice::Start({"--model", "Fake Pixel"});
  ASSERT_TRUE(device.ok()) << device.status().ToString();
  ASSERT_TRUE(adb_server_->Connect((*device)->serial()).ok());
  const std::string serial = (*device)->serial();

  ProgramResult r = Edgebench({"devices", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json list = json::parse(r.out);
  const auto it = std::find_if(list.begin(), list.end(),
                               [&](const json& d) { return d["key"] == "adb:" + serial; });
  ASSERT_NE(it, list.end()) << r.out;
  EXPECT_EQ((*it)["source"], "adb");
  EXPECT_EQ((*it)["adb_state"], "device");
  EXPECT_EQ((*it)["state"], "ok") << (*it).dump();
  EXPECT_EQ((*it)["probe"]["arch"], "x86_64");  // the fake device runs here

  r = Edgebench({"devices", "probe", serial});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("device         adb:" + serial));

  const std::string model = dir_.File("tiny.gguf");
  ASSERT_EQ(Edgebench({"model", "synth", "--preset", "tiny", "--type", "q8_0", "-o", model})
                .exit_code,
            0);
  r = Edgebench({"deploy", serial, "--work-dir", dir_.File("phone"), "--model", model});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("2 of 2 files sent"));
  r = Edgebench({"deploy", serial, "--work-dir", dir_.File("phone"), "--model", model});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("0 of 2 files sent"));
}

TEST_F(DevicesCli, ListsLocalAndTheDevicesFile) {
  WriteFile(dir_.File("devices.json"), R"({"devices": [
      {"name": "pi5", "transport": "ssh", "host": "pi5.invalid"}]})");
  ProgramResult r = Edgebench({"devices", "--no-probe", "--json", "--devices",
                               dir_.File("devices.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  ASSERT_GE(j.size(), 2u);
  EXPECT_EQ(j[0]["key"], "local");
  EXPECT_EQ(j[1]["key"], "ssh:pi5");
  EXPECT_EQ(j[1]["source"], dir_.File("devices.json"));

  r = Edgebench({"devices", "--no-probe", "--devices", dir_.File("devices.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("NAME"));
  EXPECT_THAT(r.out, HasSubstr("pi5"));
}

TEST_F(DevicesCli, ProbeLocal) {
  ProgramResult r = Edgebench({"devices", "probe", "local", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["state"], "ok");
  EXPECT_EQ(j["probe"]["os"], "linux");
  EXPECT_EQ(j["probe"]["arch"], "x86_64");
  EXPECT_GT(j["probe"]["n_cpus"].get<int>(), 0);

  r = Edgebench({"devices", "probe", "local"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("abi            x86_64"));
}

TEST_F(DevicesCli, UnknownDeviceAndBrokenFileAreOneLineErrors) {
  ProgramResult r = Edgebench({"devices", "probe", "nexus"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "edgebench: no device \"nexus\" (known: local; `edgebench devices` lists "
                   "them, devices.json declares ssh boards)\n");

  WriteFile(dir_.File("devices.json"), R"({"devices": [{"name": "x", "transport": "ssh",
      "host": "h", "port": 0}]})");
  r = Edgebench({"devices", "--devices", dir_.File("devices.json")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "edgebench: " + dir_.File("devices.json") +
                       ": /devices/0/port: expected an integer in 1..65535, got 0\n");
}

TEST_F(DevicesCli, DeployTwiceSendsOnce) {
  const std::string model = dir_.File("m; $(touch MARKER) 'q'.gguf");
  ProgramResult r = Edgebench({"model", "synth", "--preset", "tiny", "--type", "q8_0",
                               "-o", model});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string work = dir_.File("work");
  r = Edgebench({"deploy", "local", "--work-dir", work, "--model", model});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("2 of 2 files sent"));
  r = Edgebench({"deploy", "local", "--work-dir", work, "--model", model, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["files_sent"], 0);
  EXPECT_EQ(j["bytes_sent"], 0);
  ASSERT_EQ(j["files"].size(), 2u);
  EXPECT_TRUE(std::filesystem::exists(j["files"][1]["remote"].get<std::string>()));
  EXPECT_FALSE(std::filesystem::exists("MARKER"));
  EXPECT_FALSE(std::filesystem::exists(dir_.File("MARKER")));

  r = Edgebench({"deploy", "local", "--work-dir", work, "--model", dir_.File("none.gguf")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(dir_.File("none.gguf")));
}

}  // namespace
}  // namespace edgebench
