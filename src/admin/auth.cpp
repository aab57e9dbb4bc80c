// Password hashing, tokens, cookies and signatures; see vodd/admin/auth.h.
#include "vodd/admin/auth.h"
#include "vodd/core/strings.h"

#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include <fmt/format.h>

#include "vodd/core/ids.h"

namespace vodd::admin {
namespace {

void InitSodium() {
  if (sodium_init() < 0) std::abort();  // no usable RNG: cannot go on safely
}

bool IsB64Url(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

std::string_view Trim(std::string_view s) { return TrimOws(s); }

}  // namespace

Result<std::string> HashPassword(std::string_view password) {
  InitSodium();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(),
                        crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return MakeError(ErrorCode::kInternal, "crypto_pwhash_str: out of memory");
  }
  return std::string(out);
}

bool VerifyPassword(std::string_view hash, std::string_view password) {
  InitSodium();
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  std::string h(hash);  // NUL-terminated copy
  return crypto_pwhash_str_verify(h.c_str(), password.data(),
                                  password.size()) == 0;
}

std::optional<std::string> PasswordProblem(std::string_view password) {
  if (password.size() < kMinPasswordLength) {
    return fmt::format("must be at least {} characters", kMinPasswordLength);
  }
  if (password.size() > kMaxPasswordLength) {
    return fmt::format("must be at most {} characters", kMaxPasswordLength);
  }
  return std::nullopt;
}

bool ValidUserName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  if (!std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

std::string Sha256(std::string_view data) {
  InitSodium();
  unsigned char out[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(out, reinterpret_cast<const unsigned char*>(data.data()),
                     data.size());
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

bool SecureEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string RandomToken() {
  InitSodium();
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  char out[sodium_base64_ENCODED_LEN(32,
                                     sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(out, sizeof out, raw, sizeof raw,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw, sizeof raw);
  return out;
}

bool LooksLikeToken(std::string_view s) {
  return s.size() == 43 && std::all_of(s.begin(), s.end(), IsB64Url);
}

std::optional<std::string> CookieValue(std::string_view header,
                                       std::string_view name) {
  while (!header.empty()) {
    size_t semi = header.find(';');
    std::string_view pair = Trim(header.substr(0, semi));
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos && Trim(pair.substr(0, eq)) == name) {
      std::string_view v = Trim(pair.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
        v = v.substr(1, v.size() - 2);
      }
      return std::string(v);
    }
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return std::nullopt;
}

std::string SessionCookie(std::string_view value, bool secure,
                          int64_t max_age_s) {
  std::string c = fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict",
                              secure ? kSecureSessionCookie : kSessionCookie,
                              max_age_s < 0 ? "" : value);
  if (secure) c += "; Secure";
  if (max_age_s < 0) {
    c += "; Max-Age=0";
  } else if (max_age_s > 0) {
    c += fmt::format("; Max-Age={}", max_age_s);
  }
  return c;
}

std::string WebhookSignature(std::string_view secret, int64_t unix_s,
                             std::string_view body) {
  InitSodium();
  std::string t = std::to_string(unix_s);
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(
      &st, reinterpret_cast<const unsigned char*>(secret.data()),
      secret.size());
  crypto_auth_hmacsha256_update(
      &st, reinterpret_cast<const unsigned char*>(t.data()), t.size());
  crypto_auth_hmacsha256_update(&st,
                                reinterpret_cast<const unsigned char*>("."), 1);
  crypto_auth_hmacsha256_update(
      &st, reinterpret_cast<const unsigned char*>(body.data()), body.size());
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&st, mac);
  return fmt::format(
      "t={},v1={}", t,
      ToHex(std::string_view(reinterpret_cast<const char*>(mac), sizeof mac)));
}

int64_t LoginLimiter::RetryAfterMs(const std::string& key,
                                   int64_t now_ms) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return 0;
  return std::max<int64_t>(0, it->second.locked_until_ms - now_ms);
}

void LoginLimiter::Fail(const std::string& key, int64_t now_ms) {
  Entry& e = entries_[key];
  if (e.failures == 0 || now_ms - e.first_ms > kWindowMs) {
    if (e.locked_until_ms <= now_ms) e = Entry{0, now_ms, 0, now_ms};
  }
  ++e.failures;
  e.last_ms = now_ms;
  if (e.failures > kFreeFailures) {
    int shift = std::min(e.failures - kFreeFailures, 20);
    int64_t lock = std::min<int64_t>(int64_t{1000} << shift, kMaxLockMs);
    e.locked_until_ms = now_ms + lock;
  }
}

void LoginLimiter::Succeed(const std::string& key) { entries_.erase(key); }

void LoginLimiter::Prune(int64_t now_ms) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (now_ms - it->second.last_ms > kWindowMs &&
        it->second.locked_until_ms <= now_ms) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace vodd::admin
