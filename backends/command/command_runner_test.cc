// RunCommand and ExpandArgv with small sh scripts as fake engines: they
// print real llama.cpp output (testdata/), fail, crash, hang, leave
// grandchildren behind, flood their pipes, and echo hostile arguments.

#include "backends/command/command_runner.h"

#include <dirent.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/subprocess.h"
#include "tests/testing/testing.h"

namespace edgebench::command {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using Clock = std::chrono::steady_clock;

std::string Fixture(const std::string& name) {
  return std::string(EDGEBENCH_COMMAND_TESTDATA) + "/" + name;
}

// An executable sh script in `dir`.
std::string Script(const testing::TempDir& dir, const std::string& name,
                   const std::string& body) {
  const std::string path = dir.File(name);
  testing::WriteFile(path, "#!/bin/sh\n" + body);
  EXPECT_EQ(::chmod(path.c_str(), 0755), 0);
  return path;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

double SecondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// State and process group of a process from /proc/<pid>/stat; 'Z' for a
// zombie (dead, not yet reaped by whoever adopted it), 0 when gone.
struct ProcState {
  char state = 0;
  pid_t pgrp = 0;
};

ProcState ReadProcState(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(f, stat)) return {};
  // "pid (comm) S ppid pgrp ...": comm may hold spaces and parentheses.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream rest(stat.substr(close + 1));
  ProcState s;
  pid_t ppid = 0;
  rest >> s.state >> ppid >> s.pgrp;
  return s;
}

bool Alive(pid_t pid) {
  const char s = ReadProcState(pid).state;
  return s != 0 && s != 'Z' && s != 'X';
}

// The live (not zombie) processes in process group `pgid`.
std::vector<pid_t> LiveGroupMembers(pid_t pgid) {
  std::vector<pid_t> members;
  DIR* d = ::opendir("/proc");
  if (!d) return members;
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    const ProcState s = ReadProcState(static_cast<pid_t>(pid));
    if (s.pgrp == pgid && s.state != 0 && s.state != 'Z' && s.state != 'X') {
      members.push_back(static_cast<pid_t>(pid));
    }
  }
  ::closedir(d);
  return members;
}

// SIGKILL is delivered when the target next runs, so a process just
// killed may still show as sleeping for a moment.
std::vector<pid_t> LiveGroupMembersAfterAMoment(pid_t pgid) {
  const Clock::time_point t0 = Clock::now();
  std::vector<pid_t> members = LiveGroupMembers(pgid);
  while (!members.empty() && SecondsSince(t0) < 2) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    members = LiveGroupMembers(pgid);
  }
  return members;
}

bool DiesWithinAMoment(pid_t pid) {
  const Clock::time_point t0 = Clock::now();
  while (Alive(pid)) {
    if (SecondsSince(t0) > 2) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Waits up to `seconds` for `path` to exist (a script announcing itself).
bool WaitForFile(const std::string& path, double seconds) {
  const Clock::time_point t0 = Clock::now();
  while (SecondsSince(t0) < seconds) {
    if (Exists(path) && !testing::ReadFile(path).empty()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

pid_t ReadPid(const std::string& path) {
  return static_cast<pid_t>(std::atol(testing::ReadFile(path).c_str()));
}

// ---- ExpandArgv ---------------------------------------------------------------

protocol::RunConfig Config() {
  protocol::RunConfig run;
  run.threads = 4;
  run.n_prompt = 512;
  run.n_gen = 128;
  run.n_depth = 1024;
  run.repetitions = 5;
  run.seed = 18446744073709551615ull;
  return run;
}

TEST(ExpandArgv, EveryPlaceholderWholeAndInsideLongerArguments) {
  const std::vector<std::string> argv = {"llama-bench", "-m",        "{model}",
                                         "-t",          "{threads}", "-p={n_prompt}",
                                         "-n",          "{n_gen}",   "-d",
                                         "{n_depth}",   "-r",        "{repetitions}",
                                         "--seed",      "{seed}",    "{n_prompt},{n_gen}",
                                         "-o",          "jsonl"};
  EXPECT_THAT(ExpandArgv(argv, "/data/local/tmp/m.gguf", Config()),
              ElementsAre("llama-bench", "-m", "/data/local/tmp/m.gguf", "-t", "4",
                          "-p=512", "-n", "128", "-d", "1024", "-r", "5", "--seed",
                          "18446744073709551615", "512,128", "-o", "jsonl"));
}

TEST(ExpandArgv, OtherBracesAreLeftAsTheyAre) {
  EXPECT_THAT(ExpandArgv({"{}", "{model", "{Model}", "{n_prompts}", "{\"a\": {threads}}",
                          "root ::= [a-z]{3}", "{{threads}}"},
                         "m.gguf", Config()),
              ElementsAre("{}", "{model", "{Model}", "{n_prompts}", "{\"a\": 4}",
                          "root ::= [a-z]{3}", "{4}"));
}

TEST(ExpandArgv, SubstitutedValuesAreNotExpandedAgain) {
  EXPECT_THAT(
      ExpandArgv({"{model}", "x{model}{threads}"}, "/m/{threads}/{seed}.gguf", Config()),
      ElementsAre("/m/{threads}/{seed}.gguf", "x/m/{threads}/{seed}.gguf4"));
}

// ---- RunCommand: engines that work ------------------------------------------------

TEST(RunCommand, FakeLlamaBenchPrintsRealOutput) {
  testing::TempDir dir;
  const std::string engine = Script(dir, "llama-bench", "cat \"$1\"\n");
  std::vector<pid_t> started;
  pid_t pgid_at_start = -1;
  RunOptions options;
  options.on_start = [&](pid_t pid) {
    started.push_back(pid);
    pgid_at_start = ::getpgid(pid);
  };
  const ExternalResult r = RunCommand({engine, Fixture("bench_pp64_tg16_r3.stdout")},
                                      "llama-bench-jsonl", options);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.signal, 0);
  ASSERT_EQ(r.reps.size(), 3u);
  EXPECT_DOUBLE_EQ(r.reps[2].prefill_ms, 12.654202);
  EXPECT_DOUBLE_EQ(r.reps[2].decode_ms, 23.778573);
  ASSERT_EQ(started.size(), 1u);
  EXPECT_GT(started[0], 0);
  EXPECT_EQ(pgid_at_start, started[0]) << "the child leads a process group of its own";
}

TEST(RunCommand, FakeLlamaSimplePrintsRealOutput) {
  testing::TempDir dir;
  const std::string engine = Script(dir, "llama-simple", "cat \"$1\"\ncat \"$2\" >&2\n");
  const ExternalResult r =
      RunCommand({engine, Fixture("simple_n16.stdout"), Fixture("simple_n16.stderr")},
                 "llama-perf", {});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ASSERT_EQ(r.reps.size(), 1u);
  EXPECT_DOUBLE_EQ(r.reps[0].load_ms, 83.16);
  EXPECT_DOUBLE_EQ(r.reps[0].decode_ms, 45.16);
  EXPECT_THAT(r.stderr_tail, HasSubstr("llama_perf_context_print:    graphs reused"));
}

TEST(RunCommand, ProgramIsLookedUpInPath) {
  // execvp semantics: no slash, so PATH is searched.
  const ExternalResult r = RunCommand({"sh", "-c", "exit 0"}, "llama-perf", {});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.status.code(), StatusCode::kDataLoss) << r.status.ToString();
  EXPECT_THAT(r.status.message(), HasSubstr("sh: llama-perf: no timing lines"));
}

// ---- RunCommand: engines that fail --------------------------------------------------

TEST(RunCommand, NonZeroExitNamesProgramAndEndOfStderr) {
  testing::TempDir dir;
  const std::string engine =
      Script(dir, "llama-bench", "echo noise >&2\ncat \"$1\" >&2\nexit 1\n");
  const ExternalResult r = RunCommand({engine, Fixture("bench_missing_model.stderr")},
                                      "llama-bench-jsonl", {});
  EXPECT_EQ(r.status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status.message(), engine +
                                    ": exited with code 1; stderr ends:\nnoise\n"
                                    "llama_bench: error: failed to load model "
                                    "'/nonexistent/model.gguf'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.signal, 0);
  EXPECT_EQ(r.stderr_tail,
            "noise\nllama_bench: error: failed to load model '/nonexistent/model.gguf'");
  EXPECT_THAT(r.reps, IsEmpty());
}

TEST(RunCommand, OutputBeforeAFailureIsStillParsed) {
  // A llama-bench that died in its generation test after printing the
  // prompt test.
  testing::TempDir dir;
  const std::string engine = Script(dir, "llama-bench", "head -n 1 \"$1\"\nexit 3\n");
  const ExternalResult r =
      RunCommand({engine, Fixture("bench_pp64_tg16_r3.stdout")}, "llama-bench-jsonl", {});
  EXPECT_EQ(r.status.code(), StatusCode::kUnavailable);
  EXPECT_THAT(r.status.message(), HasSubstr("exited with code 3"));
  ASSERT_EQ(r.reps.size(), 3u);
  EXPECT_DOUBLE_EQ(r.reps[0].prefill_ms, 12.606060);
  EXPECT_TRUE(std::isnan(r.reps[0].decode_ms));
}

TEST(RunCommand, CrashReportsTheSignalByName) {
  testing::TempDir dir;
  const std::string engine =
      Script(dir, "llama-cli", "echo 'ggml: about to fail' >&2\nkill -SEGV $$\n");
  const ExternalResult r = RunCommand({engine}, "llama-perf", {});
  EXPECT_EQ(r.status.code(), StatusCode::kUnavailable);
  EXPECT_THAT(r.status.message(),
              AllOf(HasSubstr(engine + ": killed by signal 11 (SIGSEGV"),
                    HasSubstr("stderr ends:\nggml: about to fail")));
  EXPECT_EQ(r.signal, SIGSEGV);
  EXPECT_EQ(r.exit_code, -1);
}

TEST(RunCommand, UnreadableOutputNamesProgramAndParser) {
  testing::TempDir dir;
  const std::string engine = Script(dir, "llama-bench", "echo '| model | size |'\n");
  const ExternalResult r = RunCommand({engine}, "llama-bench-jsonl", {});
  EXPECT_EQ(r.status.code(), StatusCode::kDataLoss);
  EXPECT_THAT(r.status.message(),
              HasSubstr(engine + ": llama-bench-jsonl: line 1: not JSON"));
}

TEST(RunCommand, MissingProgram) {
  bool started = false;
  RunOptions options;
  options.on_start = [&](pid_t) { started = true; };
  ExternalResult r =
      RunCommand({"edgebench-no-such-engine", "-h"}, "llama-perf", options);
  EXPECT_EQ(r.status.code(), StatusCode::kNotFound);
  EXPECT_THAT(
      r.status.message(),
      AllOf(
          HasSubstr("cannot run \"edgebench-no-such-engine\": No such file or directory"),
          HasSubstr("(searched PATH=")));
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_FALSE(started);

  r = RunCommand({"/nonexistent/llama-bench"}, "llama-perf", {});
  EXPECT_EQ(r.status.code(), StatusCode::kNotFound);
  EXPECT_THAT(r.status.message(),
              AllOf(HasSubstr("cannot run \"/nonexistent/llama-bench\""),
                    Not(HasSubstr("PATH"))));
}

TEST(RunCommand, NotExecutable) {
  testing::TempDir dir;
  const std::string path = dir.File("llama-bench");
  testing::WriteFile(path, "#!/bin/sh\necho hi\n");  // mode 0644
  ExternalResult r = RunCommand({path}, "llama-perf", {});
  EXPECT_EQ(r.status.code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(r.status.message(),
              HasSubstr("cannot run \"" + path + "\": Permission denied"));

  r = RunCommand({dir.path()}, "llama-perf", {});
  EXPECT_EQ(r.status.code(), StatusCode::kPermissionDenied);

  // No "#!": posix_spawnp does not fall back to sh (execvp would).
  const std::string marker = dir.File("ran");
  const std::string no_shebang = dir.File("engine");
  testing::WriteFile(no_shebang, "touch '" + marker + "'\n");
  ASSERT_EQ(::chmod(no_shebang.c_str(), 0755), 0);
  r = RunCommand({no_shebang}, "llama-perf", {});
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status.message(), HasSubstr("Exec format error (not a program"));
  EXPECT_FALSE(Exists(marker));
}

TEST(RunCommand, EmptyCommandOrUnknownParserRunsNothing) {
  testing::TempDir dir;
  const std::string marker = dir.File("ran");
  const std::string engine = Script(dir, "engine", "touch '" + marker + "'\n");
  ExternalResult r = RunCommand({}, "llama-perf", {});
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
  r = RunCommand({""}, "llama-perf", {});
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
  r = RunCommand({engine}, "llama-bench-md", {});
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status.message(), HasSubstr("unknown output parser \"llama-bench-md\""));
  EXPECT_FALSE(Exists(marker));
}

// ---- RunCommand: engines that do not stop -------------------------------------------

TEST(RunCommand, TimeoutKillsTheWholeGroup) {
  testing::TempDir dir;
  // The grandchild `sleep` shares the pipes and the group.
  const std::string engine = Script(
      dir, "llama-bench", "sleep 30 &\necho $! > \"$1\"\necho 'warming up' >&2\nwait\n");
  pid_t pid = -1;
  RunOptions options;
  options.timeout_s = 0.3;
  options.on_start = [&](pid_t p) { pid = p; };
  const Clock::time_point t0 = Clock::now();
  const ExternalResult r =
      RunCommand({engine, dir.File("gc")}, "llama-bench-jsonl", options);
  const double elapsed = SecondsSince(t0);
  EXPECT_EQ(r.status.code(), StatusCode::kDeadlineExceeded);
  EXPECT_THAT(r.status.message(),
              HasSubstr(engine + ": timed out after 0.3 s; killed by signal 15 (SIGTERM)"
                                 "; stderr ends:\nwarming up"));
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_GE(elapsed, 0.3);
  EXPECT_LT(elapsed, 1.9) << "SIGTERM was enough; no wait for the SIGKILL grace";
  ASSERT_GT(pid, 0);
  EXPECT_THAT(LiveGroupMembersAfterAMoment(pid), IsEmpty());
  EXPECT_TRUE(DiesWithinAMoment(ReadPid(dir.File("gc"))));
}

TEST(RunCommand, CancelKillsTheWholeGroup) {
  testing::TempDir dir;
  const std::string ready = dir.File("ready");
  const std::string engine =
      Script(dir, "llama-cli", "sleep 30 &\necho $! > \"$1\"\necho up > \"$2\"\nwait\n");
  std::atomic<bool> cancel{false};
  pid_t pid = -1;
  RunOptions options;
  options.cancel = &cancel;
  options.on_start = [&](pid_t p) { pid = p; };
  std::thread canceller([&] {
    WaitForFile(ready, 10);
    cancel = true;
  });
  const Clock::time_point t0 = Clock::now();
  const ExternalResult r =
      RunCommand({engine, dir.File("gc"), ready}, "llama-perf", options);
  canceller.join();
  EXPECT_EQ(r.status.code(), StatusCode::kCancelled) << r.status.ToString();
  EXPECT_THAT(r.status.message(),
              HasSubstr(engine + ": cancelled; killed by signal 15 (SIGTERM)"));
  EXPECT_LT(SecondsSince(t0), 5.0);
  ASSERT_GT(pid, 0);
  EXPECT_THAT(LiveGroupMembersAfterAMoment(pid), IsEmpty());
  EXPECT_TRUE(DiesWithinAMoment(ReadPid(dir.File("gc"))));
}

TEST(RunCommand, CancelledBeforeItStarts) {
  testing::TempDir dir;
  const std::string engine = Script(dir, "engine", "sleep 30\n");
  std::atomic<bool> cancel{true};
  RunOptions options;
  options.cancel = &cancel;
  const Clock::time_point t0 = Clock::now();
  const ExternalResult r = RunCommand({engine}, "llama-perf", options);
  EXPECT_EQ(r.status.code(), StatusCode::kCancelled);
  EXPECT_LT(SecondsSince(t0), 1.5);
}

TEST(CommandSubprocess, ChildIgnoringSigtermGetsSigkillAfterTheGrace) {
  testing::TempDir dir;
  // `trap '' TERM` makes the shell and what it starts ignore SIGTERM.
  const std::string engine = Script(
      dir, "stubborn",
      "trap '' TERM\nsleep 30 &\necho $! > \"$1\"\nwhile :; do sleep 0.05; done\n");
  SubprocessOptions options;
  options.timeout = std::chrono::milliseconds(200);
  options.kill_grace = std::chrono::milliseconds(200);
  const Clock::time_point t0 = Clock::now();
  const SubprocessResult r =
      RunSubprocess({engine, dir.File("gc")}, options);
  const double elapsed = SecondsSince(t0);
  ASSERT_TRUE(r.spawn_status.ok()) << r.spawn_status.ToString();
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_GE(elapsed, 0.4);
  EXPECT_LT(elapsed, 1.9);
  EXPECT_THAT(LiveGroupMembersAfterAMoment(r.pid), IsEmpty());
  EXPECT_TRUE(DiesWithinAMoment(ReadPid(dir.File("gc"))));
}

TEST(RunCommand, GrandchildHoldingThePipesDoesNotKeepItWaiting) {
  testing::TempDir dir;
  // The engine exits at once, leaving `sleep` with its stdout and stderr.
  const std::string engine = Script(
      dir, "llama-simple", "sleep 30 &\necho $! > \"$1\"\ncat \"$2\" >&2\nexit 0\n");
  const Clock::time_point t0 = Clock::now();
  const ExternalResult r = RunCommand(
      {engine, dir.File("gc"), Fixture("simple_n16.stderr")}, "llama-perf", {});
  EXPECT_LT(SecondsSince(t0), 1.5);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_DOUBLE_EQ(r.reps[0].prefill_ms, 11.95);
  EXPECT_TRUE(DiesWithinAMoment(ReadPid(dir.File("gc"))))
      << "what the engine left running is killed";
}

TEST(RunCommand, EscapedGrandchildHoldingThePipesIsWaitedForBriefly) {
  testing::TempDir dir;
  // setsid puts the grandchild out of the group's reach: reading stops
  // shortly after the engine exits instead of when the grandchild does.
  const std::string engine =
      Script(dir, "llama-simple",
             "setsid sleep 30 &\necho $! > \"$1\"\ncat \"$2\" >&2\nexit 0\n");
  const Clock::time_point t0 = Clock::now();
  const ExternalResult r = RunCommand(
      {engine, dir.File("gc"), Fixture("simple_n16.stderr")}, "llama-perf", {});
  const double elapsed = SecondsSince(t0);
  const pid_t gc = ReadPid(dir.File("gc"));
  if (gc > 0) ::kill(gc, SIGKILL);  // ours to clean up: it escaped on purpose
  EXPECT_LT(elapsed, 2.0);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_DOUBLE_EQ(r.reps[0].decode_ms, 45.16);
}

// ---- RunCommand: output -------------------------------------------------------------

TEST(RunCommand, MegabytesOnBothPipesDoNotBlock) {
  testing::TempDir dir;
  // 8 MB on stderr around the real output, 4 MB on stdout at the same time
  // as 4 MB on stderr: a reader of one pipe at a time would deadlock.
  const std::string engine = Script(dir, "llama-simple",
                                    "head -c 4000000 /dev/zero | tr '\\0' x >&2\n"
                                    "(head -c 4000000 /dev/zero | tr '\\0' y) &\n"
                                    "head -c 4000000 /dev/zero | tr '\\0' z >&2\n"
                                    "wait\n"
                                    "echo\ncat \"$1\" >&2\n");
  const ExternalResult r =
      RunCommand({engine, Fixture("simple_n16.stderr")}, "llama-perf", {});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_DOUBLE_EQ(r.reps[0].load_ms, 83.16);
  EXPECT_LE(r.stderr_tail.size(), 4096u);
}

TEST(RunCommand, StdoutBeyondTheCaptureLimitIsAnErrorForLlamaBench) {
  testing::TempDir dir;
  // 17 MiB of lines before the real output: the start is dropped, and with
  // it possibly tests, which must not pass silently.
  const std::string engine =
      Script(dir, "llama-bench", "yes '' | head -c 17825792\ncat \"$1\"\n");
  const ExternalResult r =
      RunCommand({engine, Fixture("bench_pp64_tg16_r3.stdout")}, "llama-bench-jsonl", {});
  EXPECT_EQ(r.status.code(), StatusCode::kDataLoss);
  EXPECT_THAT(r.status.message(), HasSubstr("printed more than 16 MiB on stdout"));
  EXPECT_EQ(r.reps.size(), 3u);
}

// ---- RunCommand: what the child gets --------------------------------------------------

TEST(RunCommand, ArgumentsReachTheChildByteForByteAndRunNothing) {
  testing::TempDir dir;
  const std::string marker = dir.File("MARK");
  const std::string out = dir.File("args");
  const std::vector<std::string> hostile = {
      "",
      " ",
      "two words",
      "'single' \"double\" `back`",
      "; touch " + marker,
      "$(touch " + marker + ")",
      "`touch " + marker + "`",
      "&& touch " + marker + " ||",
      "| touch " + marker,
      "> " + marker,
      "*",
      "$HOME ${PATH} $$ $1",
      "line\nbreak\ttab\\backslash",
      "-p={n_prompt}",
      "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
  };
  // printf '%s\0' writes each argument as it arrived, NUL-terminated.
  const std::string engine = Script(dir, "fake engine with spaces",
                                    "out=$1\nshift\nprintf '%s\\0' \"$@\" > \"$out\"\n");
  std::vector<std::string> argv = {engine, out};
  argv.insert(argv.end(), hostile.begin(), hostile.end());
  const ExternalResult r = RunCommand(argv, "llama-perf", {});
  EXPECT_EQ(r.exit_code, 0) << r.status.ToString();
  std::string expected;
  for (const std::string& a : hostile) expected += a + '\0';
  EXPECT_EQ(testing::ReadFile(out), expected);
  EXPECT_FALSE(Exists(marker)) << "an argument ran a command";
}

TEST(RunCommand, StdinIsDevNull) {
  testing::TempDir dir;
  const std::string engine =
      Script(dir, "engine",
             "if read line; then echo \"read: $line\" >&2; exit 3; fi\n"
             "readlink /proc/$$/fd/0 > \"$1\"\n");
  const ExternalResult r = RunCommand({engine, dir.File("stdin")}, "llama-perf", {});
  EXPECT_EQ(r.exit_code, 0) << r.status.ToString();
  EXPECT_EQ(testing::ReadFile(dir.File("stdin")), "/dev/null\n");
}

TEST(CommandSubprocess, OnlyTheStandardDescriptorsAreInherited) {
  testing::TempDir dir;
  // A descriptor someone else in the process opened without O_CLOEXEC.
  const std::string leak = dir.File("leak-marker");
  testing::WriteFile(leak, "");
  const int leaked = ::open(leak.c_str(), O_RDONLY);
  ASSERT_GE(leaked, 0);
  // ls, not sh: a shell keeps descriptors of its own.
  const SubprocessResult r =
      RunSubprocess({"ls", "-l", "/proc/self/fd"}, {});
  ::close(leaked);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // "lr-x------ 1 root root 64 ... 0 -> /dev/null": fd and target.
  std::map<int, std::string> fds;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    const size_t arrow = line.find(" -> ");
    if (arrow == std::string::npos) continue;
    const size_t space = line.rfind(' ', arrow - 1);
    fds[std::atoi(line.c_str() + space + 1)] = line.substr(arrow + 4);
  }
  EXPECT_EQ(fds[0], "/dev/null");
  EXPECT_THAT(fds[1], ::testing::StartsWith("pipe:"));
  EXPECT_THAT(fds[2], ::testing::StartsWith("pipe:"));
  EXPECT_NE(fds[1], fds[2]);
  // Beyond 0-2 only the directory ls is reading.
  for (const auto& [fd, target] : fds) {
    if (fd <= 2) continue;
    EXPECT_THAT(target, ::testing::StartsWith("/proc/"))
        << "fd " << fd << " was inherited";
  }
  EXPECT_LE(fds.size(), 4u) << r.out;
}

TEST(CommandSubprocess, SignalDispositionsAndMaskAreNotInherited) {
  // A runtime that ignores SIGPIPE and blocks SIGTERM in this thread: the
  // engine must still die of both as usual.
  struct sigaction ignore = {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction old_pipe = {};
  ASSERT_EQ(::sigaction(SIGPIPE, &ignore, &old_pipe), 0);
  sigset_t block, old_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &block, &old_mask), 0);
  // grep reads its own status: not a shell, which blocks signals of its own
  // around every fork and wait.
  const SubprocessResult r =
      RunSubprocess({"grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"}, {});
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::sigaction(SIGPIPE, &old_pipe, nullptr);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
}

// ---- helpers ------------------------------------------------------------------------

TEST(CommandSubprocess, TailBufferKeepsWholeLinesFromTheEnd) {
  TailBuffer small(10);
  small.Append("abc\n", 4);
  EXPECT_EQ(small.Take(), "abc\n");
  EXPECT_EQ(small.dropped(), 0u);

  TailBuffer b(10);
  for (int i = 0; i < 100; ++i) b.Append("line\n", 5);
  const std::string kept = b.Take();
  EXPECT_EQ(kept, "line\nline\n");
  EXPECT_EQ(b.dropped(), 490u);

  TailBuffer c(8);
  c.Append("0123456789abcdef\nxyz", 20);
  EXPECT_EQ(c.Take(), "xyz");
  EXPECT_EQ(c.dropped(), 17u);
}

TEST(CommandSubprocess, LastLines) {
  EXPECT_EQ(LastLines("", 3, 100), "");
  EXPECT_EQ(LastLines("a\nb\nc\nd\n\n", 3, 100), "b\nc\nd");
  EXPECT_EQ(LastLines("a\nb", 3, 100), "a\nb");
  EXPECT_EQ(LastLines("\nb", 3, 100), "b");
  EXPECT_EQ(LastLines("a\nb\nc\n", 1, 100), "c");
  EXPECT_EQ(LastLines("abcdefgh", 3, 4), "efgh");
}

TEST(CommandSubprocess, SignalNames) {
  EXPECT_EQ(SignalName(SIGSEGV), "SIGSEGV");
  EXPECT_EQ(SignalName(SIGKILL), "SIGKILL");
  EXPECT_EQ(SignalName(SIGBUS), "SIGBUS");
  EXPECT_EQ(SignalName(0), "signal 0");
}

}  // namespace
}  // namespace edgebench::command
