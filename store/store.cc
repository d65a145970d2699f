#include "store/store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>

#include "protocol/metrics.h"
#include "store/internal/schema.h"
#include "store/internal/sqlite.h"

namespace edgebench::store {

using internal::Db;
using internal::Stmt;
namespace fs = std::filesystem;

int LatestSchemaVersion() { return internal::LatestVersion(); }

std::string_view SweepStatusName(SweepStatus s) {
  switch (s) {
    case SweepStatus::kRunning: return "running";
    case SweepStatus::kCompleted: return "completed";
    case SweepStatus::kInterrupted: return "interrupted";
    case SweepStatus::kFailed: return "failed";
  }
  return "failed";
}

std::string_view RunStatusName(RunStatus s) {
  switch (s) {
    case RunStatus::kPending: return "pending";
    case RunStatus::kRunning: return "running";
    case RunStatus::kOk: return "ok";
    case RunStatus::kFailed: return "failed";
    case RunStatus::kInterrupted: return "interrupted";
  }
  return "failed";
}

std::string NewUuid() {
  static thread_local std::random_device rd;  // /dev/urandom on Linux
  unsigned char b[16];
  for (int i = 0; i < 16; i += 4) {
    uint32_t r = rd();
    std::memcpy(b + i, &r, 4);
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += hex[b[i] >> 4];
    out += hex[b[i] & 15];
  }
  return out;
}

namespace {

// Checks what SQLite would only report vaguely ("unable to open database
// file"): a directory, a missing or unwritable folder, an unwritable file.
Status CheckPath(const std::string& path, const OpenOptions& options) {
  if (path.empty()) return InvalidArgumentError("store path is empty");
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode))
      return InvalidArgumentError(path + ": is a directory, expected a SQLite file");
    if (!S_ISREG(st.st_mode))
      return InvalidArgumentError(path + ": not a regular file, expected a SQLite file");
    if (::access(path.c_str(), R_OK) != 0)
      return ErrnoToStatus(errno, path + ": cannot read");
    if (!options.read_only && ::access(path.c_str(), W_OK) != 0)
      return ErrnoToStatus(errno, path + ": cannot write");
  } else if (errno != ENOENT) {
    return ErrnoToStatus(errno, path);
  } else if (!options.create_if_missing || options.read_only) {
    return NotFoundError(path + ": no such store (run `edgebench db init`)");
  }
  fs::path parent = fs::path(path).parent_path();
  if (parent.empty()) parent = ".";
  if (!options.read_only) {
    std::error_code ec;
    if (!fs::exists(parent, ec)) {
      fs::create_directories(parent, ec);
      if (ec)
        return ErrnoToStatus(ec.value(),
                             path + ": cannot create folder " + parent.string());
    }
    // WAL keeps -wal and -shm files beside the store.
    if (::access(parent.c_str(), W_OK | X_OK) != 0)
      return ErrnoToStatus(errno, path + ": folder " + parent.string() +
                                      " is not writable");
  }
  return Status::Ok();
}

int64_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

// Validates metric names against protocol/metrics.h for `scope`.
Status CheckMetrics(const std::map<std::string, double>& metrics,
                    protocol::Scope scope, const std::string& path) {
  for (const auto& [name, value] : metrics) {
    const protocol::MetricField* f = protocol::FindMetricField(name);
    if (!f)
      return InvalidArgumentError(path + ": unknown metric \"" + name + "\"");
    if (f->scope != scope)
      return InvalidArgumentError(path + ": metric \"" + name + "\" is " +
                                  (f->scope == protocol::Scope::kRun ? "per run"
                                                                     : "per repetition") +
                                  ", stored in the wrong place");
  }
  return Status::Ok();
}

}  // namespace

Store::Store() = default;
Store::~Store() = default;

const std::string& Store::path() const { return db_->path(); }
int Store::schema_version() const { return schema_version_; }
internal::Db& Store::db() { return *db_; }

Result<std::unique_ptr<Store>> Store::Open(const std::string& path,
                                           const OpenOptions& options) {
  RETURN_IF_ERROR(CheckPath(path, options));
  ASSIGN_OR_RETURN(Db db, Db::Open(path, options.create_if_missing, options.read_only));
  std::unique_ptr<Store> store(new Store());
  store->db_ = std::make_unique<Db>(std::move(db));
  RETURN_IF_ERROR(store->Configure(options));
  return store;
}

Status Store::Configure(const OpenOptions& options) {
  Db& db = *db_;
  sqlite3_busy_timeout(db.get(), options.busy_timeout_ms);
  // The first read of the file: this is where "not a database" shows up.
  Result<int64_t> version = db.QueryInt("PRAGMA user_version");
  if (!version.ok()) {
    if (version.status().code() == StatusCode::kDataLoss)
      return DataLossError(db.path() + ": not a SQLite database");
    return version.status();
  }
  schema_version_ = static_cast<int>(*version);
  const int latest = internal::LatestVersion();
  if (schema_version_ > latest)
    return FailedPreconditionError(
        db.path() + ": store has schema v" + std::to_string(schema_version_) +
        ", newer than this edgebench understands (v" + std::to_string(latest) +
        "); use a newer edgebench");
  if (schema_version_ < 0)
    return DataLossError(db.path() + ": invalid schema version " +
                         std::to_string(schema_version_));
  if (!options.read_only) {
    ASSIGN_OR_RETURN(std::string mode, db.QueryText("PRAGMA journal_mode=WAL"));
    if (mode != "wal")
      return FailedPreconditionError(db.path() + ": cannot enable WAL (journal_mode is " +
                                     mode + "); is the file on a network filesystem?");
  }
  RETURN_IF_ERROR(db.Exec("PRAGMA foreign_keys=ON"));
  // FULL: a committed repetition survives power loss, not just a crash. One
  // commit per repetition makes the fsync cost negligible.
  RETURN_IF_ERROR(db.Exec("PRAGMA synchronous=FULL"));
  if (options.migrate && !options.read_only) {
    ASSIGN_OR_RETURN(int before, Migrate());
    (void)before;
  }
  return Status::Ok();
}

Result<int> Store::Migrate() {
  std::lock_guard<std::mutex> lock(mu_);
  const int before = schema_version_;
  RETURN_IF_ERROR(internal::MigrateTo(*db_, internal::LatestVersion()));
  RETURN_IF_ERROR(internal::EnsureMetricColumns(*db_));
  ASSIGN_OR_RETURN(int64_t v, db_->QueryInt("PRAGMA user_version"));
  schema_version_ = static_cast<int>(v);
  return before;
}

Result<StoreInfo> Store::Info() {
  std::lock_guard<std::mutex> lock(mu_);
  StoreInfo info;
  info.path = db_->path();
  info.schema_version = schema_version_;
  info.latest_version = internal::LatestVersion();
  ASSIGN_OR_RETURN(info.journal_mode, db_->QueryText("PRAGMA journal_mode"));
  ASSIGN_OR_RETURN(info.page_size, db_->QueryInt("PRAGMA page_size"));
  ASSIGN_OR_RETURN(info.page_count, db_->QueryInt("PRAGMA page_count"));
  ASSIGN_OR_RETURN(info.freelist_count, db_->QueryInt("PRAGMA freelist_count"));
  info.size_bytes = FileSize(info.path);
  info.wal_bytes = FileSize(info.path + "-wal");
  if (schema_version_ == info.latest_version) {
    for (const char* t : {"devices", "builds", "models", "sweeps", "runs", "reps",
                          "samples", "errors"}) {
      ASSIGN_OR_RETURN(int64_t n,
                       db_->QueryInt(std::string("SELECT count(*) FROM ") + t));
      info.tables.push_back({t, n});
    }
    ASSIGN_OR_RETURN(Stmt st, db_->Prepare("SELECT uuid FROM sweeps ORDER BY id DESC LIMIT 1"));
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) info.last_sweep_uuid = st.ColumnText(0);
  }
  return info;
}

Result<int64_t> Store::Vacuum() {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t before = FileSize(db_->path()) + FileSize(db_->path() + "-wal");
  RETURN_IF_ERROR(db_->Exec("PRAGMA wal_checkpoint(TRUNCATE)"));
  RETURN_IF_ERROR(db_->Exec("VACUUM"));
  RETURN_IF_ERROR(db_->Exec("PRAGMA wal_checkpoint(TRUNCATE)"));
  const int64_t after = FileSize(db_->path()) + FileSize(db_->path() + "-wal");
  return before > after ? before - after : 0;
}

Result<std::string> Store::IntegrityCheck() {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Stmt st, db_->Prepare("PRAGMA integrity_check"));
  std::string out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    if (!out.empty()) out += '\n';
    out += st.ColumnText(0);
  }
  return out;
}

namespace {

// Runs `body` inside BEGIN IMMEDIATE ... COMMIT; rolls back on failure.
Status InTransaction(Db& db, const std::function<Status()>& body) {
  RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  Status s = body();
  if (s.ok()) s = db.Exec("COMMIT");
  if (!s.ok()) db.Exec("ROLLBACK").IgnoreError();
  return s;
}

// Runs a single-row INSERT/UPSERT ... RETURNING id.
Result<int64_t> ReturningId(Stmt& st) {
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return InternalError("statement returned no id");
  int64_t id = st.ColumnInt(0);
  RETURN_IF_ERROR(st.Run());
  return id;
}

}  // namespace

Result<int64_t> Store::UpsertDevice(const DeviceRecord& d) {
  if (d.key.empty()) return InvalidArgumentError(path() + ": device key is empty");
  std::lock_guard<std::mutex> lock(mu_);
  int64_t id = 0;
  RETURN_IF_ERROR(InTransaction(*db_, [&]() -> Status {
    ASSIGN_OR_RETURN(Stmt st, db_->Prepare(R"sql(
      INSERT INTO devices (key, name, transport, abi, soc, cpu_model, os, kernel,
                           n_cores, ram_mb, probe_json)
      VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
      ON CONFLICT(key) DO UPDATE SET
        name = excluded.name, transport = excluded.transport, abi = excluded.abi,
        soc = excluded.soc, cpu_model = excluded.cpu_model, os = excluded.os,
        kernel = excluded.kernel, n_cores = excluded.n_cores,
        ram_mb = excluded.ram_mb, probe_json = excluded.probe_json,
        last_seen_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')
      RETURNING id)sql"));
    st.Bind(1, d.key).Bind(2, d.name).Bind(3, d.transport).Bind(4, d.abi)
        .Bind(5, d.soc).Bind(6, d.cpu_model).Bind(7, d.os).Bind(8, d.kernel)
        .Bind(9, d.n_cores).Bind(10, d.ram_mb).Bind(11, d.probe_json);
    ASSIGN_OR_RETURN(id, ReturningId(st));
    return Status::Ok();
  }));
  return id;
}

Result<int64_t> Store::UpsertBuild(const BuildRecord& b) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t id = 0;
  RETURN_IF_ERROR(InTransaction(*db_, [&]() -> Status {
    // The no-op update makes RETURNING yield the existing row's id.
    ASSIGN_OR_RETURN(Stmt st, db_->Prepare(R"sql(
      INSERT INTO builds (version, git_commit, build_type, compiler, flags, isa,
                          sanitizers, asserts)
      VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
      ON CONFLICT DO UPDATE SET version = excluded.version
      RETURNING id)sql"));
    st.Bind(1, b.version).Bind(2, b.git_commit).Bind(3, b.build_type)
        .Bind(4, b.compiler).Bind(5, b.flags).Bind(6, b.isa).Bind(7, b.sanitizers)
        .Bind(8, b.asserts ? 1 : 0);
    ASSIGN_OR_RETURN(id, ReturningId(st));
    return Status::Ok();
  }));
  return id;
}

Result<int64_t> Store::UpsertModel(const ModelRecord& m) {
  if (m.sha256.empty()) return InvalidArgumentError(path() + ": model sha256 is empty");
  std::lock_guard<std::mutex> lock(mu_);
  int64_t id = 0;
  RETURN_IF_ERROR(InTransaction(*db_, [&]() -> Status {
    ASSIGN_OR_RETURN(Stmt st, db_->Prepare(R"sql(
      INSERT INTO models (sha256, name, arch, params, quant, size_bytes, meta_json)
      VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
      ON CONFLICT(sha256) DO UPDATE SET
        name = excluded.name, arch = excluded.arch, params = excluded.params,
        quant = excluded.quant, size_bytes = excluded.size_bytes,
        meta_json = excluded.meta_json
      RETURNING id)sql"));
    st.Bind(1, m.sha256).Bind(2, m.name).Bind(3, m.arch).Bind(4, m.params)
        .Bind(5, m.quant).Bind(6, m.size_bytes).Bind(7, m.meta_json);
    ASSIGN_OR_RETURN(id, ReturningId(st));
    return Status::Ok();
  }));
  return id;
}

Result<int64_t> Store::CreateSweep(SweepRecord& s) {
  if (s.uuid.empty()) s.uuid = NewUuid();
  std::lock_guard<std::mutex> lock(mu_);
  int64_t id = 0;
  RETURN_IF_ERROR(InTransaction(*db_, [&]() -> Status {
    ASSIGN_OR_RETURN(Stmt st, db_->Prepare(R"sql(
      INSERT INTO sweeps (uuid, name, labels_json, spec_json, host,
                          edgebench_version, git_commit)
      VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id)sql"));
    st.Bind(1, s.uuid).Bind(2, s.name).Bind(3, s.labels_json).Bind(4, s.spec_json)
        .Bind(5, s.host).Bind(6, s.edgebench_version).Bind(7, s.git_commit);
    ASSIGN_OR_RETURN(id, ReturningId(st));
    return Status::Ok();
  }));
  return id;
}

Status Store::SetSweepStatus(int64_t sweep_id, SweepStatus status) {
  std::lock_guard<std::mutex> lock(mu_);
  return InTransaction(*db_, [&]() -> Status {
    ASSIGN_OR_RETURN(Stmt st, db_->Prepare(R"sql(
      UPDATE sweeps SET status = ?1,
        finished_at = CASE WHEN ?1 = 'running' THEN NULL
                           ELSE strftime('%Y-%m-%dT%H:%M:%fZ','now') END
      WHERE id = ?2)sql"));
    st.Bind(1, SweepStatusName(status)).Bind(2, sweep_id);
    RETURN_IF_ERROR(st.Run());
    if (db_->Changes() == 0)
      return NotFoundError(path() + ": no sweep with id " + std::to_string(sweep_id));
    return Status::Ok();
  });
}

Result<int64_t> Store::CreateRun(RunRecord& r) {
  if (r.uuid.empty()) r.uuid = NewUuid();
  std::lock_guard<std::mutex> lock(mu_);
  int64_t id = 0;
  RETURN_IF_ERROR(InTransaction(*db_, [&]() -> Status {
    ASSIGN_OR_RETURN(Stmt st, db_->Prepare(R"sql(
      INSERT INTO runs (uuid, sweep_id, device_id, build_id, model_id, backend,
                        config_key, config_json, n_threads, n_prompt, n_gen,
                        n_depth, n_batch, n_ctx, status, env_json)
      VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,
              'running', ?15)
      RETURNING id)sql"));
    st.Bind(1, r.uuid).Bind(2, r.sweep_id).Bind(3, r.device_id).Bind(4, r.build_id)
        .Bind(5, r.model_id).Bind(6, r.backend).Bind(7, r.config_key)
        .Bind(8, r.config_json).Bind(9, r.n_threads).Bind(10, r.n_prompt)
        .Bind(11, r.n_gen).Bind(12, r.n_depth).Bind(13, r.n_batch).Bind(14, r.n_ctx)
        .Bind(15, r.env_json);
    ASSIGN_OR_RETURN(id, ReturningId(st));
    return Status::Ok();
  }));
  return id;
}

Status Store::FinishRun(int64_t run_id, RunStatus status,
                        const std::map<std::string, double>& run_metrics,
                        const std::string& error_code,
                        const std::string& error_message) {
  RETURN_IF_ERROR(CheckMetrics(run_metrics, protocol::Scope::kRun, path()));
  std::string sql =
      "UPDATE runs SET status = ?1, error_code = ?2, error_message = ?3, "
      "finished_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')";
  int i = 4;
  for (const auto& [name, value] : run_metrics)
    sql += ", " + internal::QuoteIdentifier(name) + " = ?" + std::to_string(i++);
  sql += " WHERE id = ?" + std::to_string(i);
  std::lock_guard<std::mutex> lock(mu_);
  return InTransaction(*db_, [&]() -> Status {
    ASSIGN_OR_RETURN(Stmt st, db_->Prepare(sql));
    st.Bind(1, RunStatusName(status)).Bind(2, error_code).Bind(3, error_message);
    int j = 4;
    for (const auto& [name, value] : run_metrics) st.Bind(j++, value);
    st.Bind(j, run_id);
    RETURN_IF_ERROR(st.Run());
    if (db_->Changes() == 0)
      return NotFoundError(path() + ": no run with id " + std::to_string(run_id));
    return Status::Ok();
  });
}

Result<int64_t> Store::AddRep(const RepRecord& rep) {
  RETURN_IF_ERROR(CheckMetrics(rep.metrics, protocol::Scope::kRep, path()));
  std::string cols =
      "run_id, idx, warmup, status, error_code, error_message, t_start_ns, "
      "t_end_ns, n_prompt, n_gen, token_times_ns";
  std::string vals = "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11";
  int i = 12;
  for (const auto& [name, value] : rep.metrics) {
    cols += ", " + internal::QuoteIdentifier(name);
    vals += ", ?" + std::to_string(i++);
  }
  const std::string sql =
      "INSERT INTO reps (" + cols + ") VALUES (" + vals + ") RETURNING id";
  // Little-endian int64s: the layout of every target we build for.
  static_assert(std::endian::native == std::endian::little);
  std::lock_guard<std::mutex> lock(mu_);
  int64_t id = 0;
  RETURN_IF_ERROR(InTransaction(*db_, [&]() -> Status {
    ASSIGN_OR_RETURN(Stmt st, db_->Prepare(sql));
    st.Bind(1, rep.run_id).Bind(2, rep.idx).Bind(3, rep.warmup ? 1 : 0)
        .Bind(4, rep.ok ? "ok" : "failed").Bind(5, rep.error_code)
        .Bind(6, rep.error_message).Bind(7, rep.t_start_ns).Bind(8, rep.t_end_ns)
        .Bind(9, rep.n_prompt).Bind(10, rep.n_gen);
    if (rep.token_times_ns.empty())
      st.BindNull(11);
    else
      st.BindBlob(11, rep.token_times_ns.data(),
                  rep.token_times_ns.size() * sizeof(int64_t));
    int j = 12;
    for (const auto& [name, value] : rep.metrics) st.Bind(j++, value);
    ASSIGN_OR_RETURN(id, ReturningId(st));
    if (rep.samples.empty()) return Status::Ok();
    ASSIGN_OR_RETURN(Stmt ins, db_->Prepare(
        "INSERT INTO samples (run_id, rep_id, t_ns, source, name, value) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
    for (const SampleRecord& s : rep.samples) {
      RETURN_IF_ERROR(ins.Reset());
      ins.Bind(1, rep.run_id).Bind(2, id).Bind(3, s.t_ns).Bind(4, s.source)
          .Bind(5, s.name).Bind(6, s.value);
      RETURN_IF_ERROR(ins.Run());
    }
    return Status::Ok();
  }));
  return id;
}

Result<int64_t> Store::AddError(const ErrorRecord& e) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t id = 0;
  RETURN_IF_ERROR(InTransaction(*db_, [&]() -> Status {
    ASSIGN_OR_RETURN(Stmt st, db_->Prepare(
        "INSERT INTO errors (sweep_id, run_id, code, message, context) "
        "VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id"));
    st.Bind(1, e.sweep_id).Bind(2, e.run_id).Bind(3, e.code).Bind(4, e.message)
        .Bind(5, e.context);
    ASSIGN_OR_RETURN(id, ReturningId(st));
    return Status::Ok();
  }));
  return id;
}

namespace {

Result<SweepStatus> ParseSweepStatus(const std::string& s) {
  for (SweepStatus v : {SweepStatus::kRunning, SweepStatus::kCompleted,
                        SweepStatus::kInterrupted, SweepStatus::kFailed})
    if (SweepStatusName(v) == s) return v;
  return DataLossError("unknown sweep status \"" + s + "\"");
}

Result<RunStatus> ParseRunStatus(const std::string& s) {
  for (RunStatus v : {RunStatus::kPending, RunStatus::kRunning, RunStatus::kOk,
                      RunStatus::kFailed, RunStatus::kInterrupted})
    if (RunStatusName(v) == s) return v;
  return DataLossError("unknown run status \"" + s + "\"");
}

}  // namespace

Result<StoredSweep> Store::FindSweep(std::string_view id) {
  const bool last = id == "last";
  if (!last && id.size() < 8)
    return InvalidArgumentError("sweep id \"" + std::string(id) +
                                "\": give at least 8 characters of the UUID, or \"last\"");
  std::lock_guard<std::mutex> lock(mu_);
  const char* cols =
      "SELECT id, uuid, name, labels_json, spec_json, host, edgebench_version, git_commit, "
      "status, started_at FROM sweeps ";
  ASSIGN_OR_RETURN(Stmt st,
                   db_->Prepare(std::string(cols) +
                                (last ? "ORDER BY id DESC LIMIT 1"
                                      : "WHERE substr(uuid, 1, length(?1)) = ?1 LIMIT 2")));
  if (!last) st.Bind(1, id);
  std::vector<StoredSweep> found;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    StoredSweep s;
    s.id = st.ColumnInt(0);
    s.record.uuid = st.ColumnText(1);
    s.record.name = st.ColumnText(2);
    s.record.labels_json = st.ColumnText(3);
    s.record.spec_json = st.ColumnText(4);
    s.record.host = st.ColumnText(5);
    s.record.edgebench_version = st.ColumnText(6);
    s.record.git_commit = st.ColumnText(7);
    ASSIGN_OR_RETURN(s.status, ParseSweepStatus(st.ColumnText(8)));
    s.started_at = st.ColumnText(9);
    found.push_back(std::move(s));
  }
  if (found.empty())
    return NotFoundError(path() + ": no sweep " +
                         (last ? std::string("yet") : "\"" + std::string(id) + "\""));
  if (found.size() > 1)
    return InvalidArgumentError(path() + ": \"" + std::string(id) +
                                "\" names more than one sweep; give more of the UUID");
  return std::move(found.front());
}

Result<std::vector<StoredRun>> Store::RunsOfSweep(int64_t sweep_id) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Stmt st, db_->Prepare(R"sql(
      SELECT r.id, r.uuid, d.key, r.config_key, r.status,
             (SELECT group_concat(idx) FROM (SELECT idx FROM reps WHERE run_id = r.id
                                             ORDER BY idx))
      FROM runs r JOIN devices d ON d.id = r.device_id
      WHERE r.sweep_id = ?1 ORDER BY r.id)sql"));
  st.Bind(1, sweep_id);
  std::vector<StoredRun> runs;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    StoredRun r;
    r.id = st.ColumnInt(0);
    r.uuid = st.ColumnText(1);
    r.device_key = st.ColumnText(2);
    r.config_key = st.ColumnText(3);
    ASSIGN_OR_RETURN(r.status, ParseRunStatus(st.ColumnText(4)));
    const std::string idx = st.ColumnIsNull(5) ? std::string() : st.ColumnText(5);
    for (size_t p = 0; p < idx.size();) {
      size_t comma = idx.find(',', p);
      if (comma == std::string::npos) comma = idx.size();
      r.rep_idx.push_back(std::stoi(idx.substr(p, comma - p)));
      p = comma + 1;
    }
    runs.push_back(std::move(r));
  }
  return runs;
}

Status Store::SetRunStatus(int64_t run_id, RunStatus status) {
  std::lock_guard<std::mutex> lock(mu_);
  return InTransaction(*db_, [&]() -> Status {
    ASSIGN_OR_RETURN(Stmt st, db_->Prepare(R"sql(
      UPDATE runs SET status = ?1,
        finished_at = CASE WHEN ?1 IN ('pending', 'running') THEN NULL
                           ELSE strftime('%Y-%m-%dT%H:%M:%fZ','now') END
      WHERE id = ?2)sql"));
    st.Bind(1, RunStatusName(status)).Bind(2, run_id);
    RETURN_IF_ERROR(st.Run());
    if (db_->Changes() == 0)
      return NotFoundError(path() + ": no run with id " + std::to_string(run_id));
    return Status::Ok();
  });
}

}  // namespace edgebench::store
