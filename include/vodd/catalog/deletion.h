// Deleting a video: rows and media go together. The order makes a crash at
// any point resumable:
//
//   MarkVideoDeleting (state 'deleting', its jobs cancelled; the origin stops
//   serving it) ─► caller removes media and source ─► DeleteVideoRows
//
// At startup ListDeletingVideos names the deletions to finish. The file side
// lives in pipeline::DeleteVideo (this module builds no paths).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vodd/catalog/db.h"
#include "vodd/core/result.h"

namespace vodd::catalog {

// Writer only. kNotFound for an unknown video. Idempotent for a video that
// is already 'deleting'. Returns its source_path (relative to data_dir).
Result<std::string> MarkVideoDeleting(Db& db, const std::string& video_id,
                                      int64_t now_ms);
// Writer only. Deletes the video and (by cascade) its jobs, renditions,
// segments, keyframes and thumbnails. Only a 'deleting' video is deleted;
// kFailedPrecondition otherwise.
Status DeleteVideoRows(Db& db, const std::string& video_id);
// Videos left in 'deleting' (by a crash) with their source paths.
Result<std::vector<std::pair<std::string, std::string>>> ListDeletingVideos(
    Db& db);

// The current published version of `video_id` (0 when none yet), or nullopt
// when the video is unknown or being deleted. The startup sweep keeps
// RetainedVersions (media.h): this one plus retired versions in grace.
Result<std::optional<int64_t>> ReferencedVersion(Db& db,
                                                 const std::string& video_id);

}  // namespace vodd::catalog
