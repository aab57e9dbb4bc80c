#include "vodd/catalog/db.h"

#include <fmt/format.h>

#include "vodd/core/log.h"

namespace vodd::catalog {

namespace {

// What an SQLite result code means to callers: only the disk's own failures
// are kIo (upload answers them as a storage error); a bad statement or a
// library misuse is a bug (kInternal).
ErrorCode CodeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      return ErrorCode::kConflict;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return ErrorCode::kLocked;
    case SQLITE_FULL:
      return ErrorCode::kNoSpace;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return ErrorCode::kDataLoss;
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return ErrorCode::kPermissionDenied;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
      return ErrorCode::kIo;
    default:
      return ErrorCode::kInternal;
  }
}

}  // namespace

Status Db::ErrorStatus(int rc, std::string_view what) const {
  ErrorCode code = CodeFor(rc);
  return MakeError(code, fmt::format("sqlite {}: {} ({})", what,
                                     db_ ? sqlite3_errmsg(db_.get()) : "",
                                     sqlite3_errstr(rc)));
}

Result<std::unique_ptr<Db>> Db::Open(const std::string& path, Mode mode) {
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
  flags |= mode == Mode::kReadOnly
               ? SQLITE_OPEN_READONLY
               : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  std::unique_ptr<Db> db(new Db(raw));
  if (rc != SQLITE_OK)
    return tl::unexpected(db->ErrorStatus(rc, "open " + path).error());
  sqlite3_extended_result_codes(raw, 1);
  TRY(db->Exec("PRAGMA busy_timeout=5000"));
  if (mode == Mode::kReadWrite) {
    TRY_ASSIGN(Stmt wal, db->Prepare("PRAGMA journal_mode=WAL"));
    TRY_ASSIGN(bool row, wal.Step());
    if (!row || wal.Text(0) != "wal") {
      return MakeError(ErrorCode::kIo, "cannot enable WAL on " + path);
    }
    TRY(db->Exec("PRAGMA journal_size_limit=67108864"));
  }
  TRY(
      db->Exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA "
               "trusted_schema=OFF"));
  return db;
}

Result<Stmt> Db::Prepare(std::string_view sql) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db_.get(), sql.data(),
                              static_cast<int>(sql.size()), &s, nullptr);
  if (rc != SQLITE_OK) {
    return tl::unexpected(
        ErrorStatus(rc, fmt::format("prepare \"{}\"", sql)).error());
  }
  return Stmt(s);
}

Status Db::Exec(const std::string& sql) {
  char* msg = nullptr;
  int rc = sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &msg);
  if (msg) sqlite3_free(msg);
  if (rc != SQLITE_OK) return ErrorStatus(rc, "exec");
  return Ok();
}

int64_t Db::LastInsertId() const {
  return sqlite3_last_insert_rowid(db_.get());
}
int Db::Changes() const { return sqlite3_changes(db_.get()); }

Stmt& Stmt::Bind(int i, int64_t v) {
  sqlite3_bind_int64(stmt_.get(), i, v);
  return *this;
}
Stmt& Stmt::Bind(int i, double v) {
  sqlite3_bind_double(stmt_.get(), i, v);
  return *this;
}
Stmt& Stmt::Bind(int i, std::string_view v) {
  sqlite3_bind_text(stmt_.get(), i, v.data(), static_cast<int>(v.size()),
                    SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::BindBlob(int i, std::string_view v) {
  sqlite3_bind_blob(stmt_.get(), i, v.data(), static_cast<int>(v.size()),
                    SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::BindNull(int i) {
  sqlite3_bind_null(stmt_.get(), i);
  return *this;
}

Result<bool> Stmt::Step() {
  int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3* db = sqlite3_db_handle(stmt_.get());
  return MakeError(CodeFor(rc),
                   fmt::format("sqlite step \"{}\": {}",
                               sqlite3_sql(stmt_.get()), sqlite3_errmsg(db)));
}

Status Stmt::Run() {
  while (true) {
    TRY_ASSIGN(bool row, Step());
    if (!row) break;
  }
  Reset();
  return Ok();
}

void Stmt::Reset() {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
}

bool Stmt::IsNull(int col) const {
  return sqlite3_column_type(stmt_.get(), col) == SQLITE_NULL;
}
int64_t Stmt::Int(int col) const {
  return sqlite3_column_int64(stmt_.get(), col);
}
double Stmt::Real(int col) const {
  return sqlite3_column_double(stmt_.get(), col);
}
std::string Stmt::Text(int col) const {
  const auto* p = sqlite3_column_text(stmt_.get(), col);
  int n = sqlite3_column_bytes(stmt_.get(), col);
  return p ? std::string(reinterpret_cast<const char*>(p),
                         static_cast<size_t>(n))
           : "";
}
std::optional<int64_t> Stmt::OptInt(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Int(col);
}
std::optional<std::string> Stmt::OptText(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Text(col);
}

Result<Txn> Txn::Begin(Db& db) {
  TRY(db.Exec("BEGIN IMMEDIATE"));
  return Txn(db);
}

Txn::~Txn() {
  // After SQLITE_FULL or an I/O error SQLite may have rolled the transaction
  // back itself; a ROLLBACK then fails with "no transaction is active".
  if (open_ && !sqlite3_get_autocommit(db_->raw())) {
    if (!db_->Exec("ROLLBACK")) LOG_WARN("catalog", "rollback failed");
  }
}

Status Txn::Commit() {
  TRY(db_->Exec("COMMIT"));
  open_ = false;
  return Ok();
}

}  // namespace vodd::catalog
