// A published version with every manifest rendered once, in identity and
// gzip form, each with a strong ETag from its SHA-256. Built on a loader
// thread (BuildVersionEntry), then shared read-only by the HTTP thread.
#pragma once

#include <glib.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vodd/catalog/db.h"
#include "vodd/catalog/media_types.h"
#include "vodd/core/result.h"
#include "vodd/glib/ptr.h"
#include "vodd/storage/storage.h"

namespace vodd::origin {

struct Doc {
  glib::BytesPtr body, gz;    // identity and gzip bytes
  std::string etag, etag_gz;  // "\"<sha256/128 hex>\"" and "\"…-gz\""
};

struct VersionEntry {
  catalog::PublishedVersion v;
  int64_t last_modified_s = 0;
  std::string dir;  // "<video>/<version>", relative to the media root
  Doc master, mpd, stable_master, stable_mpd;
  std::optional<Doc> thumbs_vtt;
  std::map<std::string, size_t> by_name;    // rendition name → index
  std::vector<Doc> media;                   // per rendition
  std::vector<std::optional<Doc>> iframes;  // video renditions with keyframes
};

// Renders and compresses `text`. Pure CPU; any thread.
Doc MakeDoc(const std::string& text);

// Loads version `version` of `video` (0 = current) and renders everything.
// nullptr when the catalog has no such published version. Loader threads.
Result<std::shared_ptr<const VersionEntry>> BuildVersionEntry(
    catalog::Db& db, const storage::Layout& layout, const std::string& video,
    int64_t version, int64_t now_ms, int64_t grace_ms);

// Gzip (RFC 1952) of `data` at the best compression level.
std::string Gzip(std::string_view data);

}  // namespace vodd::origin
