// tus uploads in the catalog. The row is the durable state of an upload: its
// offset is the number of bytes fdatasync'ed to uploads/<id>. State machine
// (transitions name their function; the handler in src/upload drives them):
//
//   InsertUpload ─► receiving ──(CompleteUpload: + video + job, one txn)──►
//   complete
//                      │  └──(SetUploadOffset: durable bytes, length once)──┘
//                      ├──(SetUploadState "terminated": DELETE)──► terminated
//                      └──(SetUploadState "expired": sweeper)────► expired
//
// All functions run on the writer thread (inside its transaction) or on a
// reader connection (Get/List).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vodd/catalog/db.h"
#include "vodd/catalog/videos.h"

namespace vodd::catalog {

struct UploadRow {
  std::string id;  // 32 lowercase hex
  std::string state = "receiving";
  std::optional<int64_t> length;  // nullopt while deferred
  int64_t offset = 0;
  std::string metadata;                     // validated Upload-Metadata header
  std::optional<std::string> concat;        // "partial" | "final"
  std::optional<std::string> concat_parts;  // final: space-separated ids
  std::optional<std::string> token_id;
  std::optional<std::string> video_id;
  int64_t created_at = 0, updated_at = 0;
  std::optional<int64_t> expires_at, completed_at;
};

// Errors: kAlreadyExists on a duplicate id, kIo.
Status InsertUpload(Db& db, const UploadRow& row);
Result<std::optional<UploadRow>> GetUpload(Db& db, const std::string& id);
Result<std::vector<UploadRow>> ListUploads(Db& db);
// Durable offset (and, once, the length) of a receiving upload. The offset
// never moves backwards here. Errors: kNotFound if not receiving.
Status SetUploadOffset(Db& db, const std::string& id, int64_t offset,
                       std::optional<int64_t> length, int64_t now_ms,
                       std::optional<int64_t> expires_at);
// Truncates the recorded offset (startup reconciliation after data loss).
Status ResetUploadOffset(Db& db, const std::string& id, int64_t offset,
                         int64_t now_ms);
// Marks a receiving upload complete at `offset` (== length) and, when
// `video` is set, creates the video and its job in the same transaction.
// Idempotent: an already-complete upload returns its existing video id.
// Errors: kNotFound, kConflict (terminated/expired).
Result<std::optional<std::string>> CompleteUpload(
    Db& db, const std::string& id, int64_t offset,
    const std::optional<NewVideo>& video, int64_t now_ms, int max_attempts);
// receiving → terminated | expired.
Status SetUploadState(Db& db, const std::string& id, const std::string& state,
                      int64_t now_ms);

// A complete partial upload whose bytes went into a final upload:
// complete → terminated (its file is removed after the commit).
Status RetirePartialUpload(Db& db, const std::string& id, int64_t now_ms);

}  // namespace vodd::catalog
