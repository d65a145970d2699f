#include "store/store.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include <gtest/gtest.h>

#include "protocol/metrics.h"
#include "store/internal/schema.h"
#include "store/internal/sqlite.h"
#include "tests/testing/testing.h"

namespace edgebench::store {
namespace {

using edgebench::testing::TempDir;
using edgebench::testing::WriteFile;

std::unique_ptr<Store> MustOpen(const std::string& path, OpenOptions o = {}) {
  auto s = Store::Open(path, o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

int64_t Count(Store& s, const std::string& sql) {
  auto n = s.db().QueryInt(sql);
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  return n.value_or(-1);
}

// A sweep with one run on one device: the parent rows every rep needs.
struct Fixture {
  int64_t device = 0, sweep = 0, run = 0;
};

Fixture MakeRun(Store& s, const std::string& device_key = "local") {
  Fixture f;
  DeviceRecord d;
  d.key = device_key;
  d.name = device_key;
  d.transport = "local";
  f.device = s.UpsertDevice(d).value();
  SweepRecord sw;
  sw.name = "test";
  f.sweep = s.CreateSweep(sw).value();
  RunRecord r;
  r.sweep_id = f.sweep;
  r.device_id = f.device;
  r.backend = "native";
  r.config_key = "t=2,p=128,n=32";
  r.n_threads = 2;
  f.run = s.CreateRun(r).value();
  return f;
}

RepRecord MakeRep(int64_t run, int idx, int n_samples = 3) {
  RepRecord rep;
  rep.run_id = run;
  rep.idx = idx;
  rep.t_start_ns = 1000 * idx;
  rep.t_end_ns = 1000 * idx + 900;
  rep.n_prompt = 128;
  rep.n_gen = 4;
  rep.token_times_ns = {10, 20, 30, 40};
  rep.metrics = {{"decode_tps", 30.5 + idx}, {"ttft_ms", 12.0}};
  for (int i = 0; i < n_samples; ++i)
    rep.samples.push_back({1000 * idx + i, "mem", "rss_kb", 1024.0 + i});
  return rep;
}

TEST(Store, CreatesAtLatestVersionInWalMode) {
  TempDir dir;
  auto s = MustOpen(dir.File("sub/dir/eb.db"));  // parent folders are created
  ASSERT_TRUE(s);
  EXPECT_EQ(s->schema_version(), LatestSchemaVersion());
  auto info = s->Info();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->journal_mode, "wal");
  EXPECT_EQ(info->tables.size(), 8u);
  EXPECT_EQ(Count(*s, "PRAGMA foreign_keys"), 1);
  EXPECT_GT(Count(*s, "PRAGMA busy_timeout"), 0);
}

TEST(Store, RowsSurviveReopen) {
  TempDir dir;
  const std::string path = dir.File("eb.db");
  std::string run_uuid;
  {
    auto s = MustOpen(path);
    Fixture f = MakeRun(*s);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(s->AddRep(MakeRep(f.run, i)).ok());
    ASSERT_TRUE(s->FinishRun(f.run, RunStatus::kOk, {{"load_ms", 321.0}}).ok());
    ASSERT_TRUE(s->SetSweepStatus(f.sweep, SweepStatus::kCompleted).ok());
    run_uuid = s->db().QueryText("SELECT uuid FROM runs").value();
  }
  auto s = MustOpen(path);
  EXPECT_EQ(Count(*s, "SELECT count(*) FROM reps"), 3);
  EXPECT_EQ(Count(*s, "SELECT count(*) FROM samples"), 9);
  EXPECT_EQ(s->db().QueryText("SELECT uuid FROM runs").value(), run_uuid);
  EXPECT_EQ(s->db().QueryText("SELECT status FROM sweeps").value(), "completed");
  EXPECT_EQ(Count(*s, "SELECT CAST(load_ms AS INTEGER) FROM runs"), 321);
  EXPECT_EQ(Count(*s, "SELECT CAST(decode_tps * 10 AS INTEGER) FROM reps WHERE idx = 2"),
            325);
  EXPECT_EQ(Count(*s, "SELECT length(token_times_ns) FROM reps WHERE idx = 0"), 32);
}

TEST(Store, RunUuidsAreUniqueV4) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string u = NewUuid();
    ASSERT_EQ(u.size(), 36u);
    EXPECT_EQ(u[14], '4');
    EXPECT_TRUE(u[19] == '8' || u[19] == '9' || u[19] == 'a' || u[19] == 'b') << u;
    EXPECT_TRUE(seen.insert(u).second);
  }
}

TEST(Store, MigratesEmptyFileFromV0) {
  TempDir dir;
  const std::string path = dir.File("empty.db");
  WriteFile(path, "");  // a zero-byte file is an empty v0 SQLite database
  auto s = MustOpen(path, {.migrate = false});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->schema_version(), 0);
  EXPECT_TRUE(s->Info()->tables.empty());  // nothing to count before migrating
  auto before = s->Migrate();
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  EXPECT_EQ(*before, 0);
  EXPECT_EQ(s->schema_version(), LatestSchemaVersion());
  Fixture f = MakeRun(*s);
  EXPECT_TRUE(s->AddRep(MakeRep(f.run, 0)).ok());
}

TEST(Store, MigratesV1FileWrittenByHand) {
  TempDir dir;
  const std::string path = dir.File("v1.db");
  {
    // Write a v1 store the way the first release did: schema v1 only, no
    // metric columns yet, rows inserted with plain SQL.
    auto db = internal::Db::Open(path, true, false);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(internal::MigrateTo(*db, 1).ok());
    ASSERT_TRUE(db->Exec(R"sql(
      INSERT INTO devices (key, name, transport) VALUES ('ssh:pi5', 'pi5', 'ssh');
      INSERT INTO sweeps (uuid, name, status) VALUES ('s-1', 'old', 'completed');
      INSERT INTO runs (uuid, sweep_id, device_id, backend, config_key, status)
        VALUES ('r-1', 1, 1, 'native', 't=4', 'ok');
      INSERT INTO reps (run_id, idx, n_gen) VALUES (1, 0, 128);
      INSERT INTO samples (run_id, rep_id, t_ns, source, name, value)
        VALUES (1, 1, 5, 'thermal', 'zone:cpu', 51.5);
    )sql").ok());
    EXPECT_EQ(db->QueryInt("PRAGMA user_version").value(), 1);
  }
  auto s = MustOpen(path);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->schema_version(), LatestSchemaVersion());
  EXPECT_EQ(s->db().QueryText("SELECT uuid FROM runs").value(), "r-1");
  EXPECT_EQ(Count(*s, "SELECT n_gen FROM reps"), 128);
  // Every metric of protocol/metrics.h is now a column, NULL for old rows.
  for (const auto& f : protocol::MetricFields()) {
    const char* table = f.scope == protocol::Scope::kRun ? "runs" : "reps";
    EXPECT_EQ(Count(*s, std::string("SELECT count(*) FROM ") + table + " WHERE " +
                            std::string(f.name) + " IS NULL"),
              1)
        << f.name;
  }
  // And new rows with metrics go in beside the old ones.
  EXPECT_TRUE(s->AddRep(MakeRep(1, 1)).ok());
  EXPECT_EQ(s->IntegrityCheck().value(), "ok");
}

TEST(Store, RefusesNewerSchema) {
  TempDir dir;
  const std::string path = dir.File("future.db");
  {
    auto db = internal::Db::Open(path, true, false);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->Exec("PRAGMA user_version = 99").ok());
  }
  auto s = Store::Open(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.status().message().find(path), std::string::npos);
  EXPECT_NE(s.status().message().find("v99, newer than this edgebench"), std::string::npos)
      << s.status().message();
}

TEST(Store, DirectoryIsRejectedWithPath) {
  TempDir dir;
  auto s = Store::Open(dir.path());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), dir.path() + ": is a directory, expected a SQLite file");
}

TEST(Store, NonSqliteFileIsRejected) {
  TempDir dir;
  const std::string path = dir.File("notes.txt");
  WriteFile(path, std::string(4096, 'x'));
  auto s = Store::Open(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.status().message(), path + ": not a SQLite database");
  EXPECT_EQ(testing::ReadFile(path), std::string(4096, 'x'));  // left untouched
}

TEST(Store, MissingStoreWithoutCreate) {
  TempDir dir;
  auto s = Store::Open(dir.File("none.db"), {.create_if_missing = false});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kNotFound);
}

// Opens `path` as an unprivileged user (root ignores file modes) in a child
// process and returns the status code and message it got.
std::pair<StatusCode, std::string> OpenAsNobody(const std::string& path) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(99);
    auto s = Store::Open(path);
    std::string msg = s.ok() ? "" : s.status().message();
    if (::write(fds[1], msg.data(), msg.size()) < 0) ::_exit(98);
    ::_exit(static_cast<int>(s.ok() ? StatusCode::kOk : s.status().code()));
  }
  ::close(fds[1]);
  std::string msg;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) msg.append(buf, n);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_NE(WEXITSTATUS(status), 99) << "could not drop privileges";
  return {static_cast<StatusCode>(WEXITSTATUS(status)), msg};
}

TEST(Store, UnwritableFileIsRejected) {
  TempDir dir;
  ::chmod(dir.path().c_str(), 0755);
  const std::string path = dir.File("ro.db");
  { ASSERT_TRUE(MustOpen(path)); }
  ::chmod(path.c_str(), 0444);
  auto [code, msg] = OpenAsNobody(path);
  EXPECT_EQ(code, StatusCode::kPermissionDenied);
  EXPECT_EQ(msg, path + ": cannot write: Permission denied");
}

TEST(Store, UnwritableFolderIsRejected) {
  TempDir dir;
  ::chmod(dir.path().c_str(), 0755);  // readable, writable by owner (root) only
  const std::string path = dir.File("new.db");
  auto [code, msg] = OpenAsNobody(path);
  EXPECT_EQ(code, StatusCode::kPermissionDenied);
  EXPECT_EQ(msg, path + ": folder " + dir.path() + " is not writable: Permission denied");
}

TEST(Store, RejectsUnknownAndMisplacedMetrics) {
  TempDir dir;
  auto s = MustOpen(dir.File("eb.db"));
  Fixture f = MakeRun(*s);
  RepRecord rep = MakeRep(f.run, 0);
  rep.metrics["tokens_per_banana"] = 1;
  auto r = s->AddRep(rep);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unknown metric \"tokens_per_banana\""),
            std::string::npos);
  EXPECT_FALSE(s->FinishRun(f.run, RunStatus::kOk, {{"decode_tps", 1}}).ok());
  EXPECT_EQ(Count(*s, "SELECT count(*) FROM reps"), 0);
}

TEST(Store, ForeignKeysAreEnforced) {
  TempDir dir;
  auto s = MustOpen(dir.File("eb.db"));
  RunRecord r;
  r.sweep_id = 42;
  r.device_id = 42;
  r.backend = "native";
  r.config_key = "x";
  auto id = s->CreateRun(r);
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.status().message().find("FOREIGN KEY"), std::string::npos)
      << id.status().message();
}

TEST(Store, DuplicateRepIndexIsRejectedAtomically) {
  TempDir dir;
  auto s = MustOpen(dir.File("eb.db"));
  Fixture f = MakeRun(*s);
  ASSERT_TRUE(s->AddRep(MakeRep(f.run, 0)).ok());
  EXPECT_FALSE(s->AddRep(MakeRep(f.run, 0, 50)).ok());
  // The failed rep's samples were rolled back with it.
  EXPECT_EQ(Count(*s, "SELECT count(*) FROM samples"), 3);
}

TEST(Store, FindSweepByPrefixOrLast) {
  TempDir dir;
  auto s = MustOpen(dir.File("eb.db"));
  EXPECT_EQ(s->FindSweep("last").status().code(), StatusCode::kNotFound);
  SweepRecord a{.uuid = "aaaaaaaa-1111-4111-8111-111111111111", .name = "a"};
  SweepRecord b{.uuid = "aaaaaaaa-2222-4222-8222-222222222222", .name = "b"};
  ASSERT_TRUE(s->CreateSweep(a).ok());
  const int64_t bid = s->CreateSweep(b).value();
  ASSERT_TRUE(s->SetSweepStatus(bid, SweepStatus::kInterrupted).ok());
  auto last = s->FindSweep("last");
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  EXPECT_EQ(last->record.name, "b");
  EXPECT_EQ(last->status, SweepStatus::kInterrupted);
  EXPECT_EQ(s->FindSweep("aaaaaaaa-1").value().record.name, "a");
  EXPECT_EQ(s->FindSweep(b.uuid).value().id, bid);
  const Status ambiguous = s->FindSweep("aaaaaaaa").status();
  EXPECT_EQ(ambiguous.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(ambiguous.message().find("more than one"), std::string::npos);
  EXPECT_EQ(s->FindSweep("bbbbbbbb").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s->FindSweep("aaa").status().code(), StatusCode::kInvalidArgument);
}

TEST(Store, RunsOfSweepListStoredRepetitions) {
  TempDir dir;
  auto s = MustOpen(dir.File("eb.db"));
  Fixture f = MakeRun(*s, "ssh:pi5");
  for (int idx : {3, 0, 1}) ASSERT_TRUE(s->AddRep(MakeRep(f.run, idx)).ok());
  RunRecord empty{.sweep_id = f.sweep, .device_id = f.device, .backend = "native",
                  .config_key = "other"};
  const int64_t empty_id = s->CreateRun(empty).value();
  ASSERT_TRUE(s->FinishRun(f.run, RunStatus::kFailed, {}, "unavailable", "lost").ok());
  auto runs = s->RunsOfSweep(f.sweep);
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].id, f.run);
  EXPECT_EQ((*runs)[0].device_key, "ssh:pi5");
  EXPECT_EQ((*runs)[0].config_key, "t=2,p=128,n=32");
  EXPECT_EQ((*runs)[0].status, RunStatus::kFailed);
  EXPECT_EQ((*runs)[0].rep_idx, (std::vector<int>{0, 1, 3}));
  EXPECT_EQ((*runs)[1].id, empty_id);
  EXPECT_TRUE((*runs)[1].rep_idx.empty());
  // A resumed run is running again, unfinished.
  ASSERT_TRUE(s->SetRunStatus(f.run, RunStatus::kRunning).ok());
  EXPECT_EQ(s->RunsOfSweep(f.sweep).value()[0].status, RunStatus::kRunning);
  EXPECT_EQ(Count(*s, "SELECT count(*) FROM runs WHERE finished_at IS NULL"), 2);
  EXPECT_EQ(s->SetRunStatus(999, RunStatus::kOk).code(), StatusCode::kNotFound);
}

TEST(Store, UpsertsReturnExistingIds) {
  TempDir dir;
  auto s = MustOpen(dir.File("eb.db"));
  DeviceRecord d{.key = "adb:R5CT", .name = "pixel", .transport = "adb"};
  int64_t a = s->UpsertDevice(d).value();
  d.name = "pixel-8";
  EXPECT_EQ(s->UpsertDevice(d).value(), a);
  EXPECT_EQ(s->db().QueryText("SELECT name FROM devices").value(), "pixel-8");
  BuildRecord b{.version = "0.1", .git_commit = "abc", .build_type = "Release"};
  int64_t b1 = s->UpsertBuild(b).value();
  EXPECT_EQ(s->UpsertBuild(b).value(), b1);
  b.sanitizers = "address";
  EXPECT_NE(s->UpsertBuild(b).value(), b1);
  ModelRecord m{.sha256 = "ab12", .name = "tiny"};
  int64_t m1 = s->UpsertModel(m).value();
  EXPECT_EQ(s->UpsertModel(m).value(), m1);
}

TEST(Store, ThreadsShareOneStore) {
  TempDir dir;
  auto s = MustOpen(dir.File("eb.db"));
  Fixture f = MakeRun(*s);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) ASSERT_TRUE(s->AddRep(MakeRep(f.run, t * 100 + i)).ok());
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(Count(*s, "SELECT count(*) FROM reps"), 100);
}

TEST(Store, TwoProcessesWriteAtOnce) {
  TempDir dir;
  const std::string path = dir.File("eb.db");
  int64_t run = 0;
  {
    auto s = MustOpen(path);
    run = MakeRun(*s).run;
  }
  constexpr int kPerProcess = 150;
  pid_t kids[2];
  for (int p = 0; p < 2; ++p) {
    kids[p] = ::fork();
    if (kids[p] == 0) {
      auto s = Store::Open(path);
      if (!s.ok()) ::_exit(10);
      for (int i = 0; i < kPerProcess; ++i) {
        auto r = (*s)->AddRep(MakeRep(run, p * 1000 + i, 20));
        if (!r.ok()) {
          std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
          ::_exit(11);
        }
      }
      ::_exit(0);
    }
  }
  for (pid_t k : kids) {
    int status = 0;
    ASSERT_EQ(::waitpid(k, &status, 0), k);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  auto s = MustOpen(path);
  EXPECT_EQ(Count(*s, "SELECT count(*) FROM reps"), 2 * kPerProcess);
  EXPECT_EQ(Count(*s, "SELECT count(*) FROM samples"), 2 * kPerProcess * 20);
  EXPECT_EQ(s->IntegrityCheck().value(), "ok");
}

TEST(Store, SigkillMidTransactionKeepsCommittedRows) {
  TempDir dir;
  const std::string path = dir.File("eb.db");
  int64_t run = 0;
  {
    auto s = MustOpen(path);
    run = MakeRun(*s).run;
  }
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t kid = ::fork();
  if (kid == 0) {
    ::close(ready[0]);
    auto s = Store::Open(path);
    if (!s.ok()) ::_exit(10);
    for (int i = 0; i < 10; ++i)
      if (!(*s)->AddRep(MakeRep(run, i)).ok()) ::_exit(11);
    // Open a transaction, write into it, and wait to be killed inside it.
    auto& db = (*s)->db();
    if (!db.Exec("BEGIN IMMEDIATE").ok()) ::_exit(12);
    for (int i = 0; i < 2000; ++i)
      if (!db.Exec("INSERT INTO samples (run_id, t_ns, source, name, value) "
                   "VALUES (1, 0, 'x', 'uncommitted', 1)").ok())
        ::_exit(13);
    if (::write(ready[1], "k", 1) != 1) ::_exit(14);
    ::pause();
    ::_exit(15);
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1) << "writer died before its transaction";
  ::close(ready[0]);
  ASSERT_EQ(::kill(kid, SIGKILL), 0);
  int status = 0;
  ::waitpid(kid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));

  auto s = MustOpen(path);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->IntegrityCheck().value(), "ok");
  EXPECT_EQ(Count(*s, "SELECT count(*) FROM reps"), 10);
  EXPECT_EQ(Count(*s, "SELECT count(*) FROM samples"), 30);
  EXPECT_EQ(Count(*s, "SELECT count(*) FROM samples WHERE name = 'uncommitted'"), 0);
  // The store is writable again: the dead writer's lock is gone.
  EXPECT_TRUE(s->AddRep(MakeRep(run, 10)).ok());
}

TEST(Store, SigkillAtRandomMomentsNeverTearsARepetition) {
  // A writer adds repetitions of 200 samples each; it is killed at several
  // moments. Every repetition found afterwards has all its samples.
  TempDir dir;
  const std::string path = dir.File("eb.db");
  int64_t run = 0;
  {
    auto s = MustOpen(path);
    run = MakeRun(*s).run;
  }
  int next_idx = 0;
  for (int round = 0; round < 5; ++round) {
    pid_t kid = ::fork();
    if (kid == 0) {
      auto s = Store::Open(path);
      if (!s.ok()) ::_exit(10);
      for (int i = next_idx;; ++i) (void)(*s)->AddRep(MakeRep(run, i, 200));
    }
    ::usleep(20000 + 15000 * round);
    ::kill(kid, SIGKILL);
    ::waitpid(kid, nullptr, 0);
    auto s = MustOpen(path);
    ASSERT_TRUE(s);
    ASSERT_EQ(s->IntegrityCheck().value(), "ok");
    EXPECT_EQ(Count(*s, "SELECT count(*) FROM (SELECT r.id FROM reps r LEFT JOIN "
                        "samples x ON x.rep_id = r.id GROUP BY r.id "
                        "HAVING count(x.id) != 200)"),
              0);
    next_idx = static_cast<int>(Count(*s, "SELECT coalesce(max(idx), -1) + 1 FROM reps"));
  }
  EXPECT_GT(next_idx, 0) << "the writer never committed anything";
}

TEST(Store, VacuumAndInfo) {
  TempDir dir;
  auto s = MustOpen(dir.File("eb.db"));
  Fixture f = MakeRun(*s);
  ASSERT_TRUE(s->AddRep(MakeRep(f.run, 0, 5000)).ok());
  ASSERT_TRUE(s->db().Exec("DELETE FROM samples").ok());
  auto freed = s->Vacuum();
  ASSERT_TRUE(freed.ok()) << freed.status().ToString();
  EXPECT_GT(*freed, 0);
  auto info = s->Info();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->wal_bytes, 0);
  EXPECT_FALSE(info->last_sweep_uuid.empty());
}

}  // namespace
}  // namespace edgebench::store
