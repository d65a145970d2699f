// The adb Transport through the real adb client and server (Debian's adb
// 1.0.41) against the fake device edgebench-test-adbd on loopback, once
// with /bin/sh (dash) as the device's shell and once with mksh (Android's
// /system/bin/sh), when installed.
//
// The fake device answers a closed shell stream as adbd does (SIGHUP to the
// `sh -c` process only, --on-shell-close hup-shell), so what these tests see
// killed on the device was killed by the transport. The device's processes
// run on this machine: the tests check their pids and files directly.

#include "harness/transport/adb/adb_transport.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/adbd/adbd_testing.h"
#include "tests/testing/testing.h"

namespace edgebench::harness {
namespace {

using ::testing::AnyOf;
using ::testing::ElementsAre;
using testing::RandomBytes;
using testing::FakeAdbDevice;
using ::testing::HasSubstr;
using testing::PrivateAdbServer;
using testing::ProcessEnded;
using testing::ReadFile;
using testing::ReadPid;
using testing::WaitFor;
using testing::WriteFile;

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

class AdbTransportTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    adb_ = testing::FindAdb();
    if (adb_.empty())
      GTEST_SKIP() << "adb is not installed (Debian: apt-get install adb)";
    if (::access(GetParam().c_str(), X_OK) != 0)
      GTEST_SKIP() << GetParam() << " is not installed";
    StartDevice({});
  }

  // (Re)starts the fake device with `args` and opens a transport to it.
  void StartDevice(const std::vector<std::string>& args) {
    transport_.reset();
    server_.reset();
    device_.reset();
    std::vector<std::string> all = {"--on-shell-close", "hup-shell", "--shell",
                                    GetParam()};
    all.insert(all.end(), args.begin(), args.end());
    auto device = FakeAdbDevice::Start(all);
    ASSERT_TRUE(device.ok()) << device.status().ToString();
    device_ = std::move(*device);
    auto server = PrivateAdbServer::Start(adb_);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    auto t = Open(device_->serial());
    ASSERT_TRUE(t.ok()) << t.status().ToString() << Logs();
    transport_ = std::move(*t);
  }

  Result<std::unique_ptr<Transport>> Open(const std::string& serial) {
    AdbOptions o;
    o.serial = serial;
    o.adb = adb_;
    o.server_port = server_->port();
    o.remote_tmp = dir_.path();
    return NewAdbTransport(o);
  }

  std::string Logs() const {
    return "\ndevice log:\n" + (device_ ? device_->Log() : "") + "\nserver log:\n" +
           (server_ ? server_->Log() : "");
  }

  // A command that leaves its pid and a background child's pid in files,
  // waits for the child (which never ends by itself), then writes a marker.
  std::vector<std::string> LongCommand() const {
    return {"sh", "-c",
            "sleep 1000 & echo $! > " + dir_.File("bgpid") + "; echo $$ > " +
                dir_.File("pid") + "; wait; touch " + dir_.File("marker")};
  }
  bool LongCommandStarted() const {
    return !ReadFile(dir_.File("pid")).empty() && !ReadFile(dir_.File("bgpid")).empty();
  }
  // Both of its processes end, and the marker never appears.
  void ExpectLongCommandKilled() {
    const pid_t sh = ReadPid(dir_.File("pid"));
    const pid_t bg = ReadPid(dir_.File("bgpid"));
    ASSERT_GT(sh, 0);
    ASSERT_GT(bg, 0);
    EXPECT_TRUE(WaitFor([&] { return ProcessEnded(sh); })) << "sh " << sh << Logs();
    EXPECT_TRUE(WaitFor([&] { return ProcessEnded(bg); })) << "sleep " << bg << Logs();
    EXPECT_FALSE(Exists(dir_.File("marker")));
  }

  std::string adb_;
  // Destroyed in reverse: the transport (which cleans up on the device)
  // first, then the server, the device, and last the folder.
  testing::TempDir dir_;
  std::unique_ptr<FakeAdbDevice> device_;
  std::unique_ptr<PrivateAdbServer> server_;
  std::unique_ptr<Transport> transport_;
};

TEST_P(AdbTransportTest, NamesItself) {
  EXPECT_EQ(transport_->kind(), "adb");
  EXPECT_EQ(transport_->name(), "adb:" + device_->serial());
}

TEST_P(AdbTransportTest, ExitCodesStdoutAndStderr) {
  auto r = transport_->Exec({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r.ok()) << r.status().ToString() << Logs();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->Describe(), "exit code 3");

  r = transport_->Exec({"true"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->ok());
  EXPECT_EQ(r->out, "");
  EXPECT_EQ(r->err, "");

  r = transport_->Exec({"edgebench-no-such-command"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 127);
  EXPECT_THAT(r->err, HasSubstr("not found"));

  // Killed by a signal on the device: the shell's 128 + N.
  r = transport_->Exec({"sh", "-c", "kill -9 $$"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 128 + 9);

  // stderr without a final newline comes back as it was.
  r = transport_->Exec({"sh", "-c", "printf 'no newline' >&2"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->err, "no newline");
}

TEST_P(AdbTransportTest, StreamsStdoutLinesAsTheyCome) {
  // The second line is printed only after the test has seen the first.
  const std::string go = dir_.File("go");
  std::vector<std::string> lines;
  ExecOptions o;
  o.timeout_s = 120;
  o.on_line = [&](std::string_view line) {
    lines.emplace_back(line);
    if (line == "first") WriteFile(go, "");
  };
  auto r = transport_->Exec({"sh", "-c",
                             "echo first; while [ ! -e " + go +
                                 " ]; do sleep 0.05; done; echo second; printf third"},
                            o);
  ASSERT_TRUE(r.ok()) << r.status().ToString() << Logs();
  EXPECT_EQ(r->exit_code, 0) << r->err;
  EXPECT_THAT(lines, ElementsAre("first", "second", "third"));
  EXPECT_EQ(r->out, "");
}

TEST_P(AdbTransportTest, StdinData) {
  ExecOptions o;
  o.stdin_data = "one\ntwo";
  auto r = transport_->Exec({"sh", "-c", "cat; echo .; echo done >&2"}, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString() << Logs();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->out, "one\ntwo.\n");
  EXPECT_EQ(r->err, "done\n");

  // A script fed to `sh -s`, as the probe runs; binary stdin too (up to the
  // 1 MiB of stdout that Exec keeps).
  o.stdin_data = "x=20\necho $((x + 22))\nexit 4\n";
  r = transport_->Exec({"sh", "-s"}, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 4);
  EXPECT_EQ(r->out, "42\n");
  o.stdin_data = RandomBytes(768 << 10, 5);
  r = transport_->Exec({"cat"}, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->out == o.stdin_data);
}

TEST_P(AdbTransportTest, HostileArgumentsAreLiteralBytes) {
  const std::string marker = dir_.File("marker");
  const std::vector<std::string> args = testing::HostileStrings(marker);
  std::vector<std::string> argv = {"printf", "[%s]\\n"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = transport_->Exec(argv);
  ASSERT_TRUE(r.ok()) << r.status().ToString() << Logs();
  EXPECT_EQ(r->exit_code, 0) << r->err;
  std::string expected;
  for (const std::string& a : args) expected += "[" + a + "]\n";
  EXPECT_EQ(r->out, expected);

  // A program name is a name too, whatever it holds.
  for (const std::string& name :
       {std::string("-c"), "touch " + marker, "$(touch " + marker + ")"}) {
    r = transport_->Exec({name});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->exit_code, 127) << name << ": " << r->err;
  }
  EXPECT_FALSE(Exists(marker));
}

TEST_P(AdbTransportTest, TimeoutKillsTheCommandOnTheDevice) {
  ExecOptions o;
  // Long enough for the command to start on a loaded machine; the test
  // needs its pids.
  o.timeout_s = 8;
  auto r = transport_->Exec(LongCommand(), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString() << Logs();
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->exit_code, -1);
  EXPECT_EQ(r->signal, SIGKILL);
  EXPECT_EQ(r->Describe(), "timed out");
  ASSERT_TRUE(LongCommandStarted()) << "the command did not start within 8 s" << Logs();
  ExpectLongCommandKilled();
}

TEST_P(AdbTransportTest, CancelKillsTheCommandOnTheDevice) {
  std::atomic<bool> cancel{false};
  Result<ExecResult> r = InternalError("not run");
  std::thread t([&] {
    ExecOptions o;
    o.cancel = &cancel;
    o.timeout_s = 300;
    r = transport_->Exec(LongCommand(), o);
  });
  const bool started = WaitFor([&] { return LongCommandStarted(); });
  cancel = true;
  t.join();
  ASSERT_TRUE(started) << Logs();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled) << r.status().ToString();
  ExpectLongCommandKilled();
}

TEST_P(AdbTransportTest, KillAllKillsRunningCommands) {
  Result<ExecResult> r = InternalError("not run");
  std::thread t([&] {
    ExecOptions o;
    o.timeout_s = 300;
    r = transport_->Exec(LongCommand(), o);
  });
  const bool started = WaitFor([&] { return LongCommandStarted(); });
  const Status killed = transport_->KillAll();
  t.join();
  ASSERT_TRUE(started) << Logs();
  EXPECT_TRUE(killed.ok()) << killed.ToString();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, -1);
  EXPECT_EQ(r->signal, SIGKILL);
  ExpectLongCommandKilled();
  // Idempotent, and the transport still works.
  EXPECT_TRUE(transport_->KillAll().ok());
  auto again = transport_->Exec({"echo", "still here"});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->out, "still here\n");
}

TEST_P(AdbTransportTest, ConcurrentExecs) {
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<std::string> failures;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < 5; ++j) {
        const std::string word = std::to_string(i) + "-" + std::to_string(j);
        auto r = transport_->Exec(
            {"sh", "-c", "echo $1; exit $2", "sh", word, std::to_string(i + j)});
        std::lock_guard<std::mutex> lock(mu);
        if (!r.ok()) {
          failures.push_back(r.status().ToString());
        } else if (r->out != word + "\n" || r->exit_code != i + j) {
          failures.push_back(word + ": got \"" + r->out + "\", " + r->Describe());
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_TRUE(failures.empty()) << ::testing::PrintToString(failures) << Logs();
}

TEST_P(AdbTransportTest, PushPullRoundTripWithProgress) {
  // A device that acknowledges each message 40 ms late (about 25 MiB/s), so
  // progress is seen halfway.
  StartDevice({"--sync-okay-delay-ms", "40"});
  const std::string content = RandomBytes(32 << 20, 6);
  const std::string local = dir_.File("model.bin");
  const std::string remote = dir_.File("on-device/model.bin");
  const std::string back = dir_.File("back.bin");
  WriteFile(local, content);
  std::vector<TransferProgress> seen;
  const Status pushed = transport_->Push(
      local, remote, [&](const TransferProgress& p) { seen.push_back(p); });
  ASSERT_TRUE(pushed.ok()) << pushed.ToString() << Logs();
  EXPECT_TRUE(ReadFile(remote) == content);

  ASSERT_GE(seen.size(), 2u);
  EXPECT_EQ(seen.front().done_bytes, 0u);
  EXPECT_EQ(seen.back().done_bytes, content.size());
  EXPECT_GT(seen.back().bytes_per_s, 0);
  bool halfway = false;
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].total_bytes, content.size());
    if (i > 0) {
      EXPECT_GE(seen[i].done_bytes, seen[i - 1].done_bytes);
    }
    halfway |= seen[i].done_bytes > 0 && seen[i].done_bytes < content.size();
  }
  EXPECT_TRUE(halfway) << seen.size() << " progress calls, none between 0 and the total";

  const Status pulled = transport_->Pull(remote, back);
  ASSERT_TRUE(pulled.ok()) << pulled.ToString() << Logs();
  EXPECT_TRUE(ReadFile(back) == content);
}

TEST_P(AdbTransportTest, PushPullSmallEmptyAndOddNames) {
  // The remote path goes to adbd as bytes, never through a shell: its '/'
  // make folders (created as adbd creates missing parents), the rest is
  // literal.
  const std::string marker = dir_.File("marker");
  const std::string odd =
      dir_.File("a b'c\"$(touch " + marker + ")`touch " + marker + "`;\n-d,1");
  for (const std::string& content : {std::string(), std::string("tiny\n")}) {
    const std::string local = dir_.File("-local");
    WriteFile(local, content);
    const Status pushed = transport_->Push(local, odd);
    ASSERT_TRUE(pushed.ok()) << pushed.ToString() << Logs();
    EXPECT_EQ(ReadFile(odd), content);
    const std::string back = dir_.File("-back");
    const Status pulled = transport_->Pull(odd, back);
    ASSERT_TRUE(pulled.ok()) << pulled.ToString() << Logs();
    EXPECT_EQ(ReadFile(back), content);
  }
  EXPECT_FALSE(Exists(marker));
}

TEST_P(AdbTransportTest, PushKeepsTheExecutableBit) {
  const std::string local = dir_.File("tool");
  WriteFile(local, "#!/bin/sh\necho tool ran\n");
  ASSERT_EQ(::chmod(local.c_str(), 0755), 0);
  const std::string remote = dir_.File("remote-tool");
  ASSERT_TRUE(transport_->Push(local, remote).ok());
  auto r = transport_->Exec({remote});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->out, "tool ran\n");
}

TEST_P(AdbTransportTest, PullOfAMissingFileIsNotFound) {
  const std::string local = dir_.File("local");
  const Status s = transport_->Pull(dir_.File("absent"), local);
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr(transport_->name()));
  EXPECT_FALSE(Exists(local));
}

TEST_P(AdbTransportTest, PushOfAMissingLocalFileIsNotFound) {
  const Status s = transport_->Push(dir_.File("absent"), dir_.File("remote"));
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
}

TEST_P(AdbTransportTest, DeviceVanishingMidPushIsUnavailable) {
  StartDevice({"--die-after-sync-bytes", std::to_string(4 << 20)});
  const std::string local = dir_.File("big");
  WriteFile(local, RandomBytes(32 << 20, 7));
  const Status s = transport_->Push(local, dir_.File("remote-big"));
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString() << Logs();
  EXPECT_THAT(s.message(), HasSubstr(transport_->name()));
  ASSERT_TRUE(device_->WaitExit(std::chrono::seconds(60)).has_value());
  auto r = transport_->Exec({"true"});
  ASSERT_FALSE(r.ok()) << r->Describe() << " out: " << r->out << " err: " << r->err
                       << Logs();
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr(transport_->name()));
}

TEST_P(AdbTransportTest, DeviceVanishingMidCommandIsUnavailable) {
  // adb itself exits 0 here (the stream closes without an exit status).
  Result<ExecResult> r = InternalError("not run");
  std::thread t([&] {
    ExecOptions o;
    o.timeout_s = 300;
    r = transport_->Exec(LongCommand(), o);
  });
  const bool started = WaitFor([&] { return LongCommandStarted(); });
  ::kill(device_->pid(), SIGTERM);
  t.join();
  ASSERT_TRUE(started) << Logs();
  ASSERT_FALSE(r.ok()) << r->Describe();
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr("lost"));
}

TEST_P(AdbTransportTest, UnknownSerialIsUnavailable) {
  auto t = Open("edgebench-no-such-serial");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kUnavailable) << t.status().ToString();
  EXPECT_THAT(t.status().message(), HasSubstr("adb:edgebench-no-such-serial"));
  EXPECT_THAT(t.status().message(), HasSubstr("not found"));

  // Nothing listens there: adb connect is refused.
  const std::string nobody = "127.0.0.1:" + std::to_string(testing::PickFreePort());
  t = Open(nobody);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kUnavailable) << t.status().ToString();
  EXPECT_THAT(t.status().message(), HasSubstr("adb:" + nobody));
}

TEST_P(AdbTransportTest, UnauthorizedDeviceIsUnavailable) {
  transport_.reset();
  server_.reset();
  device_.reset();
  auto device = FakeAdbDevice::Start({"--unauthorized"});
  ASSERT_TRUE(device.ok()) << device.status().ToString();
  device_ = std::move(*device);
  auto server = PrivateAdbServer::Start(adb_);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  server_ = std::move(*server);
  auto t = Open(device_->serial());
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kUnavailable) << t.status().ToString();
  EXPECT_THAT(t.status().message(),
              AnyOf(HasSubstr("unauthorized"), HasSubstr("authenticate")))
      << t.status().ToString() << Logs();

  // And adb lists it so.
  auto list = ListAdbDevices(adb_, server_->port());
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  bool listed = false;
  for (const AdbDeviceEntry& e : *list)
    if (e.serial == device_->serial()) listed = e.state == "unauthorized";
  EXPECT_TRUE(listed) << server_->Run({"devices", "-l"}).out;
}

TEST_P(AdbTransportTest, ListAdbDevicesShowsTheFakeDevice) {
  auto list = ListAdbDevices(adb_, server_->port());
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 1u) << server_->Run({"devices", "-l"}).out;
  const AdbDeviceEntry& e = (*list)[0];
  EXPECT_EQ(e.serial, device_->serial());
  EXPECT_EQ(e.state, "device");
  EXPECT_EQ(e.model, "Edgebench_Fake");
  EXPECT_GT(e.transport_id, 0);
}

INSTANTIATE_TEST_SUITE_P(Shells, AdbTransportTest,
                         ::testing::Values(std::string("/bin/sh"),
                                           std::string("/usr/bin/mksh")),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param == "/bin/sh" ? std::string("sh")
                                                          : std::string("mksh");
                         });

}  // namespace
}  // namespace edgebench::harness
