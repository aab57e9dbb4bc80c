// EdgeAuth 2.0 sign/verify. Field order and the hashed string follow the
// reference generator: fields joined by '~', hmac appended last over the
// joined string; the key is hex-decoded before use.
#include "vodd/origin/edgeauth.h"

#include <sodium.h>

#include <array>

#include <fmt/format.h>

#include "vodd/core/ids.h"

namespace vodd::origin {
namespace {

std::optional<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out(hex.size() / 2, '\0');
  size_t bin_len = 0;
  if (sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     hex.data(), hex.size(), nullptr, &bin_len, nullptr) != 0 ||
      bin_len != out.size()) {
    return std::nullopt;
  }
  return out;
}

std::array<unsigned char, crypto_auth_hmacsha256_BYTES> Hmac(
    std::string_view key, std::string_view data) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(
      &st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(
      &st, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  std::array<unsigned char, crypto_auth_hmacsha256_BYTES> mac{};
  crypto_auth_hmacsha256_final(&st, mac.data());
  sodium_memzero(&st, sizeof st);
  return mac;
}

bool IsDecimal(std::string_view s) {
  if (s.empty() || s.size() > 18) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

std::string VideoAcl(std::string_view video_id) {
  return fmt::format("/v/{}/*", video_id);
}

Result<std::string> SignToken(std::string_view hex_key,
                              std::optional<int64_t> start, int64_t expiry,
                              std::string_view acl) {
  auto key = HexDecode(hex_key);
  if (!key || key->empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "signing key must be hex");
  }
  if (acl.empty() || acl.find('~') != std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "ACL must be non-empty without '~'");
  }
  if (start && expiry <= *start) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "token expiry must be after its start");
  }
  std::string fields;
  if (start) fields += fmt::format("st={}~", *start);
  fields += fmt::format("exp={}~acl={}", expiry, acl);
  auto mac = Hmac(*key, fields);
  return fmt::format(
      "{}~hmac={}", fields,
      ToHex(std::string_view(reinterpret_cast<const char*>(mac.data()),
                             mac.size())));
}

const char* TokenVerdictName(TokenVerdict v) {
  switch (v) {
    case TokenVerdict::kOk:
      return "ok";
    case TokenVerdict::kMissing:
      return "missing";
    case TokenVerdict::kMalformed:
      return "malformed";
    case TokenVerdict::kBadMac:
      return "bad_mac";
    case TokenVerdict::kExpired:
      return "expired";
    case TokenVerdict::kNotYetValid:
      return "not_yet_valid";
    case TokenVerdict::kAclMismatch:
      return "acl_mismatch";
  }
  return "malformed";
}

bool AclMatches(std::string_view pattern, std::string_view path) {
  // Iterative glob with backtracking to the last '*'.
  size_t p = 0, s = 0, star = std::string_view::npos, mark = 0;
  while (s < path.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = s;
    } else if (p < pattern.size() && pattern[p] == path[s]) {
      ++p;
      ++s;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      s = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

TokenVerdict VerifyToken(std::string_view token, std::string_view path,
                         const VerifyOptions& opts) {
  if (token.empty()) return TokenVerdict::kMissing;
  if (token.size() > 4096) return TokenVerdict::kMalformed;
  static constexpr std::array<std::string_view, 6> kOrder = {
      "st", "exp", "acl", "id", "data", "hmac"};
  std::optional<int64_t> st, exp;
  std::string_view acl, hmac_hex;
  size_t next_field = 0;
  size_t signed_len = 0;  // bytes before "~hmac="
  size_t pos = 0;
  while (pos <= token.size()) {
    size_t tilde = token.find('~', pos);
    std::string_view field = token.substr(pos, tilde == std::string_view::npos
                                                   ? std::string_view::npos
                                                   : tilde - pos);
    size_t eq = field.find('=');
    if (eq == std::string_view::npos) return TokenVerdict::kMalformed;
    std::string_view name = field.substr(0, eq), value = field.substr(eq + 1);
    size_t idx = next_field;
    while (idx < kOrder.size() && kOrder[idx] != name) ++idx;
    if (idx == kOrder.size())
      return TokenVerdict::kMalformed;  // unknown,
                                        // repeated or
                                        // out of order
    next_field = idx + 1;
    if (name == "st" || name == "exp") {
      if (!IsDecimal(value)) return TokenVerdict::kMalformed;
      (name == "st" ? st : exp) = *ParseNonNegativeInt(value);
    } else if (name == "acl") {
      if (value.empty()) return TokenVerdict::kMalformed;
      acl = value;
    } else if (name == "hmac") {
      if (!IsLowerHex(value, 64) || tilde != std::string_view::npos) {
        return TokenVerdict::kMalformed;
      }
      hmac_hex = value;
      signed_len = pos == 0 ? 0 : pos - 1;
    }
    if (tilde == std::string_view::npos) break;
    pos = tilde + 1;
  }
  if (!exp || acl.empty() || hmac_hex.empty() || signed_len == 0) {
    return TokenVerdict::kMalformed;
  }
  auto want = HexDecode(hmac_hex);
  if (!want) return TokenVerdict::kMalformed;
  std::string_view signed_part = token.substr(0, signed_len);
  bool mac_ok = false;
  for (const auto& hex_key : opts.hex_keys) {
    if (hex_key.empty()) continue;
    auto key = HexDecode(hex_key);
    if (!key || key->empty()) continue;
    auto mac = Hmac(*key, signed_part);
    // Every key is tried, so timing does not reveal which one matched.
    if (sodium_memcmp(mac.data(), want->data(), mac.size()) == 0) mac_ok = true;
  }
  if (!mac_ok) return TokenVerdict::kBadMac;
  if (opts.now_s > *exp + opts.skew_s) return TokenVerdict::kExpired;
  if (st && opts.now_s < *st - opts.skew_s) return TokenVerdict::kNotYetValid;
  std::string_view rest = acl;
  while (true) {
    size_t bang = rest.find('!');
    if (AclMatches(rest.substr(0, bang), path)) return TokenVerdict::kOk;
    if (bang == std::string_view::npos) break;
    rest.remove_prefix(bang + 1);
  }
  return TokenVerdict::kAclMismatch;
}

}  // namespace vodd::origin
