// API tokens (table api_tokens). Only the SHA-256 of a token's secret is
// stored; the token text is shown once at creation (vodd token create).
// Writer thread for mutations; any connection for reads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vodd/catalog/db.h"

namespace vodd::catalog {

struct ApiToken {
  std::string id;             // 8 lowercase hex, public
  std::string secret_sha256;  // 32 raw bytes
  std::string name;
  std::string scopes;  // space-separated: "upload"
  int64_t created_at = 0;
  std::optional<int64_t> expires_at, last_used_at, revoked_at;
};

// Errors: kAlreadyExists, kIo.
Status InsertToken(Db& db, const ApiToken& t);
Result<std::vector<ApiToken>> ListTokens(Db& db);
// True if a token was revoked now; false if unknown or already revoked.
Result<bool> RevokeToken(Db& db, const std::string& id, int64_t now_ms);
Status TouchToken(Db& db, const std::string& id, int64_t now_ms);

}  // namespace vodd::catalog
