// The pure part of vodd's tus 1.0.0 endpoint: header parsing and rendering,
// Upload-Metadata, Upload-Checksum, Upload-Concat, method override and the
// one table of named tus errors with their HTTP status (tusd's error.go).
// No GLib, libsoup or SQLite here, so all of it is unit-tested in isolation.
//
//   curl -i -X POST -H 'Tus-Resumable: 1.0.0' -H 'Upload-Length: 5'
//        -H 'Upload-Metadata: filename aGVsbG8udHh0'
//        http://127.0.0.1:8080/files/
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vodd/core/result.h"

namespace vodd::upload {

inline constexpr std::string_view kTusVersion = "1.0.0";
inline constexpr std::string_view kTusExtensions =
    "creation,creation-with-upload,creation-defer-length,expiration,checksum,"
    "termination,concatenation";
inline constexpr std::string_view kTusChecksumAlgorithms = "sha1,sha256,md5";
inline constexpr std::string_view kOffsetOctetStream =
    "application/offset+octet-stream";
inline constexpr size_t kUploadIdHexLen = 32;
inline constexpr size_t kMaxMetadataKeys = 16;

// Every error the endpoint answers, each with one HTTP status.
enum class TusError {
  kUnsupportedVersion,   // 412 Tus-Resumable missing or not 1.0.0
  kInvalidLength,        // 400 Upload-Length not a strict integer
  kMissingLength,        // 400 neither Upload-Length nor Upload-Defer-Length
  kAmbiguousLength,      // 400 both given
  kInvalidDeferLength,   // 400 Upload-Defer-Length other than 1
  kLengthChange,         // 400 a known length cannot change
  kLengthBelowOffset,    // 400 declared length smaller than the offset
  kInvalidOffset,        // 400 Upload-Offset missing or not a strict integer
  kInvalidMetadata,      // 400 bad Upload-Metadata
  kMetadataTooLarge,     // 400 Upload-Metadata over the configured size
  kUnsupportedChecksum,  // 400 algorithm not supported
  kInvalidChecksum,      // 400 malformed Upload-Checksum
  kChecksumMismatch,     // 460 digest did not match; chunk discarded
  kInvalidConcat,        // 400 malformed Upload-Concat
  kConcatLength,         // 400 final upload with Upload-Length
  kPartialNotFinished,   // 400 final upload over an unfinished partial
  kConcatFinal,          // 403 PATCH on a final upload
  kInvalidContentType,   // 415 PATCH without offset+octet-stream
  kOffsetMismatch,       // 409 Upload-Offset differs from the upload's
  kTooLarge,             // 413 upload bigger than Tus-Max-Size
  kRequestTooLarge,      // 413 body bigger than the rest of the upload
  kNotFound,             // 404 no such upload
  kGone,                 // 410 terminated or expired
  kLocked,               // 423 another request holds the upload
  kUnauthorized,         // 401 missing or bad token
  kForbidden,            // 403 token lacks the scope
  kComplete,             // 403 DELETE of a complete upload (its video's now)
  kMethodNotAllowed,     // 405
  kNoSpace,              // 507 disk below the free-space floor
  kReadTimeout,          // 408 idle timeout while reading the body
  kStorage,              // 500 a write or fdatasync failed (EIO…); logged
  kInternal,             // 500 anything unmapped; detail logged, not sent
};

// The server's own failures (5xx): their detail goes to the log.
inline bool IsServerFault(TusError e) {
  return e == TusError::kInternal || e == TusError::kStorage;
}

struct TusErrorInfo {
  int status;
  std::string_view code;     // "ERR_OFFSET_MISMATCH"; metric label
  std::string_view message;  // sent to the client
};
const TusErrorInfo& Info(TusError e);
// Maps a module Error (catalog, storage) to the tus error a client sees.
TusError FromError(const Error& e);
// All entries, for tests that provoke each one.
const std::vector<TusError>& AllTusErrors();

// The request method after X-HTTP-Method-Override (uppercased when present).
std::string EffectiveMethod(std::string_view method,
                            std::string_view override_value);

// Tus-Resumable check: ok for "1.0.0"; OPTIONS never needs it; HEAD and GET
// are lenient when it is absent (browsers, debugging).
bool VersionAcceptable(std::string_view method,
                       const std::optional<std::string>& value);

// Strict decimal header integers (no sign, no exponent, fits int64).
Result<int64_t> ParseLengthHeader(std::string_view v);  // kInvalidArgument

// Upload-Length / Upload-Defer-Length of a creation POST. `length` empty
// means deferred. Errors carry a TusError via ParseCreationLength's out.
struct CreationLength {
  std::optional<int64_t> length;
};
std::optional<TusError> ParseCreationLength(
    const std::optional<std::string>& length,
    const std::optional<std::string>& defer, CreationLength* out);

// Upload-Metadata: "key base64,key2 base64,flag". Keys are [A-Za-z0-9_.-]+,
// unique, at most kMaxMetadataKeys; values must be valid padded base64.
struct MetadataPair {
  std::string key;
  std::string value;  // decoded bytes: untrusted display data
  bool operator==(const MetadataPair&) const = default;
};
using Metadata = std::vector<MetadataPair>;
std::optional<TusError> ParseMetadata(std::string_view header, size_t max_bytes,
                                      Metadata* out);
std::string RenderMetadata(const Metadata& m);
// Value of `key`, or "".
std::string MetadataValue(const Metadata& m, std::string_view key);

// Upload-Checksum: "<algo> <base64 digest>".
enum class ChecksumAlgo { kSha1, kSha256, kMd5 };
struct Checksum {
  ChecksumAlgo algo;
  std::string digest;  // raw bytes
};
std::optional<TusError> ParseChecksum(std::string_view header, Checksum* out);
size_t DigestSize(ChecksumAlgo a);

// Upload-Concat: "partial" or "final;<url> <url>…". URLs may be absolute or
// relative; each must name an upload under `base_path` ("/files/"). Ids are
// validated lowercase hex.
struct Concat {
  enum class Kind { kPartial, kFinal } kind = Kind::kPartial;
  std::vector<std::string> parts;  // final only: upload ids in order
};
std::optional<TusError> ParseConcat(std::string_view header,
                                    std::string_view base_path, Concat* out);

// The id from a request path "/files/<id>"; nullopt for the collection
// ("/files" or "/files/"). Sets *bad for anything that is not a well-formed
// id (traversal, uppercase, length), which the handler answers 404.
std::optional<std::string> UploadIdFromPath(std::string_view path,
                                            std::string_view base_path,
                                            bool* bad);

// RFC 4648 base64 (standard alphabet, padded). Decode is strict.
std::string Base64Encode(std::string_view bytes);
std::optional<std::string> Base64Decode(std::string_view text);
// base64url without padding (tokens).
std::string Base64UrlEncode(std::string_view bytes);

}  // namespace vodd::upload
