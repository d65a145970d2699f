// store/internal/sqlite.h — a thin RAII layer over the SQLite C API that
// turns every failure into a Status naming the database path.
//
// Thread-safety: a Db is used by one thread at a time (Store serialises).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace edgebench::store::internal {

class Db;

// A prepared statement. Bind parameters are 1-based, as in SQLite.
class Stmt {
 public:
  Stmt() = default;
  Stmt(Db* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Stmt(Stmt&& o) noexcept : db_(o.db_), stmt_(o.stmt_) { o.stmt_ = nullptr; }
  Stmt& operator=(Stmt&& o) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt();

  Stmt& Bind(int i, int64_t v);
  Stmt& Bind(int i, int v) { return Bind(i, static_cast<int64_t>(v)); }
  Stmt& Bind(int i, double v);
  Stmt& Bind(int i, std::string_view v);
  Stmt& Bind(int i, const char* v) { return Bind(i, std::string_view(v)); }
  Stmt& Bind(int i, const std::string& v) { return Bind(i, std::string_view(v)); }
  Stmt& BindBlob(int i, const void* data, size_t n);
  Stmt& BindNull(int i);
  template <typename T>
  Stmt& Bind(int i, const std::optional<T>& v) {
    return v ? Bind(i, *v) : BindNull(i);
  }

  // Steps once. Returns true when a row is ready, false when done.
  Result<bool> Step();
  // Steps to completion, for statements that return no rows.
  Status Run();
  Status Reset();

  int64_t ColumnInt(int i) const;
  double ColumnDouble(int i) const;
  std::string ColumnText(int i) const;
  bool ColumnIsNull(int i) const;
  int ColumnCount() const;
  std::string ColumnName(int i) const;

  sqlite3_stmt* get() const { return stmt_; }

 private:
  Status Check(int rc, const char* what);
  Db* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  Status bind_error_;  // first failed Bind, reported by the next Step/Run
};

class Db {
 public:
  // Opens (and with create=true creates) the file at `path`. Does not read it:
  // a file that is not SQLite is detected by the first query.
  static Result<Db> Open(const std::string& path, bool create, bool read_only);

  Db() = default;
  Db(Db&& o) noexcept : db_(o.db_), path_(std::move(o.path_)) { o.db_ = nullptr; }
  Db& operator=(Db&& o) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db();

  // Runs one or more statements that return no rows.
  Status Exec(std::string_view sql);
  Result<Stmt> Prepare(std::string_view sql);
  // Runs a query returning one integer (first column of first row).
  Result<int64_t> QueryInt(std::string_view sql);
  Result<std::string> QueryText(std::string_view sql);

  int64_t LastInsertRowId() const;
  int Changes() const;

  // Converts an SQLite result code into a Status naming the path and `what`.
  Status Error(int rc, std::string_view what) const;

  const std::string& path() const { return path_; }
  sqlite3* get() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

// Quotes an SQL identifier ("name" with doubled quotes).
std::string QuoteIdentifier(std::string_view name);

}  // namespace edgebench::store::internal
