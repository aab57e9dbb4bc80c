// Atomic publish of a job's output, the startup sweep, and video deletion:
// the file-system half of "a video is never visible half-published".
//
// Publish order (each step durable before the next):
//   worker writes staging/<job>-<token>/ → FsyncTree(staging)
//   → [writer transaction: fence check → rename to media/<video>/<version>/
//      → fsync media/<video>/ → CompleteJob + PublishVersion → COMMIT]
// A crash after the rename and before COMMIT leaves an unreferenced version
// folder; RecoverStorage removes it (and every staging folder) at startup.
// The version replaced by the publish is retired, not removed: its rows and
// folder stay (servable) for origin.version_grace_s, then
// CollectRetiredVersions deletes the rows and after their COMMIT the folder.
//
// Split groups: a chunk or audio job's output is kept, not published:
//   staging → FsyncTree → [writer transaction: fence check → rename to
//   work/<parent>/chunk-<i> | audio → fsync → CompleteJob (may queue the
//   stitch) → COMMIT]. The stitch reads those folders (WorkerJob::inputs),
//   publishes through PublishStaged like a transcode job, and then
//   work/<parent>/ is removed. RecoverStorage keeps the work folders of
//   groups whose stitch has not published and removes the rest.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vodd/catalog/db.h"
#include "vodd/catalog/jobs.h"
#include "vodd/catalog/media_types.h"
#include "vodd/catalog/writer.h"
#include "vodd/pipeline/worker_protocol.h"
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

// The members a transcode job's SplitPlan becomes: one chunk job per chunk
// (fair deadline: the chunk's end), the audio job when the source has audio
// (deadline: the first chunk's end — it is short work the stitch needs) and
// the stitch (deadline: the duration). Pure.
std::vector<catalog::ChildJob> GroupFromPlan(const SplitPlan& plan);

// The writer-transaction body of a chunk or audio job's success (run it
// through Writer::Call): checks the lease, renames `staging` (already
// FsyncTree'd) to the member's work folder, fsyncs the folders and completes
// the job, which queues the stitch when it was the group's last missing
// part. On an error after the rename the folder is moved back. Returns
// whether the stitch became runnable. kConflict when the lease is no longer
// held (nothing renamed).
Result<bool> KeepStagedPart(catalog::Db& db, const storage::Layout& layout,
                            const catalog::LeaseRef& lease,
                            const std::string& staging, int64_t now_ms);

// The stitch job's inputs: the work folders of chunks 0..n-1, then the audio
// folder when the group has an audio job. kFailedPrecondition when a member
// is not done. Any connection (reads only).
Result<std::vector<std::string>> StitchInputs(catalog::Db& db,
                                              const storage::Layout& layout,
                                              int64_t parent_job_id);

// Removes work/<parent>/ (after the group's stitch published). Any thread.
Status RemoveGroupWork(const storage::Layout& layout, int64_t parent_job_id);

// Retired versions (replaced by a newer publish) stay servable for
// `grace_ms` after their retirement; then this removes them: rows first
// (catalog::DeleteRetiredVersion, one transaction per batch), then
// media/<video>/<version>/ (RemoveTree + fsync of media/<video>/). A crash
// between leaves orphan folders that RecoverStorage removes; rows never
// name missing files. Returns how many versions went. Blocks on the
// writer and the disk: call from a non-HTTP thread (the supervisor's
// housekeeping runs it).
Result<int> CollectRetiredVersions(catalog::Writer& writer,
                                   const storage::Layout& layout,
                                   int64_t now_ms, int64_t grace_ms);

// At startup, before any job runs: collects retired versions whose grace is
// over at `now_ms` (unless `version_grace_ms` < 0), removes every staging
// folder, finishes deletions left in 'deleting', removes media folders the
// catalog does not reference (unknown videos, versions other than the
// current one and the retired ones still in grace), and sweeps work/: a
// group whose stitch is not done keeps the folders of its done chunk/audio
// jobs; everything else there is removed.
// Blocks on the writer; call from a non-HTTP thread or before the loop runs.
Status RecoverStorage(catalog::Writer& writer, const storage::Layout& layout,
                      int64_t now_ms = 0, int64_t version_grace_ms = -1);

// Deletes a video with its media, ingested source and work folders: mark
// 'deleting' →
// remove files → delete rows. A crash in between is finished by
// RecoverStorage. Blocks on the writer (not for the HTTP thread).
// kNotFound for an unknown video.
Status DeleteVideo(catalog::Writer& writer, const storage::Layout& layout,
                   const std::string& video_id, int64_t now_ms);

}  // namespace vodd::pipeline
