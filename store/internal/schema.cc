#include "store/internal/schema.h"

#include <set>
#include <string>

#include "protocol/metrics.h"

namespace edgebench::store::internal {

namespace {

// Timestamps are UTC ISO 8601 text with milliseconds.
#define EB_NOW "(strftime('%Y-%m-%dT%H:%M:%fZ','now'))"

// Version 1: the tables of DESIGN.md "Store".
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE devices (
  id            INTEGER PRIMARY KEY,
  key           TEXT NOT NULL UNIQUE,
  name          TEXT NOT NULL,
  transport     TEXT NOT NULL,
  abi           TEXT NOT NULL DEFAULT '',
  soc           TEXT NOT NULL DEFAULT '',
  cpu_model     TEXT NOT NULL DEFAULT '',
  os            TEXT NOT NULL DEFAULT '',
  kernel        TEXT NOT NULL DEFAULT '',
  n_cores       INTEGER NOT NULL DEFAULT 0,
  ram_mb        INTEGER NOT NULL DEFAULT 0,
  probe_json    TEXT NOT NULL DEFAULT '{}',
  first_seen_at TEXT NOT NULL DEFAULT )sql" EB_NOW R"sql(,
  last_seen_at  TEXT NOT NULL DEFAULT )sql" EB_NOW R"sql(
);

CREATE TABLE builds (
  id          INTEGER PRIMARY KEY,
  version     TEXT NOT NULL,
  git_commit  TEXT NOT NULL,
  build_type  TEXT NOT NULL,
  compiler    TEXT NOT NULL,
  flags       TEXT NOT NULL,
  isa         TEXT NOT NULL,
  sanitizers  TEXT NOT NULL DEFAULT '',
  asserts     INTEGER NOT NULL DEFAULT 0,
  created_at  TEXT NOT NULL DEFAULT )sql" EB_NOW R"sql(,
  UNIQUE (version, git_commit, build_type, compiler, flags, isa, sanitizers, asserts)
);

CREATE TABLE models (
  id          INTEGER PRIMARY KEY,
  sha256      TEXT NOT NULL UNIQUE,
  name        TEXT NOT NULL,
  arch        TEXT NOT NULL DEFAULT '',
  params      INTEGER NOT NULL DEFAULT 0,
  quant       TEXT NOT NULL DEFAULT '',
  size_bytes  INTEGER NOT NULL DEFAULT 0,
  meta_json   TEXT NOT NULL DEFAULT '{}',
  created_at  TEXT NOT NULL DEFAULT )sql" EB_NOW R"sql(
);

CREATE TABLE sweeps (
  id                INTEGER PRIMARY KEY,
  uuid              TEXT NOT NULL UNIQUE,
  name              TEXT NOT NULL DEFAULT '',
  labels_json       TEXT NOT NULL DEFAULT '[]',
  spec_json         TEXT NOT NULL DEFAULT '{}',
  host              TEXT NOT NULL DEFAULT '',
  edgebench_version TEXT NOT NULL DEFAULT '',
  git_commit        TEXT NOT NULL DEFAULT '',
  status            TEXT NOT NULL DEFAULT 'running'
                    CHECK (status IN ('running','completed','interrupted','failed')),
  started_at        TEXT NOT NULL DEFAULT )sql" EB_NOW R"sql(,
  finished_at       TEXT
);

CREATE TABLE runs (
  id            INTEGER PRIMARY KEY,
  uuid          TEXT NOT NULL UNIQUE,
  sweep_id      INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
  device_id     INTEGER NOT NULL REFERENCES devices(id),
  build_id      INTEGER REFERENCES builds(id),
  model_id      INTEGER REFERENCES models(id),
  backend       TEXT NOT NULL,
  config_key    TEXT NOT NULL,
  config_json   TEXT NOT NULL DEFAULT '{}',
  n_threads     INTEGER NOT NULL DEFAULT 0,
  n_prompt      INTEGER NOT NULL DEFAULT 0,
  n_gen         INTEGER NOT NULL DEFAULT 0,
  n_depth       INTEGER NOT NULL DEFAULT 0,
  n_batch       INTEGER NOT NULL DEFAULT 0,
  n_ctx         INTEGER NOT NULL DEFAULT 0,
  status        TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending','running','ok','failed','interrupted')),
  error_code    TEXT NOT NULL DEFAULT '',
  error_message TEXT NOT NULL DEFAULT '',
  env_json      TEXT NOT NULL DEFAULT '{}',
  started_at    TEXT NOT NULL DEFAULT )sql" EB_NOW R"sql(,
  finished_at   TEXT
);
CREATE INDEX runs_sweep ON runs(sweep_id);
CREATE INDEX runs_config ON runs(config_key);

CREATE TABLE reps (
  id             INTEGER PRIMARY KEY,
  run_id         INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  idx            INTEGER NOT NULL,
  warmup         INTEGER NOT NULL DEFAULT 0,
  status         TEXT NOT NULL DEFAULT 'ok' CHECK (status IN ('ok','failed')),
  error_code     TEXT NOT NULL DEFAULT '',
  error_message  TEXT NOT NULL DEFAULT '',
  t_start_ns     INTEGER NOT NULL DEFAULT 0,
  t_end_ns       INTEGER NOT NULL DEFAULT 0,
  n_prompt       INTEGER NOT NULL DEFAULT 0,
  n_gen          INTEGER NOT NULL DEFAULT 0,
  token_times_ns BLOB,  -- little-endian int64, one per generated token
  created_at     TEXT NOT NULL DEFAULT )sql" EB_NOW R"sql(,
  UNIQUE (run_id, idx)
);

CREATE TABLE samples (
  id      INTEGER PRIMARY KEY,
  run_id  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  rep_id  INTEGER REFERENCES reps(id) ON DELETE CASCADE,
  t_ns    INTEGER NOT NULL,
  source  TEXT NOT NULL,
  name    TEXT NOT NULL,
  value   REAL NOT NULL
);
CREATE INDEX samples_run_time ON samples(run_id, t_ns);

CREATE TABLE errors (
  id        INTEGER PRIMARY KEY,
  sweep_id  INTEGER REFERENCES sweeps(id) ON DELETE CASCADE,
  run_id    INTEGER REFERENCES runs(id) ON DELETE CASCADE,
  at        TEXT NOT NULL DEFAULT )sql" EB_NOW R"sql(,
  code      TEXT NOT NULL,
  message   TEXT NOT NULL,
  context   TEXT NOT NULL DEFAULT ''
);
)sql";

#undef EB_NOW

struct Migration {
  int version;
  const char* sql;
};

// Append only.
constexpr Migration kMigrations[] = {
    {1, kSchemaV1},
};

Result<std::set<std::string>> ColumnsOf(Db& db, const char* table) {
  ASSIGN_OR_RETURN(Stmt st, db.Prepare(std::string("PRAGMA table_info(") + table + ")"));
  std::set<std::string> cols;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    cols.insert(st.ColumnText(1));
  }
  return cols;
}

}  // namespace

int LatestVersion() { return kMigrations[std::size(kMigrations) - 1].version; }

Status MigrateTo(Db& db, int target) {
  ASSIGN_OR_RETURN(int64_t current, db.QueryInt("PRAGMA user_version"));
  for (const Migration& m : kMigrations) {
    if (m.version <= current || m.version > target) continue;
    // IMMEDIATE: take the write lock first, so two processes opening an old
    // store at once serialise instead of both migrating.
    RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
    ASSIGN_OR_RETURN(int64_t now, db.QueryInt("PRAGMA user_version"));
    if (now >= m.version) {  // another process migrated meanwhile
      RETURN_IF_ERROR(db.Exec("COMMIT"));
      continue;
    }
    Status s = db.Exec(m.sql);
    if (s.ok()) s = db.Exec("PRAGMA user_version = " + std::to_string(m.version));
    if (s.ok()) s = db.Exec("COMMIT");
    if (!s.ok()) {
      db.Exec("ROLLBACK").IgnoreError();
      return s.WithContext("migration to schema v" + std::to_string(m.version));
    }
  }
  return Status::Ok();
}

// The ALTER TABLE statements that add the metric columns `db` lacks.
static Result<std::string> MissingMetricColumnsDdl(Db& db) {
  ASSIGN_OR_RETURN(auto run_cols, ColumnsOf(db, "runs"));
  ASSIGN_OR_RETURN(auto rep_cols, ColumnsOf(db, "reps"));
  std::string ddl;
  for (const protocol::MetricField& f : protocol::MetricFields()) {
    const bool run = f.scope == protocol::Scope::kRun;
    if ((run ? run_cols : rep_cols).count(std::string(f.name))) continue;
    ddl += std::string("ALTER TABLE ") + (run ? "runs" : "reps") + " ADD COLUMN " +
           QuoteIdentifier(f.name) +
           (f.type == protocol::FieldType::kInt ? " INTEGER;\n" : " REAL;\n");
  }
  return ddl;
}

Status EnsureMetricColumns(Db& db) {
  ASSIGN_OR_RETURN(std::string ddl, MissingMetricColumnsDdl(db));
  if (ddl.empty()) return Status::Ok();  // the common case: no lock taken
  RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  // Again under the lock: a concurrent opener may have added them.
  Result<std::string> locked = MissingMetricColumnsDdl(db);
  Status s = locked.status();
  if (s.ok() && !locked->empty()) s = db.Exec(*locked);
  if (s.ok()) s = db.Exec("COMMIT");
  if (!s.ok()) {
    db.Exec("ROLLBACK").IgnoreError();
    return s.WithContext("adding metric columns");
  }
  return Status::Ok();
}

}  // namespace edgebench::store::internal
