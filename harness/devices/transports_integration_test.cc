// Every transport, opened the way a user's devices file opens it: this
// machine, a board behind a private sshd, and a phone that is the fake adb
// device behind a private adb server (the real ssh and adb clients in
// both). Through each: the table of hostile names, paths and prompts (a
// marker file proves nothing ran), a probe, a deploy of the runtime and a
// tiny model, a run of it, a pull, a second deploy that sends nothing, and
// a push cut off by killing the transport that leaves nothing under the
// final name.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "backends/native/synth/synth.h"
#include "harness/deploy/deploy.h"
#include "harness/devices/devices.h"
#include "harness/devices/probe.h"
#include "tests/adbd/adbd_testing.h"
#include "tests/sshd/sshd_fixture.h"
#include "tests/testing/testing.h"

namespace edgebench::harness {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using nlohmann::json;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

// What each transport is run against.
class Transports : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string kind = GetParam();
    device_.name = "dev-" + kind;
    device_.transport = kind;
    // Everything the device writes goes under the fixture's folders.
    if (kind == "ssh") {
      if (Status s = testing::Sshd::Available(); !s.ok()) GTEST_SKIP() << s.message();
      auto sshd = testing::Sshd::Start();
      ASSERT_TRUE(sshd.ok()) << sshd.status().ToString();
      sshd_ = std::move(*sshd);
      device_.host = sshd_->host_alias();
      device_.ssh_options = sshd_->ClientArgs();
      scratch_ = sshd_->user_dir();
    } else if (kind == "adb") {
      const std::string adb = testing::FindAdb();
      if (adb.empty()) GTEST_SKIP() << "adb is not installed";
      auto dev = testing::FakeAdbDevice::Start();
      ASSERT_TRUE(dev.ok()) << dev.status().ToString();
      adbd_ = std::move(*dev);
      auto server = testing::PrivateAdbServer::Start(adb);
      ASSERT_TRUE(server.ok()) << server.status().ToString();
      adb_server_ = std::move(*server);
      // The transport's adb client finds the private server by the port.
      ::setenv("ANDROID_ADB_SERVER_PORT", std::to_string(adb_server_->port()).c_str(), 1);
      for (const std::string& e : adb_server_->Env()) {
        const size_t eq = e.find('=');
        saved_env_.emplace_back(e.substr(0, eq));
        ::setenv(e.substr(0, eq).c_str(), e.substr(eq + 1).c_str(), 1);
      }
      device_.serial = adbd_->serial();  // HOST:PORT: `adb connect` first
      own_scratch_ = std::make_unique<TempDir>();
      scratch_ = own_scratch_->path();
    } else {
      own_scratch_ = std::make_unique<TempDir>();
      scratch_ = own_scratch_->path();
    }
    device_.work_dir = scratch_ + "/work dir; $(touch MARKER)";
    auto t = OpenTransport(device_);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    transport_ = std::move(*t);
  }
  void TearDown() override {
    transport_.reset();
    adb_server_.reset();
    adbd_.reset();
    sshd_.reset();
    ::unsetenv("ANDROID_ADB_SERVER_PORT");
    for (const std::string& name : saved_env_) ::unsetenv(name.c_str());
  }

  std::string TinyModel() {
    const std::string p = src_.File("tiny q8_0 'model'.gguf");
    auto r = native::SynthesizeModel({.preset = "tiny", .type = "q8_0", .seed = 1}, p);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return p;
  }

  DeviceConfig device_;
  std::string scratch_;  // a folder the device writes and the test reads
  std::unique_ptr<TempDir> own_scratch_;
  std::unique_ptr<testing::Sshd> sshd_;
  std::unique_ptr<testing::FakeAdbDevice> adbd_;
  std::unique_ptr<testing::PrivateAdbServer> adb_server_;
  std::vector<std::string> saved_env_;
  std::unique_ptr<Transport> transport_;
  TempDir src_;
};

TEST_P(Transports, HostileStringsAreBytesNeverCommands) {
  Transport& t = *transport_;
  const std::string marker = scratch_ + "/MARKER";
  for (const std::string& s : testing::HostileStrings(marker)) {
    // As an argument.
    auto r = t.Exec({"printf", "%s", s});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->exit_code, 0) << r->err;
    EXPECT_EQ(r->out, s);
    // As a file name, both ways (a leading '-' must not be an option).
    const std::string name = s.empty() ? "empty" : s.find('/') == std::string::npos ? s : "slash";
    WriteFile(src_.File("payload"), "payload of " + s);
    const std::string remote = scratch_ + "/" + name;
    ASSERT_TRUE(t.Push(src_.File("payload"), remote).ok()) << s;
    EXPECT_EQ(ReadFile(remote), "payload of " + s);
    ASSERT_TRUE(t.Pull(remote, src_.File("back")).ok()) << s;
    EXPECT_EQ(ReadFile(src_.File("back")), "payload of " + s);
    r = t.Exec({"rm", "--", remote});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->exit_code, 0) << r->err;
    // As stdin (a prompt in a spec).
    ExecOptions o;
    o.stdin_data = s;
    r = t.Exec({"cat"}, o);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->out, s);
  }
  EXPECT_FALSE(fs::exists(marker));
  EXPECT_FALSE(fs::exists("MARKER"));
}

TEST_P(Transports, ProbeDeployRunPullAndDeployAgain) {
  Transport& t = *transport_;
  auto probe = ProbeDevice(t);
  ASSERT_TRUE(probe.ok()) << probe.status().ToString();
  EXPECT_EQ(probe->arch, "x86_64");
  auto runtime = FindRuntime(probe->abi, "");
  ASSERT_TRUE(runtime.ok()) << runtime.status().ToString();
  const std::string model = TinyModel();
  auto work = PrepareWorkDir(t, device_.work_dir, false);
  ASSERT_TRUE(work.ok()) << work.status().ToString();
  EXPECT_EQ(*work, device_.work_dir);
  int progress_calls = 0;
  auto r = Deploy(t, *work, {{*runtime, true}, {model, false}},
                  {.progress = [&](const DeployedFile&, const TransferProgress& p) {
                    EXPECT_LE(p.done_bytes, p.total_bytes);
                    ++progress_calls;
                  }});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->files_sent, 2);
  EXPECT_GT(progress_calls, 0);

  // Run it there, the prompt through the spec on stdin, events streamed.
  const json spec = {{"schema", 1},
                     {"model", r->files[1].remote},
                     {"threads", 1},
                     {"prompt",
                      {{"kind", "text"},
                       {"text", "Say \"hi\"; $(touch " + scratch_ + "/MARKER) `id`"}}},
                     {"n_gen", 4},
                     {"warmup", 0},
                     {"repetitions", 1}};
  std::vector<json> events;
  ExecOptions o;
  o.stdin_data = spec.dump();
  o.timeout_s = 120;
  o.on_line = [&](std::string_view line) { events.push_back(json::parse(line)); };
  auto run = t.Exec({r->files[0].remote, "-"}, o);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->exit_code, 0) << run->err;
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front()["ev"], "hello");
  EXPECT_EQ(events.back()["ev"], "done");
  EXPECT_EQ(events.back()["status"], "ok");
  EXPECT_FALSE(fs::exists(scratch_ + "/MARKER"));

  // A file the device wrote comes back.
  auto w = t.Exec({"sh", "-c", "printf 'from the device' > \"$1\"", "sh", *work + "/out.txt"});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(t.Pull(*work + "/out.txt", src_.File("out.txt")).ok());
  EXPECT_EQ(ReadFile(src_.File("out.txt")), "from the device");

  // Once there, nothing is sent again.
  auto again = Deploy(t, *work, {{*runtime, true}, {model, false}});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->files_sent, 0);
  EXPECT_EQ(again->bytes_sent, 0u);
}

TEST_P(Transports, APushCutOffByKillAllIsNeverUsed) {
  if (GetParam() == "local") GTEST_SKIP() << "the local transport copies in-process";
  Transport& t = *transport_;
  // Large enough that the push is still running when it is killed.
  WriteFile(src_.File("big.gguf"), testing::RandomBytes(size_t{96} << 20, 9));
  auto work = PrepareWorkDir(t, device_.work_dir, false);
  ASSERT_TRUE(work.ok()) << work.status().ToString();
  std::atomic<bool> killed{false};
  auto r = Deploy(t, *work, {{src_.File("big.gguf"), false}},
                  {.progress = [&](const DeployedFile&, const TransferProgress& p) {
                    if (p.done_bytes > 0 && p.done_bytes < p.total_bytes && !killed.exchange(true))
                      (void)t.KillAll();
                  }});
  if (!killed) GTEST_SKIP() << "the push finished before a progress report (too fast here)";
  ASSERT_FALSE(r.ok());
  const std::string sha = *Sha256File(src_.File("big.gguf"));
  EXPECT_FALSE(fs::exists(*work + "/blobs/" + sha));
  // The next deploy sends it whole.
  auto again = Deploy(t, *work, {{src_.File("big.gguf"), false}});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->files_sent, 1);
  EXPECT_EQ(*Sha256File(*work + "/blobs/" + sha), sha);
}

INSTANTIATE_TEST_SUITE_P(AllTransports, Transports, ::testing::Values("local", "ssh", "adb"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace edgebench::harness
