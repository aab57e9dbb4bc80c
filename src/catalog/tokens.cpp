#include "vodd/catalog/tokens.h"

namespace vodd::catalog {

Status InsertToken(Db& db, const ApiToken& t) {
  TRY_ASSIGN(
      Stmt s,
      db.Prepare(
          "INSERT INTO "
          "api_tokens(id,secret_sha256,name,scopes,created_at,expires_at) "
          "VALUES(?1,?2,?3,?4,?5,?6)"));
  s.Bind(1, t.id)
      .BindBlob(2, t.secret_sha256)
      .Bind(3, t.name)
      .Bind(4, t.scopes);
  s.Bind(5, t.created_at).Bind(6, t.expires_at);
  auto st = s.Run();
  if (!st && st.error().code == ErrorCode::kConflict) {
    return MakeError(ErrorCode::kAlreadyExists, "token id exists: " + t.id);
  }
  return st;
}

Result<std::vector<ApiToken>> ListTokens(Db& db) {
  TRY_ASSIGN(Stmt s, db.Prepare("SELECT "
                                "id,secret_sha256,name,scopes,created_at,"
                                "expires_at,last_used_at,revoked_at "
                                "FROM api_tokens ORDER BY created_at, id"));
  std::vector<ApiToken> out;
  while (true) {
    TRY_ASSIGN(bool row, s.Step());
    if (!row) break;
    ApiToken t;
    t.id = s.Text(0);
    const void* blob = sqlite3_column_blob(s.get(), 1);
    int n = sqlite3_column_bytes(s.get(), 1);
    if (blob && n > 0)
      t.secret_sha256.assign(static_cast<const char*>(blob),
                             static_cast<size_t>(n));
    t.name = s.Text(2);
    t.scopes = s.Text(3);
    t.created_at = s.Int(4);
    t.expires_at = s.OptInt(5);
    t.last_used_at = s.OptInt(6);
    t.revoked_at = s.OptInt(7);
    out.push_back(std::move(t));
  }
  return out;
}

Result<bool> RevokeToken(Db& db, const std::string& id, int64_t now_ms) {
  TRY_ASSIGN(Stmt s, db.Prepare("UPDATE api_tokens SET revoked_at=?2 WHERE "
                                "id=?1 AND revoked_at IS NULL"));
  s.Bind(1, id).Bind(2, now_ms);
  TRY(s.Run());
  return db.Changes() > 0;
}

Status TouchToken(Db& db, const std::string& id, int64_t now_ms) {
  TRY_ASSIGN(Stmt s,
             db.Prepare("UPDATE api_tokens SET last_used_at=?2 WHERE id=?1"));
  s.Bind(1, id).Bind(2, now_ms);
  return s.Run();
}

}  // namespace vodd::catalog
