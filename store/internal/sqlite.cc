#include "store/internal/sqlite.h"

#include <utility>

namespace edgebench::store::internal {

namespace {

StatusCode CodeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_NOTADB: case SQLITE_CORRUPT: return StatusCode::kDataLoss;
    case SQLITE_CANTOPEN: return StatusCode::kNotFound;
    case SQLITE_PERM: case SQLITE_READONLY: case SQLITE_AUTH:
      return StatusCode::kPermissionDenied;
    case SQLITE_FULL: case SQLITE_NOMEM: return StatusCode::kResourceExhausted;
    case SQLITE_BUSY: case SQLITE_LOCKED: return StatusCode::kUnavailable;
    case SQLITE_CONSTRAINT: case SQLITE_MISMATCH: case SQLITE_RANGE:
      return StatusCode::kInvalidArgument;
    case SQLITE_INTERRUPT: return StatusCode::kCancelled;
    case SQLITE_IOERR: return StatusCode::kDataLoss;
    default: return StatusCode::kInternal;
  }
}

}  // namespace

std::string QuoteIdentifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

// ---- Stmt ----

Stmt& Stmt::operator=(Stmt&& o) noexcept {
  if (this != &o) {
    if (stmt_) sqlite3_finalize(stmt_);
    db_ = o.db_;
    stmt_ = o.stmt_;
    bind_error_ = std::move(o.bind_error_);
    o.stmt_ = nullptr;
  }
  return *this;
}

Stmt::~Stmt() {
  if (stmt_) sqlite3_finalize(stmt_);
}

Status Stmt::Check(int rc, const char* what) {
  if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return Status::Ok();
  return db_->Error(rc, what);
}

Stmt& Stmt::Bind(int i, int64_t v) {
  Status s = Check(sqlite3_bind_int64(stmt_, i, v), "bind");
  if (bind_error_.ok()) bind_error_ = s;
  return *this;
}

Stmt& Stmt::Bind(int i, double v) {
  Status s = Check(sqlite3_bind_double(stmt_, i, v), "bind");
  if (bind_error_.ok()) bind_error_ = s;
  return *this;
}

Stmt& Stmt::Bind(int i, std::string_view v) {
  Status s = Check(sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()),
                                     SQLITE_TRANSIENT),
                   "bind");
  if (bind_error_.ok()) bind_error_ = s;
  return *this;
}

Stmt& Stmt::BindBlob(int i, const void* data, size_t n) {
  Status s = Check(sqlite3_bind_blob64(stmt_, i, data, n, SQLITE_TRANSIENT), "bind");
  if (bind_error_.ok()) bind_error_ = s;
  return *this;
}

Stmt& Stmt::BindNull(int i) {
  Status s = Check(sqlite3_bind_null(stmt_, i), "bind");
  if (bind_error_.ok()) bind_error_ = s;
  return *this;
}

Result<bool> Stmt::Step() {
  RETURN_IF_ERROR(bind_error_);
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->Error(rc, "step");
}

Status Stmt::Run() {
  for (;;) {
    ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

Status Stmt::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_error_ = Status::Ok();
  return Status::Ok();
}

int64_t Stmt::ColumnInt(int i) const { return sqlite3_column_int64(stmt_, i); }
double Stmt::ColumnDouble(int i) const { return sqlite3_column_double(stmt_, i); }
bool Stmt::ColumnIsNull(int i) const {
  return sqlite3_column_type(stmt_, i) == SQLITE_NULL;
}
std::string Stmt::ColumnText(int i) const {
  const unsigned char* p = sqlite3_column_text(stmt_, i);
  int n = sqlite3_column_bytes(stmt_, i);
  return p ? std::string(reinterpret_cast<const char*>(p), n) : std::string();
}
int Stmt::ColumnCount() const { return sqlite3_column_count(stmt_); }
std::string Stmt::ColumnName(int i) const {
  const char* n = sqlite3_column_name(stmt_, i);
  return n ? n : "";
}

// ---- Db ----

Result<Db> Db::Open(const std::string& path, bool create, bool read_only) {
  Db db;
  db.path_ = path;
  int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  if (create && !read_only) flags |= SQLITE_OPEN_CREATE;
  // FULLMUTEX: a Store may be shared by the executor's device threads.
  flags |= SQLITE_OPEN_FULLMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db.db_, flags, nullptr);
  if (rc != SQLITE_OK) return db.Error(rc, "cannot open");
  sqlite3_extended_result_codes(db.db_, 1);
  return db;
}

Db& Db::operator=(Db&& o) noexcept {
  if (this != &o) {
    if (db_) sqlite3_close_v2(db_);
    db_ = o.db_;
    path_ = std::move(o.path_);
    o.db_ = nullptr;
  }
  return *this;
}

Db::~Db() {
  if (db_) sqlite3_close_v2(db_);
}

Status Db::Error(int rc, std::string_view what) const {
  std::string msg = path_;
  msg += ": ";
  msg += what;
  msg += ": ";
  int primary = rc & 0xff;
  if (primary == SQLITE_NOTADB) {
    msg += "not a SQLite database";
  } else if (db_ && sqlite3_errcode(db_) == rc) {
    msg += sqlite3_errmsg(db_);
  } else {
    msg += sqlite3_errstr(rc);
  }
  return Status(CodeFor(rc), std::move(msg));
}

Status Db::Exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    sqlite3_free(err);
    return Error(rc, "exec");
  }
  return Status::Ok();
}

Result<Stmt> Db::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt,
                              nullptr);
  if (rc != SQLITE_OK) return Error(rc, "prepare");
  return Stmt(this, stmt);
}

Result<int64_t> Db::QueryInt(std::string_view sql) {
  ASSIGN_OR_RETURN(Stmt st, Prepare(sql));
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return NotFoundError(path_ + ": query returned no row: " + std::string(sql));
  return st.ColumnInt(0);
}

Result<std::string> Db::QueryText(std::string_view sql) {
  ASSIGN_OR_RETURN(Stmt st, Prepare(sql));
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return NotFoundError(path_ + ": query returned no row: " + std::string(sql));
  return st.ColumnText(0);
}

int64_t Db::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }
int Db::Changes() const { return sqlite3_changes(db_); }

}  // namespace edgebench::store::internal
