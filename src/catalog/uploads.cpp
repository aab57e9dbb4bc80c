#include "vodd/catalog/uploads.h"

#include "vodd/catalog/webhooks.h"

#include <fmt/format.h>

namespace vodd::catalog {
namespace {

constexpr const char* kUploadColumns =
    "id,state,length,offset,metadata,concat,concat_parts,token_id,video_id,"
    "created_at,"
    "updated_at,expires_at,completed_at";

UploadRow ReadUpload(const Stmt& s) {
  UploadRow r;
  r.id = s.Text(0);
  r.state = s.Text(1);
  r.length = s.OptInt(2);
  r.offset = s.Int(3);
  r.metadata = s.Text(4);
  r.concat = s.OptText(5);
  r.concat_parts = s.OptText(6);
  r.token_id = s.OptText(7);
  r.video_id = s.OptText(8);
  r.created_at = s.Int(9);
  r.updated_at = s.Int(10);
  r.expires_at = s.OptInt(11);
  r.completed_at = s.OptInt(12);
  return r;
}

}  // namespace

Status InsertUpload(Db& db, const UploadRow& r) {
  TRY_ASSIGN(Stmt s, db.Prepare(fmt::format(
                         "INSERT INTO uploads({}) "
                         "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
                         kUploadColumns)));
  s.Bind(1, r.id).Bind(2, r.state).Bind(3, r.length).Bind(4, r.offset);
  s.Bind(5, r.metadata)
      .Bind(6, r.concat)
      .Bind(7, r.concat_parts)
      .Bind(8, r.token_id);
  s.Bind(9, r.video_id).Bind(10, r.created_at).Bind(11, r.updated_at);
  s.Bind(12, r.expires_at).Bind(13, r.completed_at);
  auto st = s.Run();
  if (!st && st.error().code == ErrorCode::kConflict) {
    return MakeError(ErrorCode::kAlreadyExists, "upload exists: " + r.id);
  }
  return st;
}

Result<std::optional<UploadRow>> GetUpload(Db& db, const std::string& id) {
  TRY_ASSIGN(Stmt s,
             db.Prepare(fmt::format("SELECT {} FROM uploads WHERE id=?1",
                                    kUploadColumns)));
  s.Bind(1, id);
  TRY_ASSIGN(bool row, s.Step());
  if (!row) return std::optional<UploadRow>();
  return std::optional<UploadRow>(ReadUpload(s));
}

Result<std::vector<UploadRow>> ListUploads(Db& db) {
  TRY_ASSIGN(Stmt s, db.Prepare(fmt::format(
                         "SELECT {} FROM uploads ORDER BY created_at",
                         kUploadColumns)));
  std::vector<UploadRow> out;
  while (true) {
    TRY_ASSIGN(bool row, s.Step());
    if (!row) break;
    out.push_back(ReadUpload(s));
  }
  return out;
}

Status SetUploadOffset(Db& db, const std::string& id, int64_t offset,
                       std::optional<int64_t> length, int64_t now_ms,
                       std::optional<int64_t> expires_at) {
  TRY_ASSIGN(Stmt s,
             db.Prepare("UPDATE uploads SET offset=max(offset,?2), "
                        "length=coalesce(length,?3), "
                        "updated_at=?4, expires_at=coalesce(?5,expires_at) "
                        "WHERE id=?1 AND state='receiving'"));
  s.Bind(1, id).Bind(2, offset).Bind(3, length).Bind(4, now_ms).Bind(
      5, expires_at);
  TRY(s.Run());
  if (db.Changes() == 0)
    return MakeError(ErrorCode::kNotFound, "no receiving upload " + id);
  return Ok();
}

Status ResetUploadOffset(Db& db, const std::string& id, int64_t offset,
                         int64_t now_ms) {
  TRY_ASSIGN(Stmt s, db.Prepare("UPDATE uploads SET offset=?2, updated_at=?3 "
                                "WHERE id=?1 AND state='receiving'"));
  s.Bind(1, id).Bind(2, offset).Bind(3, now_ms);
  return s.Run();
}

Result<std::optional<std::string>> CompleteUpload(
    Db& db, const std::string& id, int64_t offset,
    const std::optional<NewVideo>& video, int64_t now_ms, int max_attempts) {
  TRY_ASSIGN(auto current, GetUpload(db, id));
  if (!current) return MakeError(ErrorCode::kNotFound, "no upload " + id);
  if (current->state == "complete") return current->video_id;
  if (current->state != "receiving") {
    return MakeError(ErrorCode::kConflict,
                     "upload " + id + " is " + current->state);
  }
  if (video) {
    TRY(CreateVideoWithJob(db, *video, now_ms, max_attempts));
    TRY(EnqueueWebhookEvent(db, "upload.completed",
                            {{"upload_id", id},
                             {"video_id", video->id},
                             {"title", video->title},
                             {"filename", video->filename},
                             {"size", offset}},
                            now_ms));
  }
  TRY_ASSIGN(Stmt s,
             db.Prepare("UPDATE uploads SET state='complete', offset=?2, "
                        "length=?2, video_id=?3, "
                        "updated_at=?4, completed_at=?4, expires_at=NULL WHERE "
                        "id=?1 AND state='receiving'"));
  std::optional<std::string> video_id;
  if (video) video_id = video->id;
  s.Bind(1, id).Bind(2, offset).Bind(3, video_id).Bind(4, now_ms);
  TRY(s.Run());
  return video_id;
}

Status SetUploadState(Db& db, const std::string& id, const std::string& state,
                      int64_t now_ms) {
  TRY_ASSIGN(
      Stmt s,
      db.Prepare("UPDATE uploads SET state=?2, updated_at=?3, expires_at=NULL "
                 "WHERE id=?1 AND state='receiving'"));
  s.Bind(1, id).Bind(2, state).Bind(3, now_ms);
  TRY(s.Run());
  if (db.Changes() == 0)
    return MakeError(ErrorCode::kNotFound, "no receiving upload " + id);
  return Ok();
}

Status RetirePartialUpload(Db& db, const std::string& id, int64_t now_ms) {
  TRY_ASSIGN(
      Stmt s,
      db.Prepare("UPDATE uploads SET state='terminated', updated_at=?2 "
                 "WHERE id=?1 AND state='complete' AND concat='partial'"));
  s.Bind(1, id).Bind(2, now_ms);
  TRY(s.Run());
  if (db.Changes() == 0)
    return MakeError(ErrorCode::kConflict, "partial not complete: " + id);
  return Ok();
}

}  // namespace vodd::catalog
