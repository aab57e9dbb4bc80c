// Akamai EdgeAuth 2.0 (Auth Token 2.0) playback tokens, ACL form, with
// HMAC-SHA256 and a hex key, exactly as Akamai's reference generators
// (akamai/EdgeAuth-Token-Python edgeauth.py) build them:
//
//   st=<start>~exp=<end>~acl=/v/<video>/*~hmac=<hex of HMAC-SHA256 over
//   everything before "~hmac=">
//
// Pure apart from libsodium (HMAC and constant-time compare); any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vodd/core/result.h"

namespace vodd::origin {

// Builds a token. `start` is emitted as st= when set. Errors:
// kInvalidArgument for a key that is not even-length hex, an ACL containing
// '~', or exp <= st.
Result<std::string> SignToken(std::string_view hex_key,
                              std::optional<int64_t> start, int64_t expiry,
                              std::string_view acl);

// The ACL that covers every object of a video: "/v/<video>/*".
std::string VideoAcl(std::string_view video_id);

enum class TokenVerdict {
  kOk,
  kMissing,      // no token where one is required
  kMalformed,    // fields out of order, duplicated, unknown, bad numbers/hex
  kBadMac,       // no configured key produced this HMAC
  kExpired,      // now > exp + skew
  kNotYetValid,  // now < st - skew
  kAclMismatch,  // the path is outside every ACL entry
};

// The metrics label: ok, missing, malformed, bad_mac, expired,
// not_yet_valid, acl_mismatch.
const char* TokenVerdictName(TokenVerdict v);

struct VerifyOptions {
  std::vector<std::string> hex_keys;  // current first, then previous; empty
                                      // strings are skipped
  int64_t now_s = 0;
  int64_t skew_s = 30;
};

// Verifies `token` for a request of `path` (the URL path, e.g.
// "/v/<video>/1/v720/3.m4s"). Field grammar is strict: optional st, exp,
// acl (entries joined by '!', '*' matches any run of characters), optional
// id and data, then hmac (64 lowercase hex), in that order, each at most
// once. The HMAC is compared in constant time against every key.
TokenVerdict VerifyToken(std::string_view token, std::string_view path,
                         const VerifyOptions& opts);

// True when `path` matches ACL pattern `pattern` ('*' = any run).
bool AclMatches(std::string_view pattern, std::string_view path);

}  // namespace vodd::origin
