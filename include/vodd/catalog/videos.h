// Videos in the catalog. State machine (transitions name their function):
//
//   CreateVideo ──► uploaded ──(pipeline claims job)──► processing
//                                                         │
//                   ready ◄──(PublishVersion)─────────────┤
//                   failed ◄──(job dead-lettered)─────────┘
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

Result<std::optional<Video>> GetVideo(Db& db, const std::string& id);
// Newest first; `limit` ≤ 1000.
Result<std::vector<Video>> ListVideos(Db& db, int limit, int64_t offset);

}  // namespace vodd::catalog
