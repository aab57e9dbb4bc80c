// The HTTP rules a CDN relies on, as pure functions: single byte ranges
// (RFC 9110 14.1.2), If-None-Match / If-Range validator comparison (13.1),
// and Accept-Encoding negotiation for gzip. No GLib, libsoup or SQLite; any
// thread.
#pragma once

#include <cstdint>
#include <string_view>

namespace vodd::origin {

enum class RangeKind {
  kNone,           // no Range, a unit other than bytes, a syntax error, or
                   // several ranges: answer 200 with the whole object
  kSatisfiable,    // answer 206 with [first, last]
  kUnsatisfiable,  // answer 416 with Content-Range: bytes */total
};

struct RangeResult {
  RangeKind kind = RangeKind::kNone;
  int64_t first = 0, last = 0;  // inclusive, clamped to total - 1
};

// Parses a Range header against an object of `total` bytes: "bytes=a-b",
// "bytes=a-" and "bytes=-n". Multi-range requests get the whole object.
RangeResult ParseRange(std::string_view header, int64_t total);

// True when If-None-Match `header` ("*" or a list of entity tags, weak or
// strong) matches `etag` (a quoted strong tag) by weak comparison.
bool IfNoneMatchMatches(std::string_view header, std::string_view etag);

// True when a Range may be honoured under If-Range `header`: empty, an
// entity tag strongly equal to `etag`, or an HTTP date equal to
// `last_modified_s`.
bool IfRangeAllows(std::string_view header, std::string_view etag,
                   int64_t last_modified_s);

// True when `accept_encoding` accepts gzip (gzip, x-gzip or *, q > 0).
bool AcceptsGzip(std::string_view accept_encoding);

}  // namespace vodd::origin
