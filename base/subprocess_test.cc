// The options of RunSubprocess that the device transports rely on: stdin
// from bytes or a file, stdout line by line as it arrives, environment
// entries. (Exit codes, signals, timeouts, cancel, process groups and
// descriptor hygiene are covered through the command backend,
// backends/command/command_runner_test.cc.)
#include "base/subprocess.h"

#include <signal.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/testing.h"

namespace edgebench {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

TEST(Subprocess, StdinDataIsWrittenAndClosed) {
  SubprocessOptions o;
  o.stdin_data = "line one\nline 'two'\n";
  const SubprocessResult r = RunSubprocess({"cat"}, o);
  ASSERT_TRUE(r.spawn_status.ok()) << r.spawn_status.ToString();
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "line one\nline 'two'\n");
}

TEST(Subprocess, EmptyStdinDataIsAnImmediateEndOfFile) {
  SubprocessOptions o;
  o.stdin_data = "";
  const SubprocessResult r = RunSubprocess({"wc", "-c"}, o);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "0\n");
}

TEST(Subprocess, LargeStdinWhileTheChildWritesALotDoesNotDeadlock) {
  // 8 MiB in, 8 MiB out at once: both pipes fill unless they are served
  // together.
  SubprocessOptions o;
  o.stdin_data = std::string(size_t{8} << 20, 'x');
  o.timeout = std::chrono::seconds(60);
  const SubprocessResult r = RunSubprocess({"cat"}, o);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.size(), size_t{8} << 20);
}

TEST(Subprocess, ChildThatIgnoresStdinDoesNotRaiseSigpipeHere) {
  // The child exits without reading: our writes meet a closed pipe. Were
  // SIGPIPE delivered, this test program would die.
  SubprocessOptions o;
  o.stdin_data = std::string(size_t{4} << 20, 'y');
  const SubprocessResult r = RunSubprocess({"sh", "-c", "exit 4"}, o);
  EXPECT_EQ(r.exit_code, 4);
  sigset_t pending;
  sigpending(&pending);
  EXPECT_EQ(sigismember(&pending, SIGPIPE), 0);
}

TEST(Subprocess, StdinFile) {
  TempDir dir;
  std::string bytes;
  for (int i = 0; i < 256 * 64; ++i) bytes.push_back(static_cast<char>(i));
  WriteFile(dir.File("in.bin"), bytes);
  SubprocessOptions o;
  o.stdin_file = dir.File("in.bin");
  const SubprocessResult r =
      RunSubprocess({"sh", "-c", "cat > \"$1\"", "sh", dir.File("out.bin")}, o);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir.File("out.bin")), bytes);
}

TEST(Subprocess, MissingStdinFileIsASpawnErrorNamingIt) {
  SubprocessOptions o;
  o.stdin_file = "/nonexistent/model.gguf";
  const SubprocessResult r = RunSubprocess({"cat"}, o);
  EXPECT_FALSE(r.spawn_status.ok());
  EXPECT_THAT(r.spawn_status.message(), HasSubstr("/nonexistent/model.gguf"));
  EXPECT_EQ(r.pid, -1);
}

TEST(Subprocess, StdoutLinesArriveWhileTheChildRuns) {
  // The child prints a line, then waits until the test has seen it (a file
  // the callback creates): it can end only if lines are delivered live.
  TempDir dir;
  const std::string go = dir.File("go");
  std::vector<std::string> lines;
  SubprocessOptions o;
  o.timeout = std::chrono::seconds(30);
  o.on_stdout_line = [&](std::string_view line) {
    lines.emplace_back(line);
    if (line == "ready") WriteFile(go, "");
  };
  const SubprocessResult r = RunSubprocess(
      {"sh", "-c", "echo ready; while [ ! -e \"$1\" ]; do sleep 0.01; done; printf 'a\\n\\nb'",
       "sh", go},
      o);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0);
  // The unterminated last line is delivered at the end; an empty line is a
  // line.
  EXPECT_THAT(lines, ElementsAre("ready", "a", "", "b"));
  EXPECT_EQ(r.out, "");  // taken by the callback
}

TEST(Subprocess, EnvEntriesReplaceAndAdd) {
  ::setenv("EB_SUBPROCESS_TEST_KEEP", "kept", 1);
  ::setenv("EB_SUBPROCESS_TEST_REPLACE", "old", 1);
  SubprocessOptions o;
  o.env = {"EB_SUBPROCESS_TEST_REPLACE=new", "EB_SUBPROCESS_TEST_ADD=a=b"};
  const SubprocessResult r = RunSubprocess({"env"}, o);
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("EB_SUBPROCESS_TEST_KEEP=kept\n"));
  EXPECT_THAT(r.out, HasSubstr("EB_SUBPROCESS_TEST_REPLACE=new\n"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("EB_SUBPROCESS_TEST_REPLACE=old")));
  EXPECT_THAT(r.out, HasSubstr("EB_SUBPROCESS_TEST_ADD=a=b\n"));
  ::unsetenv("EB_SUBPROCESS_TEST_KEEP");
  ::unsetenv("EB_SUBPROCESS_TEST_REPLACE");
}

TEST(Subprocess, TimeoutWithStdinPending) {
  // A child that never reads stdin and never exits: the timeout still
  // fires, the pending input does not block us.
  SubprocessOptions o;
  o.stdin_data = std::string(size_t{1} << 20, 'z');
  o.timeout = std::chrono::milliseconds(200);
  o.kill_grace = std::chrono::milliseconds(100);
  const SubprocessResult r = RunSubprocess({"sleep", "30"}, o);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGTERM);
}

}  // namespace
}  // namespace edgebench
