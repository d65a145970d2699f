// The sshd fixture itself: a client logs in with only the generated config,
// and everything the fixture started is gone after it.
#include "tests/sshd/sshd_fixture.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace edgebench::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Clock = std::chrono::steady_clock;

#define SKIP_WITHOUT_SSHD()                                                 \
  do {                                                                      \
    if (Status s = Sshd::Available(); !s.ok()) GTEST_SKIP() << s.message(); \
  } while (0)

// Running (not a zombie, not gone).
bool Alive(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(f, stat)) return false;
  const size_t paren = stat.rfind(')');
  return paren != std::string::npos && stat.size() > paren + 2 && stat[paren + 2] != 'Z';
}

// Polls until `pid` no longer runs; false after a generous deadline.
bool WaitGone(pid_t pid) {
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(20);
  while (Alive(pid)) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling interval
  }
  return true;
}

ProgramResult Ssh(const Sshd& sshd, const std::string& command) {
  std::vector<std::string> argv = {"ssh"};
  for (const std::string& a : sshd.ClientArgs()) argv.push_back(a);
  argv.push_back(sshd.host_alias());
  argv.push_back(command);
  return RunProgram(argv);
}

TEST(SshdFixture, LogsInWithItsOwnConfigOnly) {
  SKIP_WITHOUT_SSHD();
  auto sshd = Sshd::Start();
  ASSERT_TRUE(sshd.ok()) << sshd.status().ToString();
  const Clock::time_point start = Clock::now();
  const ProgramResult r = Ssh(**sshd, "id -un; echo \"$SHELL\"");
  const double login_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  ASSERT_EQ(r.exit_code, 0) << r.err << "\nsshd log:\n" << (*sshd)->Log();
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), (*sshd)->user());
  if ((*sshd)->user() == "edgebench-test") {
    EXPECT_THAT(r.out, HasSubstr("\n/bin/sh\n"));
  }
  std::printf("login and one command as %s: %.0f ms\n", (*sshd)->user().c_str(),
              login_ms);
}

TEST(SshdFixture, StopKillsEverySessionEvenDaemonisedOnes) {
  SKIP_WITHOUT_SSHD();
  auto sshd = Sshd::Start();
  ASSERT_TRUE(sshd.ok()) << sshd.status().ToString();
  // A remote command that leaves its own session behind, as a careless
  // benchmark script might.
  const ProgramResult r =
      Ssh(**sshd, "setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo $!");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const pid_t orphan = static_cast<pid_t>(std::stol(r.out));
  ASSERT_TRUE(Alive(orphan));
  const pid_t sshd_pid = (*sshd)->pid();
  sshd->reset();
  EXPECT_TRUE(WaitGone(orphan));
  EXPECT_FALSE(Alive(sshd_pid));
}

TEST(SshdFixture, KillClosesConnections) {
  SKIP_WITHOUT_SSHD();
  auto sshd = Sshd::Start();
  ASSERT_TRUE(sshd.ok()) << sshd.status().ToString();
  (*sshd)->Kill();
  const ProgramResult r = Ssh(**sshd, "true");
  EXPECT_EQ(r.exit_code, 255);
  EXPECT_THAT(r.err, HasSubstr("Connection refused"));
}

TEST(SshdFixture, TwoServersOnePortEach) {
  SKIP_WITHOUT_SSHD();
  auto a = Sshd::Start();
  auto b = Sshd::Start();
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_NE((*a)->port(), (*b)->port());
  // One host key does not open the other: the known_hosts are separate.
  std::vector<std::string> argv = {
      "ssh",       "-F",  (*a)->ssh_config(), "-p", std::to_string((*b)->port()),
      "127.0.0.1", "true"};
  const ProgramResult r = RunProgram(argv);
  EXPECT_EQ(r.exit_code, 255);
  EXPECT_THAT(r.err, HasSubstr("Host key verification failed"));
}

TEST(NetnsPair, BoardInItsOwnNamespace) {
  SKIP_WITHOUT_SSHD();
  if (Status s = NetnsPair::Permitted(); !s.ok()) GTEST_SKIP() << s.message();
  std::string name, host_if;
  {
    auto pair = NetnsPair::Create();
    ASSERT_TRUE(pair.ok()) << pair.status().ToString();
    name = (*pair)->name();
    host_if = (*pair)->host_interface();
    auto sshd = Sshd::Start({.address = (*pair)->board_address(), .netns = name});
    ASSERT_TRUE(sshd.ok()) << sshd.status().ToString();
    EXPECT_EQ((*sshd)->port(), 22);
    const ProgramResult r = Ssh(**sshd, "cat /proc/net/dev");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr((*pair)->board_interface()));
    EXPECT_THAT(r.out, Not(HasSubstr(host_if)));
  }
  const ProgramResult list = RunProgram({"ip", "netns", "list"});
  EXPECT_THAT(list.out, Not(HasSubstr(name)));
  const ProgramResult link = RunProgram({"ip", "link", "show", host_if});
  EXPECT_NE(link.exit_code, 0) << link.out;
}

}  // namespace
}  // namespace edgebench::testing
