// Credentials of the admin page: Argon2id password hashes, session ids,
// cookie parsing, the login rate limiter and webhook signatures. Pure apart
// from libsodium (no GLib, libsoup or SQLite), so it is unit-tested alone.
//
// Thread-safety: the free functions are safe on any thread. HashPassword and
// VerifyPassword take 64 MiB and ~100 ms each: never on the HTTP thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "vodd/core/result.h"

namespace vodd::admin {

inline constexpr size_t kMinPasswordLength = 10;
inline constexpr size_t kMaxPasswordLength = 1024;
inline constexpr std::string_view kSessionCookie = "vodd_sid";
// The name used over TLS: the __Host- prefix forces Secure, Path=/, no Domain.
inline constexpr std::string_view kSecureSessionCookie = "__Host-vodd_sid";

// crypto_pwhash_str with OPSLIMIT/MEMLIMIT_INTERACTIVE: "$argon2id$v=19$…".
// Errors: kInternal (out of memory).
Result<std::string> HashPassword(std::string_view password);
// True when `password` matches the stored `hash` string.
bool VerifyPassword(std::string_view hash, std::string_view password);
// Why a new password is refused, or nullopt when acceptable.
std::optional<std::string> PasswordProblem(std::string_view password);
// A user name: 1–64 of [a-z0-9._-], starting with a letter or digit.
bool ValidUserName(std::string_view name);

// SHA-256, 32 raw bytes.
std::string Sha256(std::string_view data);
// Constant-time equality (lengths compared first, which is public).
bool SecureEquals(std::string_view a, std::string_view b);

// A fresh random secret of 32 bytes as unpadded base64url (43 chars): session
// ids, setup tokens and CSRF tokens.
std::string RandomToken();
// True for 43 base64url characters (what RandomToken makes).
bool LooksLikeToken(std::string_view s);

// The value of cookie `name` in a Cookie header, if present.
std::optional<std::string> CookieValue(std::string_view header,
                                       std::string_view name);
// A Set-Cookie value for the session. `max_age_s` < 0 deletes it.
std::string SessionCookie(std::string_view value, bool secure,
                          int64_t max_age_s);

// "t=<unix>,v1=<hex HMAC-SHA256(secret, t + "." + body)>".
std::string WebhookSignature(std::string_view secret, int64_t unix_s,
                             std::string_view body);

// Login rate limiting per key (an IP or an account): the first
// kFreeFailures failures within kWindowMs are free; each further one locks
// the key for 2^(n-kFreeFailures) seconds, at most kMaxLockMs. A success
// clears the key. Times are monotonic milliseconds. Not thread-safe: owned
// by the HTTP thread.
class LoginLimiter {
 public:
  static constexpr int kFreeFailures = 5;
  static constexpr int64_t kWindowMs = 15 * 60'000;
  static constexpr int64_t kMaxLockMs = 15 * 60'000;

  // Milliseconds until `key` may try again; 0 when it may now.
  int64_t RetryAfterMs(const std::string& key, int64_t now_ms) const;
  void Fail(const std::string& key, int64_t now_ms);
  void Succeed(const std::string& key);
  // Drops entries idle for longer than the window (bounded memory).
  void Prune(int64_t now_ms);
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    int failures = 0;
    int64_t first_ms = 0, locked_until_ms = 0, last_ms = 0;
  };
  std::map<std::string, Entry> entries_;
};

}  // namespace vodd::admin
