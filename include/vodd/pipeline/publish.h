// Atomic publish of a job's output, the startup sweep, and video deletion:
// the file-system half of "a video is never visible half-published".
//
// Publish order (each step durable before the next):
//   worker writes staging/<job>-<token>/ → FsyncTree(staging)
//   → [writer transaction: fence check → rename to media/<video>/<version>/
//      → fsync media/<video>/ → CompleteJob + PublishVersion → COMMIT]
// A crash after the rename and before COMMIT leaves an unreferenced version
// folder; RecoverStorage removes it (and every staging folder) at startup.
#pragma once

#include <cstdint>
#include <string>

#include "vodd/catalog/db.h"
#include "vodd/catalog/jobs.h"
#include "vodd/catalog/media_types.h"
#include "vodd/catalog/writer.h"
#include "vodd/storage/storage.h"

namespace vodd::pipeline {

// Checks that every file `published` names exists under `dir` with the
// recorded size (init.mp4 and <n>.m4s per rendition, poster.jpg and
// sprite.jpg with thumbnails) and that rendition names are plain folder
// names. kDataLoss naming the first mismatch. Any thread.
Status VerifyStagedOutput(const std::string& dir,
                          const catalog::PublishedVersion& published);

// The writer-transaction body of a publish (run it through Writer::Call):
// checks the lease, renames `staging` to the next version folder of the
// job's video, completes the job and publishes the version. On an error
// after the rename the folder is moved back to `staging`. Returns the
// published version number. kConflict when the lease is no longer held
// (nothing renamed).
Result<int64_t> PublishStaged(catalog::Db& db, const storage::Layout& layout,
                              const catalog::LeaseRef& lease,
                              catalog::PublishedVersion published,
                              const std::string& staging, int64_t now_ms);

// At startup, before any job runs: removes every staging folder, finishes
// deletions left in 'deleting', and removes media folders the catalog does
// not reference (unknown videos, versions other than the current one).
// Blocks on the writer; call from a non-HTTP thread or before the loop runs.
Status RecoverStorage(catalog::Writer& writer, const storage::Layout& layout);

// Deletes a video with its media and ingested source: mark 'deleting' →
// remove files → delete rows. A crash in between is finished by
// RecoverStorage. Blocks on the writer (not for the HTTP thread).
// kNotFound for an unknown video.
Status DeleteVideo(catalog::Writer& writer, const storage::Layout& layout,
                   const std::string& video_id, int64_t now_ms);

}  // namespace vodd::pipeline
