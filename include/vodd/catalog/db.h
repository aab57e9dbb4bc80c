// Thin RAII over SQLite: a connection (Db), prepared statements (Stmt) and
// write transactions (Txn). A Db and its statements belong to one thread.
//
// Every connection gets WAL, synchronous=FULL, foreign_keys=ON,
// busy_timeout=5000, trusted_schema=OFF. Writes go through catalog::Writer,
// which owns the only read-write connection in the daemon.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "vodd/core/result.h"

namespace vodd::catalog {

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};

class Stmt {
 public:
  Stmt() = default;
  explicit Stmt(sqlite3_stmt* s) : stmt_(s) {}

  // Bind by 1-based index. Strings are copied (SQLITE_TRANSIENT).
  Stmt& Bind(int i, int64_t v);
  Stmt& Bind(int i, int v) { return Bind(i, static_cast<int64_t>(v)); }
  Stmt& Bind(int i, double v);
  Stmt& Bind(int i, std::string_view v);
  Stmt& Bind(int i, const char* v) { return Bind(i, std::string_view(v)); }
  Stmt& Bind(int i, const std::string& v) {
    return Bind(i, std::string_view(v));
  }
  Stmt& BindBlob(int i, std::string_view v);
  Stmt& BindNull(int i);
  template <typename T>
  Stmt& Bind(int i, const std::optional<T>& v) {
    return v ? Bind(i, *v) : BindNull(i);
  }

  // Steps once: true when a row is ready, false when done. Errors: kIo,
  // kConflict (constraint), kLocked (busy).
  Result<bool> Step();
  // Steps to completion, ignoring rows.
  Status Run();
  void Reset();

  bool IsNull(int col) const;
  int64_t Int(int col) const;
  double Real(int col) const;
  std::string Text(int col) const;
  std::optional<int64_t> OptInt(int col) const;
  std::optional<std::string> OptText(int col) const;

  sqlite3_stmt* get() const { return stmt_.get(); }

 private:
  std::unique_ptr<sqlite3_stmt, StmtFinalizer> stmt_;
};

class Db {
 public:
  enum class Mode { kReadWrite, kReadOnly };
  // Opens (and for kReadWrite creates) the database and applies the pragmas.
  static Result<std::unique_ptr<Db>> Open(const std::string& path, Mode mode);

  Result<Stmt> Prepare(std::string_view sql);
  // Runs one or more statements without results.
  Status Exec(const std::string& sql);
  int64_t LastInsertId() const;
  int Changes() const;
  sqlite3* raw() const { return db_.get(); }
  Status ErrorStatus(int rc, std::string_view what) const;

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  std::unique_ptr<sqlite3, SqliteCloser> db_;
};

// BEGIN IMMEDIATE on construction (Begin), ROLLBACK in the destructor unless
// Commit() succeeded.
class Txn {
 public:
  static Result<Txn> Begin(Db& db);
  Txn(Txn&& o) noexcept : db_(o.db_), open_(o.open_) { o.open_ = false; }
  Txn& operator=(Txn&&) = delete;
  ~Txn();
  Status Commit();

 private:
  explicit Txn(Db& db) : db_(&db), open_(true) {}
  Db* db_;
  bool open_;
};

}  // namespace vodd::catalog
