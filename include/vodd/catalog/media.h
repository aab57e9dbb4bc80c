// Published media of a video version: renditions, their segments and
// keyframes, and thumbnails. The pipeline writes them in one transaction
// (PublishVersion); the origin reads them (LoadPublished) and renders HLS and
// DASH from them. Nobody serves a playlist written by a GStreamer element.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vodd/catalog/db.h"
#include "vodd/catalog/media_types.h"

namespace vodd::catalog {

// Writes renditions/segments/keyframes/thumbnails of `p` and marks the video
// ready at that version. Run inside the writer transaction that also
// completes the job (fencing token checked by the caller).
Status PublishVersion(Db& db, const PublishedVersion& p, int64_t now_ms);

// The published version `version` of `video_id`, or nullopt if there is none
// (unknown video, not ready, or a version other than the current one).
// `version` 0 means the current version.
Result<std::optional<PublishedVersion>> LoadPublished(
    Db& db, const std::string& video_id, int64_t version);

}  // namespace vodd::catalog
