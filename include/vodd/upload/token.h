// API tokens for uploads: "vodd_<8 hex id>_<43 base64url secret>" (32 random
// bytes). Only SHA-256 of the secret is stored; verification compares in
// constant time (libsodium crypto_verify_32). Pure: no GLib/libsoup/SQLite.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace vodd::upload {

inline constexpr std::string_view kTokenPrefix = "vodd_";
inline constexpr size_t kTokenIdLen = 8;
inline constexpr size_t kTokenSecretLen = 43;

struct ParsedToken {
  std::string id;      // 8 lowercase hex
  std::string secret;  // 43 base64url characters
};

struct NewToken {
  std::string id;
  std::string text;           // the full token, shown once
  std::string secret_sha256;  // 32 raw bytes to store
};

// A fresh token from the system CSPRNG (randombytes_buf).
NewToken GenerateToken();
// Strict parse of the full token; nullopt for anything else.
std::optional<ParsedToken> ParseToken(std::string_view text);
// "Bearer <token>" → the token text; nullopt otherwise.
std::optional<std::string> BearerToken(std::string_view authorization);
// SHA-256 of the secret's characters, 32 raw bytes.
std::string HashSecret(std::string_view secret);
// Constant-time comparison of two 32-byte hashes; false on a size mismatch.
bool HashesEqual(std::string_view a, std::string_view b);

}  // namespace vodd::upload
