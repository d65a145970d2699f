// ShellQuote against every POSIX shell installed here, and the local
// transport.
#include "harness/transport/transport.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/testing.h"

namespace edgebench::harness {
namespace {

using ::testing::HasSubstr;
using testing::ReadFile;
using testing::TempDir;
using testing::HostileStrings;
using testing::WriteFile;

TEST(ShellQuote, Forms) {
  EXPECT_EQ(ShellQuote(""), "''");
  EXPECT_EQ(ShellQuote("abc"), "'abc'");
  EXPECT_EQ(ShellQuote("it's"), "'it'\\''s'");
  EXPECT_EQ(ShellCommand({"ls", "-l", "a b"}), "'ls' '-l' 'a b'");
}

// Every hostile string, quoted, comes back byte for byte from each shell
// and runs nothing.
TEST(ShellQuote, HostileStringsAreLiteralInEveryShell) {
  TempDir dir;
  const std::string marker = dir.File("MARKER");
  std::vector<std::vector<std::string>> shells = {{"sh", "-c"}, {"dash", "-c"}, {"bash", "-c"}};
  if (access("/usr/bin/busybox", X_OK) == 0) shells.push_back({"busybox", "sh", "-c"});
  if (access("/bin/mksh", X_OK) == 0) shells.push_back({"mksh", "-c"});
  for (const std::vector<std::string>& shell : shells) {
    for (const std::string& s : HostileStrings(marker)) {
      std::vector<std::string> argv = shell;
      argv.push_back(ShellCommand({"printf", "%s", s}));
      const testing::ProgramResult r = testing::RunProgram(argv);
      EXPECT_EQ(r.exit_code, 0) << shell[0] << ": " << r.err;
      EXPECT_EQ(r.out, s) << shell[0];
    }
  }
  EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST(LocalTransport, ExecExitCodesOutputAndStreamedLines) {
  auto t = NewLocalTransport();
  EXPECT_EQ(t->kind(), "local");
  auto r = t->Exec({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->Describe(), "exit code 3");

  std::vector<std::string> lines;
  ExecOptions o;
  o.on_line = [&](std::string_view l) { lines.emplace_back(l); };
  o.stdin_data = "a\nb\n";
  r = t->Exec({"cat"}, o);
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(lines, ::testing::ElementsAre("a", "b"));
  EXPECT_EQ(r->out, "");

  r = t->Exec({"/nonexistent/edgebench-rt"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 127);
  EXPECT_THAT(r->err, HasSubstr("/nonexistent/edgebench-rt"));
}

TEST(LocalTransport, HostileArgumentsRunNothing) {
  TempDir dir;
  const std::string marker = dir.File("MARKER");
  auto t = NewLocalTransport();
  for (const std::string& s : HostileStrings(marker)) {
    auto r = t->Exec({"printf", "%s", s});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->out, s);
  }
  EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST(LocalTransport, TimeoutKillsAndCancelReturnsCancelled) {
  TempDir dir;
  auto t = NewLocalTransport();
  ExecOptions o;
  o.timeout_s = 0.2;
  auto r = t->Exec({"sh", "-c", "sleep 2; touch \"$1\"", "sh", dir.File("late")}, o);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->Describe(), "timed out");

  std::atomic<bool> cancel{false};
  ExecOptions c;
  c.cancel = &cancel;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    cancel = true;
  });
  r = t->Exec({"sleep", "30"}, c);
  canceller.join();
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled);
  // The timed-out command's group was killed before it could touch.
  std::this_thread::sleep_for(std::chrono::milliseconds(2200));
  EXPECT_FALSE(std::filesystem::exists(dir.File("late")));
}

TEST(LocalTransport, KillAllEndsRunningCommands) {
  auto t = NewLocalTransport();
  std::atomic<bool> started{false};
  Result<ExecResult> r = InternalError("not run");
  ExecOptions o;
  o.on_line = [&](std::string_view) { started = true; };
  std::thread runner([&] { r = t->Exec({"sh", "-c", "echo up; exec sleep 60"}, o); });
  for (int i = 0; i < 3000 && !started; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(started);
  EXPECT_TRUE(t->KillAll().ok());
  runner.join();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->signal, SIGKILL);
  EXPECT_TRUE(t->KillAll().ok());  // idempotent
}

TEST(LocalTransport, PushPullByteExactWithProgress) {
  TempDir dir;
  const std::string bytes = testing::RandomBytes(size_t{5} << 20, 7);
  WriteFile(dir.File("src"), bytes);
  auto t = NewLocalTransport();
  std::vector<TransferProgress> seen;
  ASSERT_TRUE(t->Push(dir.File("src"), dir.File("dst"),
                      [&](const TransferProgress& p) { seen.push_back(p); })
                  .ok());
  EXPECT_EQ(ReadFile(dir.File("dst")), bytes);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().done_bytes, bytes.size());
  EXPECT_EQ(seen.back().total_bytes, bytes.size());
  ASSERT_TRUE(t->Pull(dir.File("dst"), dir.File("back")).ok());
  EXPECT_EQ(ReadFile(dir.File("back")), bytes);

  const Status missing = t->Push(dir.File("nope"), dir.File("x"));
  EXPECT_FALSE(missing.ok());
  EXPECT_THAT(missing.message(), HasSubstr(dir.File("nope")));
  EXPECT_THAT(missing.message(), HasSubstr("local"));
}

}  // namespace
}  // namespace edgebench::harness
