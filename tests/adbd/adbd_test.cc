// The real adb client and server (Debian's adb 1.0.41) against the fake
// device: shell v2 (stdout, stderr, exit codes, stdin), the legacy shell,
// push and pull (empty, small, 20 MiB, every byte value, modes), a client
// killed mid-command, a device that vanishes mid-push, SIGTERM.
//
// Every test has its own fake device and its own adb server on a free port
// (never 5037); both are stopped by destructors, also after a failure.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/subprocess.h"
#include "tests/adbd/adbd_testing.h"
#include "tests/testing/testing.h"

namespace edgebench::testing {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

class AdbdTest : public ::testing::Test {
 protected:
  void SetUp() override { StartWith({}); }

  // (Re)starts the device with `args` and connects a fresh server to it.
  void StartWith(const std::vector<std::string>& args) {
    adb_ = FindAdb();
    if (adb_.empty())
      GTEST_SKIP() << "adb is not installed (Debian: apt-get install adb)";
    server_.reset();
    device_.reset();
    auto device = FakeAdbDevice::Start(args);
    ASSERT_TRUE(device.ok()) << device.status().ToString();
    device_ = std::move(*device);
    auto server = PrivateAdbServer::Start(adb_);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    const Status connected = server_->Connect(device_->serial());
    ASSERT_TRUE(connected.ok()) << connected.ToString() << "\ndevice log:\n"
                                << device_->Log();
  }

  SubprocessResult Adb(const std::vector<std::string>& args,
                       std::optional<std::string> stdin_data = std::nullopt) {
    std::vector<std::string> full = {"-s", device_->serial()};
    full.insert(full.end(), args.begin(), args.end());
    return server_->Run(full, std::move(stdin_data));
  }

  std::string Logs() const {
    return "\ndevice log:\n" + (device_ ? device_->Log() : "") + "\nserver log:\n" +
           (server_ ? server_->Log() : "");
  }

  std::string adb_;
  // Declared first, destroyed last: the server lets go of the device first.
  std::unique_ptr<FakeAdbDevice> device_;
  std::unique_ptr<PrivateAdbServer> server_;
  TempDir dir_;
};

TEST_F(AdbdTest, ListedWithItsModel) {
  const SubprocessResult r = server_->Run({"devices", "-l"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(device_->serial() + " "));
  EXPECT_THAT(r.out, HasSubstr(" device "));
  EXPECT_THAT(r.out, HasSubstr("model:Edgebench_Fake"));
}

TEST_F(AdbdTest, ShellStdoutStderrAndExitCodes) {
  SubprocessResult r = Adb({"shell", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3) << r.err << Logs();
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");

  r = Adb({"shell", "true"});
  EXPECT_EQ(r.exit_code, 0) << r.err << Logs();
  EXPECT_EQ(r.out, "");

  r = Adb({"shell", "no-such-command-edgebench"});
  EXPECT_EQ(r.exit_code, 127) << r.err;
  EXPECT_THAT(r.err, HasSubstr("not found"));

  // A command killed by a signal reports 128 + the signal, as adbd does.
  r = Adb({"shell", "kill -9 $$"});
  EXPECT_EQ(r.exit_code, 128 + 9) << r.err;
}

TEST_F(AdbdTest, ShellRunsInRootWithArgumentsJoinedBySpaces) {
  // adb joins its arguments with spaces and the device's sh parses them.
  const SubprocessResult r = Adb({"shell", "echo", "a  b", ";", "pwd"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "a b\n/\n");
}

TEST_F(AdbdTest, ScriptThroughStdinWithShS) {
  const std::string script =
      "x=41\n"
      "echo \"answer $((x + 1))\"\n"
      "echo to-stderr >&2\n"
      "exit 5\n";
  const SubprocessResult r = Adb({"shell", "sh", "-s"}, script);
  EXPECT_EQ(r.exit_code, 5) << r.err << Logs();
  EXPECT_EQ(r.out, "answer 42\n");
  EXPECT_EQ(r.err, "to-stderr\n");
}

TEST_F(AdbdTest, LargeBinaryStdinComesBackThroughCat) {
  // 3 MiB: several messages each way, flow control on both.
  const std::string data = RandomBytes(3 << 20, 1);
  const SubprocessResult r = Adb({"shell", "cat"}, data);
  EXPECT_EQ(r.exit_code, 0) << r.err << Logs();
  EXPECT_EQ(r.out.size(), data.size());
  EXPECT_TRUE(r.out == data);
}

TEST_F(AdbdTest, EmptyStdinIsEndOfFile) {
  const SubprocessResult r = Adb({"shell", "wc -c"}, std::string());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0\n");
}

TEST_F(AdbdTest, LegacyShellHasNoExitCodeAndOneStream) {
  // -x turns the shell protocol off; adb then insists on a PTY (-tt), which
  // the service name does not carry: `shell:<command>`.
  const SubprocessResult r =
      Adb({"shell", "-x", "-tt", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 0) << r.err << Logs();
  EXPECT_THAT(r.out, HasSubstr("out\n"));
  EXPECT_THAT(r.out, HasSubstr("err\n"));
}

TEST_F(AdbdTest, PushPullRoundTrips) {
  struct Case {
    std::string name;
    std::string content;
  };
  std::string every_byte;
  for (int i = 0; i < 256; ++i) every_byte.push_back(static_cast<char>(i));
  const std::vector<Case> cases = {
      {"empty", ""},
      {"small", "hello\n"},
      {"every-byte", every_byte + every_byte},
      {"just-under-64k", RandomBytes(64 * 1024 - 1, 2)},
      {"20mib", RandomBytes(20 << 20, 3)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string local = dir_.File(c.name);
    const std::string remote = dir_.File("remote-" + c.name);
    const std::string back = dir_.File("back-" + c.name);
    WriteFile(local, c.content);
    SubprocessResult r = Adb({"push", local, remote});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err << Logs();
    EXPECT_THAT(r.out, HasSubstr("1 file pushed"));
    EXPECT_TRUE(ReadFile(remote) == c.content);
    r = Adb({"pull", remote, back});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err << Logs();
    EXPECT_THAT(r.out, HasSubstr("1 file pulled"));
    EXPECT_EQ(ReadFile(back).size(), c.content.size());
    EXPECT_TRUE(ReadFile(back) == c.content);
  }
}

TEST_F(AdbdTest, PushKeepsOwnerModeAndReplacesAFile) {
  const std::string script = dir_.File("tool.sh");
  WriteFile(script, "#!/bin/sh\necho ran\n");
  ASSERT_EQ(::chmod(script.c_str(), 0750), 0);
  const std::string remote = dir_.File("remote-tool.sh");
  WriteFile(remote, "old content that is longer than the new one\n");
  ASSERT_EQ(::chmod(remote.c_str(), 0600), 0);

  SubprocessResult r = Adb({"push", script, remote});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << Logs();
  struct stat st;
  ASSERT_EQ(::stat(remote.c_str(), &st), 0);
  // adbd copies the owner's bits to group and others: 0750 -> 0777.
  EXPECT_EQ(st.st_mode & 0777, 0777u);
  r = Adb({"shell", remote});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "ran\n");

  const std::string data = dir_.File("data.txt");
  WriteFile(data, "x");
  ASSERT_EQ(::chmod(data.c_str(), 0640), 0);
  r = Adb({"push", data, dir_.File("remote-data.txt")});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ASSERT_EQ(::stat(dir_.File("remote-data.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0666u);
}

TEST_F(AdbdTest, PushCreatesMissingParentsAndIntoAFolder) {
  const std::string local = dir_.File("f.bin");
  WriteFile(local, "abc");
  SubprocessResult r = Adb({"push", local, dir_.File("new/deeper/f.bin")});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << Logs();
  EXPECT_EQ(ReadFile(dir_.File("new/deeper/f.bin")), "abc");
  // A remote folder gets the file under its own name (stat_v2 says folder).
  r = Adb({"push", local, dir_.File("new")});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << Logs();
  EXPECT_EQ(ReadFile(dir_.File("new/f.bin")), "abc");
}

TEST_F(AdbdTest, PullOfAMissingFileFails) {
  const SubprocessResult r = Adb({"pull", dir_.File("absent"), dir_.File("local")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.out + r.err, HasSubstr("No such file or directory"));
  EXPECT_FALSE(::access(dir_.File("local").c_str(), F_OK) == 0);
}

TEST_F(AdbdTest, KilledClientKillsTheCommandsProcessGroup) {
  const std::string pid_file = dir_.File("pid");
  const std::string bg_pid_file = dir_.File("bgpid");
  const std::string marker = dir_.File("marker");
  std::atomic<bool> cancel{false};
  SubprocessResult result;
  std::thread client([&] {
    SubprocessOptions o;
    o.cancel = &cancel;
    o.timeout = 120s;
    o.env = server_->Env();
    result = RunSubprocess(
        {adb_, "-P", std::to_string(server_->port()), "-s", device_->serial(), "shell",
         "sleep 1000 & echo $! > " + bg_pid_file + "; echo $$ > " + pid_file +
             "; wait; touch " + marker},
        o);
  });
  const bool started = WaitFor(
      [&] { return !ReadFile(pid_file).empty() && !ReadFile(bg_pid_file).empty(); });
  cancel = true;
  client.join();
  ASSERT_TRUE(started) << Logs();
  EXPECT_TRUE(result.cancelled);
  const pid_t sh = ReadPid(pid_file);
  const pid_t bg = ReadPid(bg_pid_file);
  EXPECT_TRUE(WaitFor([&] { return ProcessEnded(sh); })) << "sh " << sh << Logs();
  EXPECT_TRUE(WaitFor([&] { return ProcessEnded(bg); })) << "sleep " << bg << Logs();
  EXPECT_FALSE(::access(marker.c_str(), F_OK) == 0);
}

// What adbd itself does (shell_service.cpp, 2020): SIGHUP to the `sh -c`
// process only, so a child it started lives on. The harness cannot rely on
// the device to clean up after a killed client.
TEST_F(AdbdTest, LikeAdbdAKilledClientLeavesBackgroundChildrenRunning) {
  StartWith({"--on-shell-close", "hup-shell"});
  const std::string pid_file = dir_.File("pid");
  const std::string bg_pid_file = dir_.File("bgpid");
  std::atomic<bool> cancel{false};
  std::thread client([&] {
    SubprocessOptions o;
    o.cancel = &cancel;
    o.timeout = 120s;
    o.env = server_->Env();
    RunSubprocess(
        {adb_, "-P", std::to_string(server_->port()), "-s", device_->serial(), "shell",
         "sleep 1000 & echo $! > " + bg_pid_file + "; echo $$ > " + pid_file + "; wait"},
        o);
  });
  const bool started = WaitFor(
      [&] { return !ReadFile(pid_file).empty() && !ReadFile(bg_pid_file).empty(); });
  cancel = true;
  client.join();
  ASSERT_TRUE(started) << Logs();
  const pid_t sh = ReadPid(pid_file);
  const pid_t bg = ReadPid(bg_pid_file);
  EXPECT_TRUE(WaitFor([&] { return ProcessEnded(sh); })) << Logs();
  EXPECT_FALSE(ProcessEnded(bg));
  // The daemon's SIGTERM takes every process group it started with it.
  device_.reset();
  EXPECT_TRUE(WaitFor([&] { return ProcessEnded(bg); }));
}

TEST_F(AdbdTest, DeviceVanishingMidPushFailsThePush) {
  StartWith({"--die-after-sync-bytes", std::to_string(1 << 20)});
  const std::string local = dir_.File("big");
  WriteFile(local, RandomBytes(8 << 20, 4));
  SubprocessResult r = Adb({"push", local, dir_.File("remote-big")});
  EXPECT_NE(r.exit_code, 0) << r.out << r.err << Logs();
  const std::optional<int> status = device_->WaitExit(60s);
  ASSERT_TRUE(status.has_value()) << Logs();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
  // adb now reports the device offline or gone.
  r = Adb({"shell", "true"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err,
              AnyOf(HasSubstr("offline"), HasSubstr("not found"), HasSubstr("closed")))
      << r.err;
}

TEST_F(AdbdTest, SigtermStopsTheDaemonCleanly) {
  ASSERT_EQ(::kill(device_->pid(), SIGTERM), 0);
  const std::optional<int> status = device_->WaitExit(60s);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
}

}  // namespace
}  // namespace edgebench::testing
