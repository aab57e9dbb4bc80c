// Videos in the catalog. State machine (transitions name their function):
//
//   CreateVideo ──► uploaded ──(pipeline claims job)──► processing
//                                                         │
//                   ready ◄──(PublishVersion)─────────────┤
//                   failed ◄──(job dead-lettered)─────────┘
//   ReprocessVideo: ready|failed ──► the same state, with a new transcode job;
//     a ready video keeps serving its version until PublishVersion (N+1)
//     replaces it, and stays ready if that job dies.
//   any ──(DeleteVideo: media removed, then rows)──► gone
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vodd/catalog/db.h"

namespace vodd::catalog {

struct Video {
  std::string id;  // 32 lowercase hex
  std::string title, description, state;
  std::string source_path;  // relative to data_dir
  int64_t source_size = 0;
  std::string filename;
  std::optional<int64_t> duration_ms, width, height;
  int64_t version = 0;  // published version, 0 = none
  std::string playback_policy = "public";
  int64_t priority = 0;
  std::optional<std::string> error;
  int64_t created_at = 0, updated_at = 0;
  std::optional<int64_t> ready_at;
};

struct NewVideo {
  std::string id;  // caller-generated (RandomHex(16))
  std::string title, description, filename;
  std::string source_path;  // relative to data_dir
  int64_t source_size = 0;
  std::string playback_policy = "public";
  int64_t priority = 0;
};

// Inserts the video (state 'uploaded') and its 'transcode' job, idempotent on
// the job's key "transcode:<video>:1". Call inside the writer's transaction
// together with whatever completed the source (upload row, ingest).
// Returns the job id.
Result<int64_t> CreateVideoWithJob(Db& db, const NewVideo& v, int64_t now_ms,
                                   int max_attempts);

// Queues a new 'transcode' job for a video that has finished processing
// (ready or failed), so it is made again from its source with today's
// settings (ladder, segment length, …) and published as the next version.
// kNotFound for an unknown or deleting video; kConflict while the video is
// still uploaded or processing, or has a job queued, running or waiting;
// kFailedPrecondition when its source (under `data_root`) is gone. Call
// inside the writer's transaction, off the HTTP thread (it stats the
// source). Returns the job id.
Result<int64_t> ReprocessVideo(Db& db, const std::string& data_root,
                               const std::string& video_id, int64_t now_ms,
                               int max_attempts);

Result<std::optional<Video>> GetVideo(Db& db, const std::string& id);
// Newest first; `limit` ≤ 1000.
Result<std::vector<Video>> ListVideos(Db& db, int limit, int64_t offset);

}  // namespace vodd::catalog
