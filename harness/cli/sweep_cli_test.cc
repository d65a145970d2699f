// `edgebench sweep` and `edgebench run` as a user runs them: a sweep over
// this machine, a board behind a private sshd and the fake adb phone with
// every repetition in the store; the harness SIGKILLed mid-sweep and
// resumed with nothing duplicated or missing; a board that dies mid-run
// (its configurations failed with the cause, the other device finishes);
// Ctrl-C; malformed sweep files that start nothing.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "store/internal/sqlite.h"
#include "store/store.h"
#include "tests/adbd/adbd_testing.h"
#include "tests/sshd/sshd_fixture.h"
#include "tests/testing/testing.h"

namespace edgebench {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;
using testing::ProgramResult;
using testing::TempDir;
using testing::WriteFile;

// A child `edgebench` that the test can signal.
class Child {
 public:
  explicit Child(const std::vector<std::string>& args, const std::string& log) {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      std::FILE* f = std::freopen(log.c_str(), "w", stderr);
      (void)f;
      if (!std::freopen("/dev/null", "w", stdout)) ::_exit(127);
      std::vector<char*> argv;
      for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~Child() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      Wait();
    }
  }
  void Signal(int sig) { ::kill(pid_, sig); }
  int Wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    reaped_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
};

int64_t Query(const std::string& db, const std::string& sql) {
  auto st = store::Store::Open(db, {.create_if_missing = false, .migrate = false});
  if (!st.ok()) return -1;
  auto n = (*st)->db().QueryInt(sql);
  return n.ok() ? *n : -1;
}

bool WaitFor(const std::function<bool()>& cond, int timeout_ms) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

class SweepCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("XDG_CONFIG_HOME", dir_.File("config").c_str(), 1);
    model_ = dir_.File("tiny-q8_0.gguf");
    ASSERT_EQ(Edgebench({"model", "synth", "--preset", "tiny", "--type", "q8_0", "-o", model_})
                  .exit_code,
              0);
    model2_ = dir_.File("tiny-q4_0.gguf");
    ASSERT_EQ(Edgebench({"model", "synth", "--preset", "tiny", "--type", "q4_0", "-o",
                         model2_})
                  .exit_code,
              0);
    db_ = dir_.File("results/eb.db");
    // adb (when installed) only ever talks to a private server this test
    // stops: resolving an unknown device name asks adb.
    auto server = testing::StartAdbServerForChildren();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    adb_server_ = std::move(*server);
  }
  void TearDown() override {
    adb_server_.reset();
    adbd_.reset();
    sshd_.reset();
    ::unsetenv("XDG_CONFIG_HOME");
    ::unsetenv("ANDROID_ADB_SERVER_PORT");
  }

  std::string Bin() { return testing::BinDir() + "/edgebench"; }
  ProgramResult Edgebench(std::vector<std::string> args) {
    args.insert(args.begin(), Bin());
    return testing::RunProgram(args);
  }

  // Devices the test brings up, written to devices.json beside the sweep.
  json LocalDevice() {
    return {{"name", "host"}, {"transport", "local"}, {"work_dir", dir_.File("dev-local")}};
  }
  bool StartSsh(json* device) {
    if (Status s = testing::Sshd::Available(); !s.ok()) return false;
    auto sshd = testing::Sshd::Start();
    EXPECT_TRUE(sshd.ok()) << sshd.status().ToString();
    if (!sshd.ok()) return false;
    sshd_ = std::move(*sshd);
    *device = {{"name", "board"},
               {"transport", "ssh"},
               {"host", sshd_->host_alias()},
               {"ssh_options", sshd_->ClientArgs()},
               {"work_dir", sshd_->user_dir() + "/edgebench"}};
    return true;
  }
  bool StartAdb(json* device) {
    if (!adb_server_) return false;
    auto dev = testing::FakeAdbDevice::Start({"--model", "Fake Pixel"});
    EXPECT_TRUE(dev.ok()) << dev.status().ToString();
    if (!dev.ok()) return false;
    adbd_ = std::move(*dev);
    *device = {{"name", "phone"},
               {"transport", "adb"},
               {"serial", adbd_->serial()},
               {"work_dir", dir_.File("dev-phone")}};
    return true;
  }

  std::string WriteSweep(const std::vector<json>& devices, json sweep) {
    json names = json::array();
    for (const json& d : devices) names.push_back(d["name"]);
    WriteFile(dir_.File("devices.json"), json{{"devices", devices}}.dump(2));
    sweep["devices"] = names;
    const std::string path = dir_.File("sweep.json");
    WriteFile(path, "// written by the test\n" + sweep.dump(2));
    return path;
  }

  // Every configuration of the sweep has exactly repetitions 0..n-1 stored.
  void ExpectComplete(int64_t runs, int per_run) {
    EXPECT_EQ(Query(db_, "SELECT count(*) FROM runs"), runs);
    EXPECT_EQ(Query(db_, "SELECT count(*) FROM runs WHERE status = 'ok'"), runs);
    EXPECT_EQ(Query(db_, "SELECT count(*) FROM reps"), runs * per_run);
    // No gaps, no duplicates: per run, n rows whose indexes are 0..n-1.
    EXPECT_EQ(Query(db_, "SELECT count(*) FROM (SELECT run_id, count(*) AS n, "
                         "count(DISTINCT idx) AS d, min(idx) AS lo, max(idx) AS hi "
                         "FROM reps GROUP BY run_id) WHERE n = " + std::to_string(per_run) +
                         " AND d = n AND lo = 0 AND hi = n - 1"),
              runs);
  }

  TempDir dir_;
  std::string model_, model2_, db_;
  std::unique_ptr<testing::Sshd> sshd_;
  std::unique_ptr<testing::FakeAdbDevice> adbd_;
  std::unique_ptr<testing::PrivateAdbServer> adb_server_;
};

TEST_F(SweepCli, OneSweepOverLocalSshAndAdbStoresEveryRepetition) {
  std::vector<json> devices = {LocalDevice()};
  json d;
  if (StartSsh(&d)) devices.push_back(d);
  if (StartAdb(&d)) devices.push_back(d);
  if (devices.size() < 3) GTEST_SKIP() << "needs sshd and adb (scripts/setup.sh installs them)";
  const std::string sweep = WriteSweep(
      devices, {{"name", "three"},
                {"models", {model_}},
                {"axes", {{"threads", {1, 2}}, {"n_prompt", {16}}, {"n_gen", {8}}}},
                {"repetitions", 2},
                {"warmup", 1},
                {"telemetry", {{"period_ms", 10}}},
                {"labels", {{"purpose", "test"}}}});
  ProgramResult r = Edgebench({"sweep", sweep, "--db", db_, "--progress", "plain"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectComplete(6, 3);
  EXPECT_EQ(Query(db_, "SELECT count(*) FROM devices"), 3);
  EXPECT_EQ(Query(db_, "SELECT count(*) FROM sweeps WHERE status = 'completed'"), 1);
  EXPECT_EQ(Query(db_, "SELECT count(*) FROM reps WHERE warmup = 1"), 6);
  EXPECT_GT(Query(db_, "SELECT count(*) FROM samples"), 0);
  // Every run has its environment: build, model hash, probe, runtime build.
  EXPECT_EQ(Query(db_, "SELECT count(*) FROM runs WHERE build_id IS NOT NULL AND "
                       "model_id IS NOT NULL AND json_extract(env_json, '$.model.sha256') "
                       "= (SELECT sha256 FROM models) AND json_extract(env_json, "
                       "'$.runtime.compiler') != '' AND json_extract(env_json, "
                       "'$.probe.os') = 'linux' AND json_extract(env_json, '$.host') != ''"),
            6);
  EXPECT_EQ(Query(db_, "SELECT count(*) FROM models WHERE quant = 'Q8_0' AND params > 0"), 1);
  EXPECT_EQ(Query(db_, "SELECT count(*) FROM runs WHERE load_ms > 0"), 6);
  // The table names every device and both tests.
  EXPECT_THAT(r.out, HasSubstr("| board "));
  EXPECT_THAT(r.out, HasSubstr("| phone "));
  EXPECT_THAT(r.out, HasSubstr("| host "));
  EXPECT_THAT(r.out, HasSubstr("pp16"));
  EXPECT_THAT(r.out, HasSubstr("tg8"));
  EXPECT_THAT(r.out, HasSubstr("completed; 6 ok, 0 failed"));
  // Plain progress: timestamped lines, no terminal control.
  EXPECT_THAT(r.err, HasSubstr("phone: done: 2/2 configurations"));
  EXPECT_EQ(r.err.find('\033'), std::string::npos);
}

TEST_F(SweepCli, SigkillMidSweepThenResumeLeavesNoDuplicateOrMissingRepetition) {
  const std::string sweep = WriteSweep(
      {LocalDevice()}, {{"models", {model_, model2_}},
                        {"axes", {{"threads", {1, 2}}, {"n_prompt", {64}}, {"n_gen", {48}}}},
                        {"repetitions", 25},
                        {"warmup", 1}});
  {
    Child c({Bin(), "sweep", sweep, "--db", db_, "--progress", "plain"}, dir_.File("log1"));
    // Killed once the first configuration is done and the second started.
    ASSERT_TRUE(WaitFor([&] { return Query(db_, "SELECT count(*) FROM reps") >= 32; }, 60000))
        << testing::ReadFile(dir_.File("log1"));
    c.Signal(SIGKILL);
    EXPECT_EQ(c.Wait(), 128 + SIGKILL);
  }
  const int64_t before = Query(db_, "SELECT count(*) FROM reps");
  ASSERT_LT(before, 4 * 26) << "the sweep finished before it was killed";
  EXPECT_EQ(Query(db_, "SELECT count(*) FROM sweeps WHERE status = 'running'"), 1);
  // The runtime it left saw its pipe close and stopped.
  ProgramResult r = Edgebench({"sweep", "--resume", "last", "--db", db_, "--progress", "plain"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("resuming sweep"));
  EXPECT_THAT(r.out, HasSubstr("already done"));
  ExpectComplete(4, 26);
  EXPECT_EQ(Query(db_, "SELECT count(*) FROM sweeps"), 1);
  EXPECT_EQ(Query(db_, "SELECT count(*) FROM sweeps WHERE status = 'completed'"), 1);
  // Resuming a finished sweep runs nothing.
  r = Edgebench({"sweep", "--resume", "last", "--db", db_, "--progress", "none"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("0 repetitions stored"));
  ExpectComplete(4, 26);
}

TEST_F(SweepCli, ABoardThatDiesMidRunFailsItsRunsAndTheOtherDeviceFinishes) {
  json board;
  if (!StartSsh(&board)) GTEST_SKIP() << "needs sshd";
  const std::string sweep = WriteSweep(
      {LocalDevice(), board},
      {{"models", {model_}},
       {"axes", {{"threads", {1, 2}}, {"n_prompt", {64}}, {"n_gen", {64}}}},
       {"repetitions", 40},
       {"warmup", 1}});
  Child c({Bin(), "sweep", sweep, "--db", db_, "--progress", "plain", "--retries", "2"},
          dir_.File("log"));
  const std::string board_reps =
      "SELECT count(*) FROM reps p JOIN runs r ON r.id = p.run_id JOIN devices d ON "
      "d.id = r.device_id WHERE d.key = 'ssh:board'";
  ASSERT_TRUE(WaitFor([&] { return Query(db_, board_reps) >= 3; }, 60000))
      << testing::ReadFile(dir_.File("log")) << sshd_->Log();
  sshd_->Kill();  // the board loses power
  const int rc = c.Wait();
  const std::string log = testing::ReadFile(dir_.File("log"));
  EXPECT_EQ(rc, 1) << log;
  // The board's configurations: failed, with the cause.
  EXPECT_EQ(Query(db_, "SELECT count(*) FROM runs r JOIN devices d ON d.id = r.device_id "
                       "WHERE d.key = 'ssh:board' AND r.status = 'failed' AND "
                       "r.error_code = 'unavailable' AND r.error_message LIKE 'device lost:%'"),
            2)
      << log;
  EXPECT_EQ(Query(db_, "SELECT count(*) FROM errors WHERE context LIKE 'ssh:board%'"), 2);
  // What the board finished before is kept; the local device finished.
  EXPECT_GE(Query(db_, board_reps), 3);
  EXPECT_EQ(Query(db_, "SELECT count(*) FROM runs r JOIN devices d ON d.id = r.device_id "
                       "WHERE d.key = 'local:host' AND r.status = 'ok'"),
            2);
  EXPECT_EQ(Query(db_, "SELECT count(*) FROM reps p JOIN runs r ON r.id = p.run_id JOIN "
                       "devices d ON d.id = r.device_id WHERE d.key = 'local:host'"),
            2 * 41);
  EXPECT_THAT(log, HasSubstr("device lost"));
}

TEST_F(SweepCli, ABoardThatRebootsIsRetriedAndTheSweepCompletes) {
  json board;
  if (!StartSsh(&board)) GTEST_SKIP() << "needs sshd";
  const std::string sweep = WriteSweep(
      {board}, {{"models", {model_}},
                {"axes", {{"threads", {1, 2}}, {"n_prompt", {64}}, {"n_gen", {64}}}},
                {"repetitions", 30},
                {"warmup", 1}});
  Child c({Bin(), "sweep", sweep, "--db", db_, "--progress", "plain"}, dir_.File("log"));
  ASSERT_TRUE(WaitFor([&] { return Query(db_, "SELECT count(*) FROM reps") >= 3; }, 60000))
      << testing::ReadFile(dir_.File("log"));
  sshd_->Kill();  // power cut...
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_TRUE(sshd_->Restart().ok());  // ...and back
  const int rc = c.Wait();
  const std::string log = testing::ReadFile(dir_.File("log"));
  ASSERT_EQ(rc, 0) << log;
  EXPECT_THAT(log, HasSubstr("retrying in"));
  ExpectComplete(2, 31);
}

TEST_F(SweepCli, CtrlCStopsCleanlyAndMarksTheSweepInterrupted) {
  const std::string sweep = WriteSweep(
      {LocalDevice()}, {{"models", {model_}},
                        {"axes", {{"threads", {1, 2}}, {"n_prompt", {64}}, {"n_gen", {64}}}},
                        {"repetitions", 30},
                        {"warmup", 1}});
  Child c({Bin(), "sweep", sweep, "--db", db_, "--progress", "plain"}, dir_.File("log"));
  ASSERT_TRUE(WaitFor([&] { return Query(db_, "SELECT count(*) FROM reps") >= 5; }, 60000));
  c.Signal(SIGINT);
  EXPECT_EQ(c.Wait(), 1);
  const std::string log = testing::ReadFile(dir_.File("log"));
  EXPECT_THAT(log, HasSubstr("--resume"));
  EXPECT_EQ(Query(db_, "SELECT count(*) FROM sweeps WHERE status = 'interrupted'"), 1) << log;
  EXPECT_EQ(Query(db_, "SELECT count(*) FROM runs WHERE status = 'interrupted'"), 1) << log;
  // No runtime is left running.
  ProgramResult p = testing::RunProgram({"pgrep", "-f", dir_.File("dev-local")});
  EXPECT_NE(p.exit_code, 0) << p.out;
  // And it resumes to completion.
  ProgramResult r = Edgebench({"sweep", "--resume", "last", "--db", db_, "--progress", "none"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectComplete(2, 31);
}

TEST_F(SweepCli, ShardsOneToThreeTogetherRunExactlyTheUnshardedSweep) {
  const std::vector<std::string> run = {"run", "-d", "local", "-m", model_ + "," + model2_,
                                        "-p", "8,16", "-n", "4", "-t", "1,2", "-r", "1",
                                        "--warmup", "0", "--progress", "none"};
  auto with = [&](std::vector<std::string> extra, const std::string& db) {
    std::vector<std::string> args = run;
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"--db", db});
    return Edgebench(args);
  };
  const std::string whole = dir_.File("whole.db");
  ASSERT_EQ(with({}, whole).exit_code, 0);
  for (const char* shard : {"1/3", "2/3", "3/3"}) {
    ProgramResult r = with({"--shard", shard}, db_);
    ASSERT_EQ(r.exit_code, 0) << shard << r.err;
  }
  EXPECT_EQ(Query(db_, "SELECT count(*) FROM sweeps"), 3);
  EXPECT_EQ(Query(whole, "SELECT count(*) FROM runs"), 8);
  // The same 8 configuration keys, each exactly once across the shards.
  EXPECT_EQ(Query(db_, "SELECT count(*) FROM runs"), 8);
  EXPECT_EQ(Query(db_, "SELECT count(DISTINCT config_key) FROM runs"), 8);
  auto keys = [](const std::string& db) {
    auto st = store::Store::Open(db, {.create_if_missing = false});
    EXPECT_TRUE(st.ok());
    return (*st)->db().QueryText(
        "SELECT group_concat(config_key, '|') FROM (SELECT config_key FROM runs "
        "ORDER BY config_key)").value_or("");
  };
  EXPECT_EQ(keys(db_), keys(whole));
  EXPECT_FALSE(keys(db_).empty());
}

TEST_F(SweepCli, MalformedSweepFilesStartNothing) {
  const struct {
    const char* text;
    const char* error;
  } cases[] = {
      {R"({"devices": ["local"], "models": ["m.gguf"], "axes": {"threads": [1, "four"]}})",
       "/axes/threads/1: expected a positive integer, got \"four\""},
      {R"({"devices": ["local"], "models": []})", "/models"},
      {R"({"devices": ["local"], "models": ["m.gguf"], "repetitons": 3})", "/repetitons"},
      {"{\"devices\": [\"local\"],\n \"models\": [\"m.gguf\"],,}", "sweep.json:2:"},
  };
  for (const auto& c : cases) {
    WriteFile(dir_.File("sweep.json"), c.text);
    ProgramResult r = Edgebench({"sweep", dir_.File("sweep.json"), "--db", db_});
    EXPECT_EQ(r.exit_code, 1) << c.text;
    EXPECT_THAT(r.err, HasSubstr(c.error));
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_TRUE(r.out.empty());
    EXPECT_FALSE(std::filesystem::exists(db_)) << "a sweep started for " << c.text;
  }
  // An unknown device is found before anything starts, too.
  WriteFile(dir_.File("sweep.json"),
            json{{"devices", {"nexus"}}, {"models", {model_}}}.dump());
  ProgramResult r = Edgebench({"sweep", dir_.File("sweep.json"), "--db", db_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("no device \"nexus\""));
  EXPECT_FALSE(std::filesystem::exists(db_));
}

TEST_F(SweepCli, RunPrintsALlamaBenchTableAndDryRunPlans) {
  ProgramResult r = Edgebench({"run", "-d", "local", "-m", model_, "-p", "16,32", "-n", "8",
                               "-t", "1", "-r", "2", "--warmup", "0", "--db", db_,
                               "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("2 configurations"));
  EXPECT_THAT(r.out, HasSubstr("estimated duration"));
  EXPECT_FALSE(std::filesystem::exists(db_));
  r = Edgebench({"run", "-d", "local", "-m", model_, "-p", "16,32", "-n", "8", "-t", "1",
                 "-r", "2", "--warmup", "0", "--db", db_, "--progress", "none"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("| device | model"));
  EXPECT_THAT(r.out, HasSubstr(" pp16 |"));
  EXPECT_THAT(r.out, HasSubstr(" pp32 |"));
  EXPECT_THAT(r.out, HasSubstr(" tg8 |"));
  ExpectComplete(2, 2);
  r = Edgebench({"run", "-d", "local", "-m", model_, "-t", "1,x", "--db", db_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("-t value 2: expected a positive integer, got \"x\""));
}

TEST_F(SweepCli, ABadModelFailsItsConfigurationsWithTheCause) {
  WriteFile(dir_.File("broken.gguf"), "GGUF but not really");
  ProgramResult r = Edgebench({"run", "-d", "local", "-m", model_ + "," + dir_.File("broken.gguf"),
                               "-p", "16", "-n", "4", "-r", "1", "--db", db_, "--progress",
                               "plain"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.out, HasSubstr("1 ok, 1 failed"));
  EXPECT_THAT(r.err, HasSubstr("broken.gguf"));
  EXPECT_EQ(Query(db_, "SELECT count(*) FROM runs WHERE status = 'failed' AND "
                       "error_message != ''"),
            1);
}

}  // namespace
}  // namespace edgebench
