// Published media of a video version: renditions, their segments and
// keyframes, and thumbnails. The pipeline writes them in one transaction
// (PublishVersion); the origin reads them (LoadPublished) and renders HLS and
// DASH from them. Nobody serves a playlist written by a GStreamer element.
//
// Version lifecycle: current ─(next PublishVersion)─► retired (rows and
// media kept, still served) ─(grace over: DeleteRetiredVersion, then the
// pipeline removes media/<video>/<version>/)─► gone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vodd/catalog/db.h"
#include "vodd/catalog/media_types.h"

namespace vodd::catalog {

// Writes renditions/segments/keyframes/thumbnails of `p` and marks the video
// ready at that version. The version it replaces is retired at `now_ms`
// (retired_versions): its rows stay, servable for the grace period, until
// ListExpiredVersions + DeleteRetiredVersion collect them. Run inside the
// writer transaction that also completes the job (fencing token checked by
// the caller).
Status PublishVersion(Db& db, const PublishedVersion& p, int64_t now_ms);

// The published version `version` of `video_id`, or nullopt if there is none.
// `version` 0 means the current version (only a 'ready' video has one). A
// version other than the current one is returned while it is retired and
// its rows are not collected yet, and its video is 'ready' or 'processing'
// (not failed, not being deleted). This form leaves the end of the grace
// period to the collector (rows present = servable).
Result<std::optional<PublishedVersion>> LoadPublished(
    Db& db, const std::string& video_id, int64_t version);
// The same, but a retired version is returned only while
// retired_at + `grace_ms` > `now_ms`, whether collected yet or not.
Result<std::optional<PublishedVersion>> LoadPublished(
    Db& db, const std::string& video_id, int64_t version, int64_t now_ms,
    int64_t grace_ms);

struct VersionRef {
  std::string video_id;
  int64_t version = 0;
  bool operator==(const VersionRef&) const = default;
};

// Retired versions whose grace is over (retired_at + `grace_ms` <=
// `now_ms`), oldest first, at most `limit`.
Result<std::vector<VersionRef>> ListExpiredVersions(Db& db, int64_t now_ms,
                                                    int64_t grace_ms,
                                                    int limit);
// Writer only. Deletes the rows of a retired version (renditions, segments,
// keyframes, thumbnails, its retired_versions row). False (nothing deleted)
// when `v` is not retired or is the video's current version. The caller
// removes its media folder after the COMMIT: rows never name missing files.
Result<bool> DeleteRetiredVersion(Db& db, const VersionRef& v);

// The media versions of `video_id` the catalog references: the current one
// (0 when none yet) first, then every retired version not collected yet;
// nullopt when the video is unknown or being deleted. The startup sweep
// keeps only these folders.
Result<std::optional<std::vector<int64_t>>> RetainedVersions(
    Db& db, const std::string& video_id);

}  // namespace vodd::catalog
