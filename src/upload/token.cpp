#include "vodd/upload/token.h"

#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "vodd/core/ids.h"
#include "vodd/upload/tus.h"

namespace vodd::upload {
namespace {

void InitSodium() {
  // sodium_init is idempotent and thread-safe; -1 means no usable RNG.
  if (sodium_init() < 0) std::abort();
}

bool IsB64UrlChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

}  // namespace

NewToken GenerateToken() {
  InitSodium();
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  std::string secret = Base64UrlEncode(
      std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
  sodium_memzero(raw, sizeof raw);
  NewToken t;
  t.id = RandomHex(kTokenIdLen / 2);
  t.text = std::string(kTokenPrefix) + t.id + "_" + secret;
  t.secret_sha256 = HashSecret(secret);
  return t;
}

std::optional<ParsedToken> ParseToken(std::string_view text) {
  if (text.size() != kTokenPrefix.size() + kTokenIdLen + 1 + kTokenSecretLen) {
    return std::nullopt;
  }
  if (text.substr(0, kTokenPrefix.size()) != kTokenPrefix) return std::nullopt;
  std::string_view id = text.substr(kTokenPrefix.size(), kTokenIdLen);
  if (!IsLowerHex(id, kTokenIdLen)) return std::nullopt;
  if (text[kTokenPrefix.size() + kTokenIdLen] != '_') return std::nullopt;
  std::string_view secret = text.substr(kTokenPrefix.size() + kTokenIdLen + 1);
  if (!std::all_of(secret.begin(), secret.end(), IsB64UrlChar))
    return std::nullopt;
  return ParsedToken{std::string(id), std::string(secret)};
}

std::optional<std::string> BearerToken(std::string_view authorization) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size()) return std::nullopt;
  for (size_t i = 0; i < kBearer.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
        std::tolower(static_cast<unsigned char>(kBearer[i]))) {
      return std::nullopt;
    }
  }
  std::string_view t = authorization.substr(kBearer.size());
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  if (t.empty()) return std::nullopt;
  return std::string(t);
}

std::string HashSecret(std::string_view secret) {
  InitSodium();
  unsigned char out[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(out, reinterpret_cast<const unsigned char*>(secret.data()),
                     secret.size());
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

bool HashesEqual(std::string_view a, std::string_view b) {
  if (a.size() != crypto_hash_sha256_BYTES ||
      b.size() != crypto_hash_sha256_BYTES) {
    return false;
  }
  return crypto_verify_32(reinterpret_cast<const unsigned char*>(a.data()),
                          reinterpret_cast<const unsigned char*>(b.data())) ==
         0;
}

}  // namespace vodd::upload
