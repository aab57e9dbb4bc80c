// Admin users, sessions and setup tokens. See vodd/catalog/admin.h.
#include <sqlite3.h>

#include "vodd/catalog/admin.h"

namespace vodd::catalog {
namespace {

std::string Blob(const Stmt& s, int col) {
  const void* p = sqlite3_column_blob(s.get(), col);
  int n = sqlite3_column_bytes(s.get(), col);
  if (!p || n <= 0) return {};
  return std::string(static_cast<const char*>(p), static_cast<size_t>(n));
}

}  // namespace

Status UpsertAdminUser(Db& db, const std::string& name,
                       const std::string& password_hash, int64_t now_ms) {
  TRY_ASSIGN(Stmt s,
             db.Prepare("INSERT INTO admin_users(name,password_hash,created_at,"
                        "updated_at) VALUES(?1,?2,?3,?3) ON CONFLICT(name) DO "
                        "UPDATE SET password_hash=?2, updated_at=?3"));
  s.Bind(1, name).Bind(2, password_hash).Bind(3, now_ms);
  TRY(s.Run());
  TRY_ASSIGN(Stmt d, db.Prepare("DELETE FROM admin_sessions WHERE user=?1"));
  d.Bind(1, name);
  return d.Run();
}

Result<std::optional<AdminUser>> GetAdminUser(Db& db, const std::string& name) {
  TRY_ASSIGN(Stmt s, db.Prepare("SELECT name,password_hash,created_at,"
                                "updated_at FROM admin_users WHERE name=?1"));
  s.Bind(1, name);
  TRY_ASSIGN(bool row, s.Step());
  if (!row) return std::optional<AdminUser>();
  return AdminUser{s.Text(0), s.Text(1), s.Int(2), s.Int(3)};
}

Result<int64_t> CountAdminUsers(Db& db) {
  TRY_ASSIGN(Stmt s, db.Prepare("SELECT count(*) FROM admin_users"));
  TRY_ASSIGN(bool row, s.Step());
  return row ? s.Int(0) : 0;
}

Status InsertSession(Db& db, const AdminSession& a) {
  TRY_ASSIGN(Stmt s, db.Prepare("INSERT INTO admin_sessions(id_sha256,user,"
                                "csrf_token,created_at,last_seen_at,ip,"
                                "user_agent) VALUES(?1,?2,?3,?4,?5,?6,?7)"));
  s.BindBlob(1, a.id_sha256).Bind(2, a.user).Bind(3, a.csrf_token);
  s.Bind(4, a.created_at).Bind(5, a.last_seen_at).Bind(6, a.ip);
  s.Bind(7, a.user_agent);
  return s.Run();
}

Result<std::optional<AdminSession>> GetSession(Db& db,
                                               const std::string& id_sha256) {
  TRY_ASSIGN(Stmt s,
             db.Prepare("SELECT id_sha256,user,csrf_token,created_at,"
                        "last_seen_at,ip,user_agent FROM admin_sessions "
                        "WHERE id_sha256=?1"));
  s.BindBlob(1, id_sha256);
  TRY_ASSIGN(bool row, s.Step());
  if (!row) return std::optional<AdminSession>();
  return AdminSession{Blob(s, 0), s.Text(1), s.Text(2), s.Int(3),
                      s.Int(4),   s.Text(5), s.Text(6)};
}

Status TouchSession(Db& db, const std::string& id_sha256, int64_t now_ms) {
  TRY_ASSIGN(Stmt s, db.Prepare("UPDATE admin_sessions SET last_seen_at=?2 "
                                "WHERE id_sha256=?1 AND last_seen_at<?2"));
  s.BindBlob(1, id_sha256).Bind(2, now_ms);
  return s.Run();
}

Status DeleteSession(Db& db, const std::string& id_sha256) {
  TRY_ASSIGN(Stmt s,
             db.Prepare("DELETE FROM admin_sessions WHERE id_sha256=?1"));
  s.BindBlob(1, id_sha256);
  return s.Run();
}

Result<int> DeleteExpiredSessions(Db& db, int64_t idle_before,
                                  int64_t created_before) {
  TRY_ASSIGN(Stmt s, db.Prepare("DELETE FROM admin_sessions WHERE "
                                "last_seen_at<?1 OR created_at<?2"));
  s.Bind(1, idle_before).Bind(2, created_before);
  TRY(s.Run());
  return db.Changes();
}

Status ReplaceSetupToken(Db& db, const std::string& token_sha256,
                         int64_t now_ms, int64_t expires_at) {
  TRY(db.Exec("DELETE FROM admin_setup_tokens"));
  TRY_ASSIGN(Stmt s, db.Prepare("INSERT INTO admin_setup_tokens(token_sha256,"
                                "created_at,expires_at) VALUES(?1,?2,?3)"));
  s.BindBlob(1, token_sha256).Bind(2, now_ms).Bind(3, expires_at);
  return s.Run();
}

Result<bool> ConsumeSetupToken(Db& db, const std::string& token_sha256,
                               int64_t now_ms) {
  TRY_ASSIGN(Stmt s, db.Prepare("DELETE FROM admin_setup_tokens WHERE "
                                "token_sha256=?1 AND expires_at>?2"));
  s.BindBlob(1, token_sha256).Bind(2, now_ms);
  TRY(s.Run());
  return db.Changes() > 0;
}

}  // namespace vodd::catalog
