// The origin's URL grammar. Every path part is checked against a strict
// grammar after decoding percent-escapes exactly once; nothing from a URL
// becomes a filesystem path without passing through here.
//
//   /v/{video}/master.m3u8 | manifest.mpd                 current version
//   /v/{video}/{version}/master.m3u8 | manifest.mpd | thumbs.vtt
//                        | sprite.jpg | poster.jpg
//   /v/{video}/{version}/{rendition}/index.m3u8 | iframes.m3u8 | init.mp4
//                                   | {n}.m4s
//
// video: 32 lowercase hex; version: 1..999999999 without leading zeros;
// rendition: [a-z0-9_]{1,32}; n: 1..999999999 without leading zeros.
// Pure: no GLib, libsoup or SQLite. Any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vodd::origin {

enum class ObjectKind {
  kMaster,     // master.m3u8
  kMpd,        // manifest.mpd
  kMedia,      // {rendition}/index.m3u8
  kIFrames,    // {rendition}/iframes.m3u8
  kInit,       // {rendition}/init.mp4
  kSegment,    // {rendition}/{n}.m4s
  kThumbsVtt,  // thumbs.vtt
  kSprite,     // sprite.jpg
  kPoster,     // poster.jpg
};

struct ObjectPath {
  std::string video;
  int64_t version = 0;  // 0: the stable URL of the current version
  std::string rendition;
  int64_t segment = 0;  // kSegment only
  ObjectKind kind = ObjectKind::kMaster;
};

enum class PathError {
  kNotFound,  // well-formed but no such object in the grammar → 404
  kBad,  // traversal attempt, bad escape, NUL, '/', '\' inside a part → 400
};

struct PathResult {
  std::optional<ObjectPath> object;
  PathError error = PathError::kNotFound;  // when !object
};

enum class Escapes {
  kDecodeOnce,      // `path` is the raw request target: decode %XX once
  kAlreadyDecoded,  // a server decoded it once already: any '%' left is a
                    // second layer of escaping and rejected as kBad
};

// Parses a request path, e.g. "/v/0123…/1/v720/3.m4s". Query strings are not
// part of `path`. libsoup 3 decodes (and dot-normalizes) the request target
// before handlers run, so the server passes kAlreadyDecoded.
PathResult ParseObjectPath(std::string_view path,
                           Escapes escapes = Escapes::kDecodeOnce);

// Decodes %XX escapes once. nullopt on a malformed escape ("%4", "%zz").
std::optional<std::string> PercentDecode(std::string_view s);

// The file of `p` relative to its version's media folder:
// "v720/3.m4s", "v720/init.mp4", "poster.jpg", "sprite.jpg". Empty for
// manifests (they are rendered, never read from disk).
std::string MediaFileName(const ObjectPath& p);

}  // namespace vodd::origin
