// Pure tus protocol parsing. See vodd/upload/tus.h.
#include "vodd/upload/tus.h"
#include "vodd/core/strings.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>

#include "vodd/core/ids.h"

namespace vodd::upload {
namespace {

// One row per TusError, in enum order.
const std::array<TusErrorInfo, 32> kTable = {{
    {412, "ERR_UNSUPPORTED_VERSION",
     "unsupported Tus-Resumable version; this server speaks 1.0.0"},
    {400, "ERR_INVALID_UPLOAD_LENGTH", "invalid Upload-Length"},
    {400, "ERR_MISSING_UPLOAD_LENGTH",
     "missing Upload-Length or Upload-Defer-Length"},
    {400, "ERR_AMBIGUOUS_UPLOAD_LENGTH",
     "both Upload-Length and Upload-Defer-Length given"},
    {400, "ERR_INVALID_UPLOAD_DEFER_LENGTH", "Upload-Defer-Length must be 1"},
    {400, "ERR_INVALID_UPLOAD_LENGTH_CHANGE",
     "the upload length is already set and cannot change"},
    {400, "ERR_UPLOAD_LENGTH_BELOW_OFFSET",
     "Upload-Length is smaller than the current offset"},
    {400, "ERR_INVALID_OFFSET", "missing or invalid Upload-Offset"},
    {400, "ERR_INVALID_METADATA", "invalid Upload-Metadata"},
    {400, "ERR_METADATA_TOO_LARGE", "Upload-Metadata is too large"},
    {400, "ERR_UNSUPPORTED_CHECKSUM_ALGORITHM",
     "unsupported checksum algorithm"},
    {400, "ERR_INVALID_CHECKSUM", "invalid Upload-Checksum"},
    {460, "ERR_CHECKSUM_MISMATCH",
     "checksum mismatch; the chunk was discarded"},
    {400, "ERR_INVALID_CONCAT", "invalid Upload-Concat"},
    {400, "ERR_CONCAT_WITH_LENGTH",
     "a final upload must not carry Upload-Length"},
    {400, "ERR_UPLOAD_NOT_FINISHED", "a partial upload is not finished"},
    {403, "ERR_MODIFY_FINAL", "a final upload cannot be modified"},
    {415, "ERR_INVALID_CONTENT_TYPE",
     "Content-Type must be application/offset+octet-stream"},
    {409, "ERR_OFFSET_MISMATCH",
     "Upload-Offset does not match the upload's offset"},
    {413, "ERR_MAX_SIZE_EXCEEDED", "upload is larger than Tus-Max-Size"},
    {413, "ERR_REQUEST_TOO_LARGE",
     "request body is larger than the rest of the upload"},
    {404, "ERR_UPLOAD_NOT_FOUND", "upload not found"},
    {410, "ERR_UPLOAD_GONE", "upload was terminated or expired"},
    {423, "ERR_UPLOAD_LOCKED", "upload is busy with another request; retry"},
    {401, "ERR_UNAUTHORIZED", "missing or invalid API token"},
    {403, "ERR_FORBIDDEN", "token is not allowed to do this"},
    {403, "ERR_UPLOAD_COMPLETE",
     "the upload is complete and its file belongs to its video now; delete "
     "the video instead (DELETE /api/v1/videos/{id})"},
    {405, "ERR_METHOD_NOT_ALLOWED", "method not allowed"},
    {507, "ERR_INSUFFICIENT_STORAGE",
     "not enough free disk space; retry later"},
    {408, "ERR_READ_TIMEOUT", "no data received within the idle timeout"},
    {500, "ERR_STORAGE",
     "the server's disk failed (I/O error); bytes past the upload's "
     "offset were not kept: HEAD it and resume from there"},
    {500, "ERR_INTERNAL_SERVER_ERROR", "internal server error"},
}};

constexpr std::string_view kB64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int B64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool IsKeyChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' ||
         c == '-';
}

std::string_view Trim(std::string_view s) { return TrimOws(s); }

std::string ToUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

const TusErrorInfo& Info(TusError e) { return kTable[static_cast<size_t>(e)]; }

const std::vector<TusError>& AllTusErrors() {
  static const std::vector<TusError> all = [] {
    std::vector<TusError> v;
    for (size_t i = 0; i < kTable.size(); ++i)
      v.push_back(static_cast<TusError>(i));
    return v;
  }();
  return all;
}

TusError FromError(const Error& e) {
  switch (e.code) {
    case ErrorCode::kNotFound:
      return TusError::kNotFound;
    case ErrorCode::kGone:
      return TusError::kGone;
    case ErrorCode::kConflict:
      return TusError::kOffsetMismatch;
    case ErrorCode::kTooLarge:
      return TusError::kTooLarge;
    case ErrorCode::kNoSpace:
      return TusError::kNoSpace;
    case ErrorCode::kLocked:
      return TusError::kLocked;
    case ErrorCode::kUnauthenticated:
      return TusError::kUnauthorized;
    case ErrorCode::kPermissionDenied:
      return TusError::kForbidden;
    case ErrorCode::kTimeout:
      return TusError::kReadTimeout;
    case ErrorCode::kIo:
      return TusError::kStorage;
    default:
      return TusError::kInternal;
  }
}

std::string EffectiveMethod(std::string_view method,
                            std::string_view override_value) {
  std::string_view o = Trim(override_value);
  return o.empty() ? ToUpper(method) : ToUpper(o);
}

bool VersionAcceptable(std::string_view method,
                       const std::optional<std::string>& value) {
  if (method == "OPTIONS") return true;
  if (!value) return method == "HEAD" || method == "GET";
  return Trim(*value) == kTusVersion;
}

Result<int64_t> ParseLengthHeader(std::string_view v) {
  auto n = ParseNonNegativeInt(v);
  if (!n)
    return MakeError(ErrorCode::kInvalidArgument, "not a non-negative integer");
  return *n;
}

std::optional<TusError> ParseCreationLength(
    const std::optional<std::string>& length,
    const std::optional<std::string>& defer, CreationLength* out) {
  if (length && defer) return TusError::kAmbiguousLength;
  if (defer) {
    if (*defer != "1") return TusError::kInvalidDeferLength;
    out->length.reset();
    return std::nullopt;
  }
  if (!length) return TusError::kMissingLength;
  auto n = ParseNonNegativeInt(*length);
  if (!n) return TusError::kInvalidLength;
  out->length = *n;
  return std::nullopt;
}

std::optional<TusError> ParseMetadata(std::string_view header, size_t max_bytes,
                                      Metadata* out) {
  out->clear();
  if (header.size() > max_bytes) return TusError::kMetadataTooLarge;
  if (Trim(header).empty()) return std::nullopt;
  size_t start = 0;
  while (start <= header.size()) {
    size_t comma = header.find(',', start);
    std::string_view pair = Trim(header.substr(
        start, comma == std::string_view::npos ? std::string_view::npos
                                               : comma - start));
    size_t space = pair.find(' ');
    std::string_view key = pair.substr(0, space);
    std::string_view value = space == std::string_view::npos
                                 ? std::string_view()
                                 : Trim(pair.substr(space + 1));
    if (key.empty() || !std::all_of(key.begin(), key.end(), IsKeyChar) ||
        value.find(' ') != std::string_view::npos) {
      return TusError::kInvalidMetadata;
    }
    for (const auto& p : *out) {
      if (p.key == key) return TusError::kInvalidMetadata;
    }
    auto decoded = Base64Decode(value);
    if (!decoded) return TusError::kInvalidMetadata;
    out->push_back({std::string(key), std::move(*decoded)});
    if (out->size() > kMaxMetadataKeys) return TusError::kInvalidMetadata;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return std::nullopt;
}

std::string RenderMetadata(const Metadata& m) {
  std::string out;
  for (const auto& p : m) {
    if (!out.empty()) out += ',';
    out += p.key;
    if (!p.value.empty()) {
      out += ' ';
      out += Base64Encode(p.value);
    }
  }
  return out;
}

std::string MetadataValue(const Metadata& m, std::string_view key) {
  for (const auto& p : m) {
    if (p.key == key) return p.value;
  }
  return "";
}

size_t DigestSize(ChecksumAlgo a) {
  switch (a) {
    case ChecksumAlgo::kSha1:
      return 20;
    case ChecksumAlgo::kSha256:
      return 32;
    case ChecksumAlgo::kMd5:
      return 16;
  }
  return 0;
}

std::optional<TusError> ParseChecksum(std::string_view header, Checksum* out) {
  std::string_view h = Trim(header);
  size_t space = h.find(' ');
  if (space == std::string_view::npos || space == 0)
    return TusError::kInvalidChecksum;
  std::string_view algo = h.substr(0, space);
  if (algo == "sha1")
    out->algo = ChecksumAlgo::kSha1;
  else if (algo == "sha256")
    out->algo = ChecksumAlgo::kSha256;
  else if (algo == "md5")
    out->algo = ChecksumAlgo::kMd5;
  else
    return TusError::kUnsupportedChecksum;
  auto digest = Base64Decode(Trim(h.substr(space + 1)));
  if (!digest || digest->size() != DigestSize(out->algo))
    return TusError::kInvalidChecksum;
  out->digest = std::move(*digest);
  return std::nullopt;
}

std::optional<TusError> ParseConcat(std::string_view header,
                                    std::string_view base_path, Concat* out) {
  std::string_view h = Trim(header);
  out->parts.clear();
  if (h == "partial") {
    out->kind = Concat::Kind::kPartial;
    return std::nullopt;
  }
  constexpr std::string_view kFinal = "final;";
  if (h.substr(0, kFinal.size()) != kFinal) return TusError::kInvalidConcat;
  out->kind = Concat::Kind::kFinal;
  std::string_view rest = h.substr(kFinal.size());
  while (!rest.empty()) {
    rest = Trim(rest);
    if (rest.empty()) break;
    size_t sp = rest.find(' ');
    std::string_view url = rest.substr(0, sp);
    rest =
        sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
    // Absolute URLs: drop scheme://authority and keep the path.
    if (size_t scheme = url.find("://"); scheme != std::string_view::npos) {
      size_t slash = url.find('/', scheme + 3);
      if (slash == std::string_view::npos) return TusError::kInvalidConcat;
      url = url.substr(slash);
    }
    bool bad = false;
    auto id = UploadIdFromPath(url, base_path, &bad);
    if (bad || !id) return TusError::kInvalidConcat;
    out->parts.push_back(*id);
  }
  if (out->parts.empty()) return TusError::kInvalidConcat;
  return std::nullopt;
}

std::optional<std::string> UploadIdFromPath(std::string_view path,
                                            std::string_view base_path,
                                            bool* bad) {
  *bad = false;
  std::string_view base = base_path;
  if (!base.empty() && base.back() == '/') base.remove_suffix(1);  // "/files"
  if (path.substr(0, base.size()) != base) {
    *bad = true;
    return std::nullopt;
  }
  std::string_view rest = path.substr(base.size());
  if (rest.empty() || rest == "/") return std::nullopt;
  if (rest.front() != '/') {
    *bad = true;
    return std::nullopt;
  }
  rest.remove_prefix(1);
  if (!IsLowerHex(rest, kUploadIdHexLen)) {
    *bad = true;
    return std::nullopt;
  }
  return std::string(rest);
}

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = (static_cast<uint8_t>(bytes[i]) << 16) |
                 (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                 static_cast<uint8_t>(bytes[i + 2]);
    out += kB64[(n >> 18) & 63];
    out += kB64[(n >> 12) & 63];
    out += kB64[(n >> 6) & 63];
    out += kB64[n & 63];
  }
  size_t rem = bytes.size() - i;
  if (rem == 1) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    out += kB64[(n >> 18) & 63];
    out += kB64[(n >> 12) & 63];
    out += "==";
  } else if (rem == 2) {
    uint32_t n = (static_cast<uint8_t>(bytes[i]) << 16) |
                 (static_cast<uint8_t>(bytes[i + 1]) << 8);
    out += kB64[(n >> 18) & 63];
    out += kB64[(n >> 12) & 63];
    out += kB64[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      char c = text[i + static_cast<size_t>(k)];
      if (c == '=') {
        // Padding only in the last quantum, only in the last two places.
        if (i + 4 != text.size() || k < 2) return std::nullopt;
        v[k] = 0;
        ++pad;
      } else {
        if (pad) return std::nullopt;
        v[k] = B64Value(c);
        if (v[k] < 0) return std::nullopt;
      }
    }
    uint32_t n = (static_cast<uint32_t>(v[0]) << 18) |
                 (static_cast<uint32_t>(v[1]) << 12) |
                 (static_cast<uint32_t>(v[2]) << 6) |
                 static_cast<uint32_t>(v[3]);
    out += static_cast<char>((n >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
    // Non-canonical encodings (stray bits under the padding) are rejected.
    if ((pad == 1 && (n & 0xff)) || (pad == 2 && (n & 0xffff)))
      return std::nullopt;
  }
  return out;
}

std::string Base64UrlEncode(std::string_view bytes) {
  std::string s = Base64Encode(bytes);
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (char& c : s) {
    if (c == '+')
      c = '-';
    else if (c == '/')
      c = '_';
  }
  return s;
}

}  // namespace vodd::upload
