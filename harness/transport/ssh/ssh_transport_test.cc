// The ssh transport against a real sshd: on loopback, in network namespaces
// (two boards) and through a jump host. The "board" is this machine, so a
// test checks remote files and pids directly.
#include "harness/transport/ssh/ssh_transport.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/sshd/sshd_fixture.h"
#include "tests/testing/testing.h"

namespace edgebench::harness {
namespace {

using ::testing::HasSubstr;
using testing::RandomBytes;
using testing::HostileStrings;
using testing::NetnsPair;
using ::testing::Not;
using testing::ReadFile;
using testing::Sshd;
using testing::TempDir;
using testing::WriteFile;
using Clock = std::chrono::steady_clock;

// Polls `done` until true; false after a deadline generous enough for a
// loaded 2-core CI machine.
bool WaitFor(const std::function<bool()>& done,
             std::chrono::seconds limit = std::chrono::seconds(30)) {
  const Clock::time_point deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling interval
  }
  return true;
}

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// Running: not gone and not a zombie.
bool Alive(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(f, stat)) return false;
  const size_t paren = stat.rfind(')');
  return paren != std::string::npos && stat.size() > paren + 2 && stat[paren + 2] != 'Z';
}

pid_t ReadPid(const std::string& path) {
  const std::string s = ReadFile(path);
  return s.empty() ? -1 : static_cast<pid_t>(std::stol(s));
}

SshOptions OptionsFor(const Sshd& sshd, std::string name = "ssh:test-board") {
  SshOptions o;
  o.host = sshd.address();
  o.port = sshd.port();
  o.user = sshd.user();
  o.identity = sshd.identity();
  o.extra_args = sshd.ClientArgs();  // known_hosts, StrictHostKeyChecking
  o.name = std::move(name);
  return o;
}

#define SKIP_WITHOUT_SSHD()                                                 \
  do {                                                                      \
    if (Status s = Sshd::Available(); !s.ok()) GTEST_SKIP() << s.message(); \
  } while (0)

class SshTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_WITHOUT_SSHD();
    auto sshd = Sshd::Start();
    ASSERT_TRUE(sshd.ok()) << sshd.status().ToString();
    sshd_ = std::move(*sshd);
    const Clock::time_point start = Clock::now();
    auto t = NewSshTransport(OptionsFor(*sshd_));
    connect_ms_ = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    ASSERT_TRUE(t.ok()) << t.status().ToString() << "\nsshd log:\n" << sshd_->Log();
    t_ = std::move(*t);
  }

  std::string UserFile(const std::string& name) const {
    return sshd_->user_dir() + "/" + name;
  }

  ExecResult MustExec(const std::vector<std::string>& argv, const ExecOptions& o = {}) {
    Result<ExecResult> r = t_->Exec(argv, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString() << "\nsshd log:\n" << sshd_->Log();
    return r.ok() ? *r : ExecResult{};
  }

  // Declared first: destroyed last, after the transport closed its master.
  std::unique_ptr<Sshd> sshd_;
  std::unique_ptr<Transport> t_;
  double connect_ms_ = 0;
};

TEST_F(SshTransportTest, ExitCodes) {
  EXPECT_EQ(t_->kind(), "ssh");
  EXPECT_EQ(t_->name(), "ssh:test-board");
  EXPECT_EQ(MustExec({"true"}).exit_code, 0);
  EXPECT_EQ(MustExec({"false"}).exit_code, 1);
  EXPECT_EQ(MustExec({"sh", "-c", "exit 3"}).exit_code, 3);
  // The remote command's own 255 is not ssh's 255.
  EXPECT_EQ(MustExec({"sh", "-c", "exit 255"}).exit_code, 255);
  const ExecResult missing = MustExec({"no-such-program-edgebench"});
  EXPECT_EQ(missing.exit_code, 127);
  EXPECT_THAT(missing.err, HasSubstr("not found"));
  // Killed by a signal on the board: the shell's 128+N.
  const ExecResult killed = MustExec({"sh", "-c", "kill -9 $$"});
  EXPECT_EQ(killed.exit_code, 128 + SIGKILL);
  EXPECT_EQ(killed.signal, 0);
  EXPECT_FALSE(t_->Exec({}).ok());
}

TEST_F(SshTransportTest, StdoutAndStderrApart) {
  const ExecResult r = MustExec({"sh", "-c", "echo out; echo oops >&2; exit 2"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_THAT(r.err, HasSubstr("oops"));
  EXPECT_THAT(r.err, Not(HasSubstr("out")));
}

TEST_F(SshTransportTest, LinesArriveWhileTheCommandRuns) {
  // The command prints, then waits for a file that the test creates only
  // after it has seen the line: it can end only if the line came first.
  const std::string go = UserFile("go");
  std::vector<std::string> lines;
  ExecOptions o;
  o.timeout_s = 60;
  o.on_line = [&](std::string_view line) {
    lines.emplace_back(line);
    if (line == "ready") WriteFile(go, "");
  };
  const ExecResult r = MustExec(
      {"sh", "-c", "echo ready; while [ ! -e \"$1\" ]; do sleep 0.02; done; printf done",
       "sh", go},
      o);
  EXPECT_EQ(r.exit_code, 0) << r.Describe() << r.err;
  EXPECT_FALSE(r.timed_out);
  EXPECT_THAT(lines, ::testing::ElementsAre("ready", "done"));
  EXPECT_EQ(r.out, "");  // on_line took it
}

TEST_F(SshTransportTest, StdinData) {
  ExecOptions o;
  o.stdin_data = RandomBytes(300000, 1) + "\nlast line without newline";
  EXPECT_EQ(MustExec({"cat"}, o).out, o.stdin_data);
  o.stdin_data.assign(size_t{5} << 20, 'x');
  EXPECT_EQ(MustExec({"wc", "-c"}, o).out, std::to_string(size_t{5} << 20) + "\n");
  // Without stdin_data the command reads end of file at once.
  EXPECT_EQ(MustExec({"cat"}).out, "");
}

TEST_F(SshTransportTest, TimeoutKillsTheRemoteCommand) {
  const std::string pid_file = UserFile("pid");
  const std::string marker = UserFile("marker");
  ExecOptions o;
  o.timeout_s = 3;
  const Clock::time_point start = Clock::now();
  const ExecResult r = MustExec(
      {"sh", "-c", "echo $$ > \"$1\"; sleep 30; touch \"$2\"", "sh", pid_file, marker},
      o);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(25));
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.Describe(), "timed out");
  const pid_t pid = ReadPid(pid_file);
  ASSERT_GT(pid, 0);
  // The shell that would write the marker after its sleep is gone, so the
  // marker can never appear.
  EXPECT_TRUE(WaitFor([&] { return !Alive(pid); }));
  EXPECT_FALSE(Exists(marker));
}

TEST_F(SshTransportTest, CancelKillsTheRemoteCommand) {
  const std::string pid_file = UserFile("pid");
  std::atomic<bool> cancel{false};
  ExecOptions o;
  o.cancel = &cancel;
  o.on_line = [&](std::string_view) { cancel = true; };
  Result<ExecResult> r = t_->Exec(
      {"sh", "-c", "echo $$ > \"$1\"; echo started; sleep 60", "sh", pid_file}, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled) << r.status().ToString();
  const pid_t pid = ReadPid(pid_file);
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(WaitFor([&] { return !Alive(pid); }));
}

TEST_F(SshTransportTest, KillAllKillsARunningRemoteCommand) {
  const std::string pid_file = UserFile("pid");
  const std::string child_file = UserFile("child");
  Result<ExecResult> r = InternalError("not run");
  const Clock::time_point start = Clock::now();
  std::thread exec([&] {
    r = t_->Exec(
        {"sh", "-c",
         "echo $$ > \"$1.tmp\"; sleep 60 & echo $! > \"$2\"; mv \"$1.tmp\" \"$1\"; wait",
         "sh", pid_file, child_file});
  });
  const bool started = WaitFor([&] { return Exists(pid_file); });
  EXPECT_TRUE(started);
  const Status killed = t_->KillAll();
  exec.join();
  ASSERT_TRUE(started);
  EXPECT_TRUE(killed.ok()) << killed.ToString();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(50));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->signal, SIGKILL) << r->Describe();
  const pid_t shell = ReadPid(pid_file);
  const pid_t child = ReadPid(child_file);
  EXPECT_TRUE(WaitFor([&] { return !Alive(shell) && !Alive(child); }));
  // Nothing runs any more: idempotent.
  EXPECT_TRUE(t_->KillAll().ok());
  EXPECT_EQ(MustExec({"true"}).exit_code, 0);
}

TEST_F(SshTransportTest, HostileArgumentsAreLiteralBytes) {
  const std::string marker = UserFile("marker");
  const std::vector<std::string> hostile = HostileStrings(marker);
  std::string all;
  std::vector<std::string> argv = {"printf", "[%s]"};
  for (const std::string& h : hostile) {
    const ExecResult r = MustExec({"printf", "%s", h});
    EXPECT_EQ(r.out, h);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    argv.push_back(h);
    all += "[" + h + "]";
  }
  EXPECT_EQ(MustExec(argv).out, all);
  EXPECT_FALSE(Exists(marker));

  // The same names as remote paths.
  TempDir local;
  for (const std::string& h : hostile) {
    if (h.empty() || h.find('/') != std::string::npos || h == "-" || h == "*") continue;
    const std::string content = "content of " + h;
    WriteFile(local.File("in"), content);
    const std::string remote = UserFile(h);
    ASSERT_TRUE(t_->Push(local.File("in"), remote).ok()) << h;
    EXPECT_EQ(ReadFile(remote), content) << h;
    ASSERT_TRUE(t_->Pull(remote, local.File("out")).ok()) << h;
    EXPECT_EQ(ReadFile(local.File("out")), content) << h;
  }
  EXPECT_FALSE(Exists(marker));
}

TEST_F(SshTransportTest, PushPullByteIdentical) {
  TempDir local;
  const std::string data = RandomBytes(size_t{32} << 20, 42);
  WriteFile(local.File("model.bin"), data);
  std::vector<TransferProgress> seen;
  std::mutex mu;
  const std::string remote = UserFile("model.bin");
  const Clock::time_point start = Clock::now();
  const Status pushed =
      t_->Push(local.File("model.bin"), remote, [&](const TransferProgress& p) {
        std::lock_guard<std::mutex> lock(mu);
        seen.push_back(p);
      });
  const double push_s = std::chrono::duration<double>(Clock::now() - start).count();
  ASSERT_TRUE(pushed.ok()) << pushed.ToString();
  EXPECT_TRUE(ReadFile(remote) == data);
  struct stat st = {};
  ASSERT_EQ(::stat(remote.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);  // new files are executable, as locally

  ASSERT_GE(seen.size(), 2u);
  EXPECT_EQ(seen.front().done_bytes, 0u);
  EXPECT_EQ(seen.back().done_bytes, data.size());
  EXPECT_GT(seen.back().bytes_per_s, 0);
  for (size_t i = 1; i < seen.size(); ++i) {
    EXPECT_GT(seen[i].done_bytes, seen[i - 1].done_bytes) << i;
    EXPECT_EQ(seen[i].total_bytes, data.size());
  }

  const Status pulled = t_->Pull(remote, local.File("back.bin"));
  ASSERT_TRUE(pulled.ok()) << pulled.ToString();
  EXPECT_TRUE(ReadFile(local.File("back.bin")) == data);
  std::printf("32 MiB: push %.2f s (%zu progress calls), over one ControlMaster\n",
              push_s, seen.size());

  // Small and awkward contents: empty, no final newline, NULs, CR LF.
  for (const std::string& content :
       {std::string(), std::string("no newline"), std::string("a\0b\r\n\n", 6)}) {
    WriteFile(local.File("small"), content);
    ASSERT_TRUE(t_->Push(local.File("small"), remote).ok());
    ASSERT_TRUE(t_->Pull(remote, local.File("small.back")).ok());
    EXPECT_EQ(ReadFile(local.File("small.back")), content);
  }
}

TEST_F(SshTransportTest, TransferErrorsNameWhatFailed) {
  TempDir local;
  WriteFile(local.File("f"), "x");
  Status s = t_->Push(local.File("f"), UserFile("no-such-dir/f"));
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("ssh:test-board"));
  s = t_->Push(local.File("missing"), UserFile("f"));
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
  s = t_->Pull(UserFile("missing"), local.File("out"));
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
  EXPECT_FALSE(Exists(local.File("out")));
  // No temporary file is left beside the destination.
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(local.path())) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST_F(SshTransportTest, SeveralCommandsAtOnceOverOneMaster) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      Result<ExecResult> r = t_->Exec({"sh", "-c", "echo $1", "sh", std::to_string(i)});
      if (r.ok() && r->out == std::to_string(i) + "\n") ++ok;
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(ok, 8);
  // Latency of one command over the master (reported, not asserted).
  std::vector<double> ms;
  for (int i = 0; i < 10; ++i) {
    const Clock::time_point start = Clock::now();
    MustExec({"true"});
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf(
      "connect (first login as %s): %.0f ms; one Exec over the master: median %.0f ms\n",
      sshd_->user().c_str(), connect_ms_, ms[ms.size() / 2]);
}

TEST_F(SshTransportTest, SshdKilledMidPush) {
  // A FIFO as the local file: the test decides how much has been sent when
  // the board goes away.
  TempDir local;
  const std::string fifo = local.File("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string remote = UserFile("partial.bin");
  Status pushed = InternalError("not run");
  std::thread push(
      [&] { pushed = t_->Push(fifo, remote, [](const TransferProgress&) {}); });
  const int fd = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC);  // waits for the push
  ASSERT_GE(fd, 0);
  const std::string chunk = RandomBytes(size_t{1} << 20, 7);
  size_t off = 0;
  while (off < chunk.size()) {
    const ssize_t n = ::write(fd, chunk.data() + off, chunk.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  EXPECT_EQ(off, chunk.size());
  struct stat st = {};
  const bool arrived = WaitFor([&] {
    return ::stat(remote.c_str(), &st) == 0 &&
           static_cast<size_t>(st.st_size) == chunk.size();
  });
  sshd_->Kill();
  push.join();
  ::close(fd);
  EXPECT_TRUE(arrived);
  EXPECT_EQ(pushed.code(), StatusCode::kUnavailable) << pushed.ToString();
  EXPECT_THAT(pushed.message(), HasSubstr("ssh:test-board"));
  // What is left: the partial file under its given name (deploy writes to a
  // temporary name and renames, so it never mistakes this for the file).
  EXPECT_TRUE(ReadFile(remote) == chunk);

  // The board stays gone: every call says so.
  Result<ExecResult> r = t_->Exec({"true"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
}

TEST_F(SshTransportTest, ReconnectsWhenTheBoardComesBack) {
  ASSERT_EQ(MustExec({"true"}).exit_code, 0);
  sshd_->Kill();
  Result<ExecResult> r = t_->Exec({"true"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr("ssh:test-board"));
  // The reboot cleared the board's temporary folder.
  std::filesystem::remove_all(sshd_->tmp_dir());
  std::filesystem::create_directory(sshd_->tmp_dir());
  std::filesystem::permissions(sshd_->tmp_dir(), std::filesystem::perms::all);
  const Status restarted = sshd_->Restart();
  ASSERT_TRUE(restarted.ok()) << restarted.ToString();
  r = t_->Exec({"echo", "back"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->out, "back\n");
  // The pid files' folder is back, so KillAll still reaches the board.
  int folders = 0;
  for (const auto& e : std::filesystem::directory_iterator(sshd_->tmp_dir()))
    folders += e.is_directory();
  EXPECT_EQ(folders, 1);
}

TEST(SshTransport, NoticesAFrozenBoardInSeconds) {
  SKIP_WITHOUT_SSHD();
  auto sshd = Sshd::Start();
  ASSERT_TRUE(sshd.ok()) << sshd.status().ToString();
  SshOptions o = OptionsFor(**sshd);
  // Shorter keep-alives than the default 3 s × 3 (extra_args win), to keep
  // the test short.
  o.extra_args.insert(o.extra_args.end(),
                      {"-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=2"});
  auto t = NewSshTransport(o);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  // A benchmark is running when the board hangs.
  Result<ExecResult> r = InternalError("not run");
  std::atomic<bool> started{false};
  Clock::time_point frozen_at;
  std::thread exec([&] {
    ExecOptions eo;
    eo.on_line = [&](std::string_view) { started = true; };
    r = (*t)->Exec({"sh", "-c", "echo started; exec sleep 60"}, eo);
  });
  const bool ran = WaitFor([&] { return started.load(); });
  frozen_at = Clock::now();
  (*sshd)->Freeze();
  exec.join();
  const double s = std::chrono::duration<double>(Clock::now() - frozen_at).count();
  ASSERT_TRUE(ran);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_LT(s, 20);
  std::printf("frozen board noticed after %.1f s (keep-alive 1 s x 2): %s\n", s,
              r.status().message().c_str());
}

TEST(SshTransport, HonoursTheConfigForAHostAlias) {
  SKIP_WITHOUT_SSHD();
  auto sshd = Sshd::Start();
  ASSERT_TRUE(sshd.ok()) << sshd.status().ToString();
  SshOptions o;
  o.host = (*sshd)->host_alias();  // port, user and key come from the -F file
  o.extra_args = (*sshd)->ClientArgs();
  auto t = NewSshTransport(o);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ((*t)->name(), "ssh:" + o.host);
  Result<ExecResult> r = (*t)->Exec({"id", "-un"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->out, (*sshd)->user() + "\n");
}

TEST(SshTransport, ClosedPortIsUnavailable) {
  SKIP_WITHOUT_SSHD();
  auto sshd = Sshd::Start();
  ASSERT_TRUE(sshd.ok()) << sshd.status().ToString();
  (*sshd)->Kill();
  auto t = NewSshTransport(OptionsFor(**sshd));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(t.status().message(), HasSubstr("127.0.0.1"));
  EXPECT_THAT(t.status().message(), HasSubstr("Connection refused"));
}

TEST(SshTransport, BadKeyIsUnavailable) {
  SKIP_WITHOUT_SSHD();
  auto sshd = Sshd::Start();
  ASSERT_TRUE(sshd.ok()) << sshd.status().ToString();
  TempDir dir;
  const testing::ProgramResult keygen = testing::RunProgram(
      {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir.File("other_key")});
  ASSERT_EQ(keygen.exit_code, 0) << keygen.err;
  SshOptions o = OptionsFor(**sshd);
  o.identity = dir.File("other_key");
  // Not the fixture's config, which names the right key.
  o.extra_args = {"-F", "none",
                  "-o", "UserKnownHostsFile=" + (*sshd)->known_hosts(),
                  "-o", "StrictHostKeyChecking=yes",
                  "-o", "IdentitiesOnly=yes",
                  "-o", "IdentityAgent=none"};
  auto t = NewSshTransport(o);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(t.status().message(), HasSubstr("127.0.0.1"));
  EXPECT_THAT(t.status().message(), HasSubstr("Permission denied"));
}

TEST(SshTransport, UnknownHostKeyIsUnavailable) {
  SKIP_WITHOUT_SSHD();
  auto sshd = Sshd::Start();
  ASSERT_TRUE(sshd.ok()) << sshd.status().ToString();
  TempDir dir;
  WriteFile(dir.File("known_hosts"), "");
  SshOptions o = OptionsFor(**sshd);
  o.extra_args = {"-o", "UserKnownHostsFile=" + dir.File("known_hosts"), "-F",
                  (*sshd)->ssh_config()};
  auto t = NewSshTransport(o);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(t.status().message(), HasSubstr("Host key verification failed"));
}

TEST(SshTransport, JumpHost) {
  SKIP_WITHOUT_SSHD();
  auto a = Sshd::Start();
  auto b = Sshd::Start();
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  TempDir dir;
  ASSERT_TRUE(testing::WriteSshConfig(dir.File("ssh_config"), {a->get(), b->get()}).ok());
  const auto logins = [](const Sshd& s) {
    const std::string log = s.Log();
    size_t n = 0;
    for (size_t at = 0; (at = log.find("Accepted publickey", at)) != std::string::npos;
         ++at)
      ++n;
    return n;
  };
  const size_t a_before = logins(**a);
  SshOptions o;
  o.host = (*b)->host_alias();
  o.jump = (*a)->host_alias();
  o.extra_args = {"-F", dir.File("ssh_config")};
  auto t = NewSshTransport(o);
  ASSERT_TRUE(t.ok()) << t.status().ToString() << "\nA:\n"
                      << (*a)->Log() << "\nB:\n"
                      << (*b)->Log();
  Result<ExecResult> r = (*t)->Exec({"echo", "through the jump host"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->out, "through the jump host\n");
  EXPECT_GT(logins(**a), a_before);  // A let us through
  const size_t a_after = logins(**a);
  const size_t b_after = logins(**b);
  EXPECT_GT(b_after, 0u);
  // Later calls reuse the master (and its connection through A): no new
  // logins on either.
  for (int i = 0; i < 3; ++i) {
    r = (*t)->Exec({"true"});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  EXPECT_EQ(logins(**a), a_after);
  EXPECT_EQ(logins(**b), b_after);
}

TEST(SshTransport, TwoBoardsInNetworkNamespaces) {
  SKIP_WITHOUT_SSHD();
  if (Status s = NetnsPair::Permitted(); !s.ok()) GTEST_SKIP() << s.message();
  // Namespaces first: destroyed after the sshds and transports inside.
  auto net_a = NetnsPair::Create();
  ASSERT_TRUE(net_a.ok()) << net_a.status().ToString();
  auto net_b = NetnsPair::Create();
  ASSERT_TRUE(net_b.ok()) << net_b.status().ToString();
  ASSERT_NE((*net_a)->board_address(), (*net_b)->board_address());
  auto sshd_a =
      Sshd::Start({.address = (*net_a)->board_address(), .netns = (*net_a)->name()});
  ASSERT_TRUE(sshd_a.ok()) << sshd_a.status().ToString();
  auto sshd_b =
      Sshd::Start({.address = (*net_b)->board_address(), .netns = (*net_b)->name()});
  ASSERT_TRUE(sshd_b.ok()) << sshd_b.status().ToString();
  auto a = NewSshTransport(OptionsFor(**sshd_a, "ssh:board-a"));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto b = NewSshTransport(OptionsFor(**sshd_b, "ssh:board-b"));
  ASSERT_TRUE(b.ok()) << b.status().ToString();

  // Each command runs inside its own board's namespace: it sees that
  // board's interface and not the other's.
  Result<ExecResult> ra = (*a)->Exec({"cat", "/proc/net/dev"});
  Result<ExecResult> rb = (*b)->Exec({"cat", "/proc/net/dev"});
  ASSERT_TRUE(ra.ok()) << ra.status().ToString();
  ASSERT_TRUE(rb.ok()) << rb.status().ToString();
  EXPECT_THAT(ra->out, HasSubstr((*net_a)->board_interface()));
  EXPECT_THAT(ra->out, Not(HasSubstr((*net_b)->board_interface())));
  EXPECT_THAT(rb->out, HasSubstr((*net_b)->board_interface()));
  EXPECT_THAT(rb->out, Not(HasSubstr((*net_a)->board_interface())));
}

}  // namespace
}  // namespace edgebench::harness
