// Video deletion in two catalog steps around the file removal (see
// deletion.h for the crash-safe order).
#include "vodd/catalog/deletion.h"

#include <fmt/format.h>

#include "vodd/catalog/webhooks.h"

namespace vodd::catalog {

Result<std::string> MarkVideoDeleting(Db& db, const std::string& video_id,
                                      int64_t now_ms) {
  TRY_ASSIGN(Stmt s, db.Prepare("SELECT source_path FROM videos WHERE id=?1"));
  s.Bind(1, video_id);
  TRY_ASSIGN(bool row, s.Step());
  if (!row) return MakeError(ErrorCode::kNotFound, "no video " + video_id);
  std::string source = s.Text(0);
  s.Reset();
  TRY_ASSIGN(
      Stmt jobs,
      db.Prepare(
          "UPDATE jobs SET state='cancelled', lease_owner=NULL, "
          "lease_until=NULL, "
          "last_error='video deleted', finished_at=?2, updated_at=?2 "
          "WHERE video_id=?1 AND state IN ('queued','leased','waiting')"));
  jobs.Bind(1, video_id).Bind(2, now_ms);
  TRY(jobs.Run());
  TRY_ASSIGN(
      Stmt v,
      db.Prepare(
          "UPDATE videos SET state='deleting', updated_at=?2 WHERE id=?1"));
  v.Bind(1, video_id).Bind(2, now_ms);
  TRY(v.Run());
  return source;
}

Status DeleteVideoRows(Db& db, const std::string& video_id) {
  // The event carries the time the deletion was decided (MarkVideoDeleting).
  TRY_ASSIGN(Stmt when, db.Prepare("SELECT updated_at FROM videos WHERE "
                                   "id=?1 AND state='deleting'"));
  when.Bind(1, video_id);
  TRY_ASSIGN(bool marked, when.Step());
  int64_t marked_at = marked ? when.Int(0) : 0;
  when.Reset();
  TRY_ASSIGN(Stmt s,
             db.Prepare("DELETE FROM videos WHERE id=?1 AND state='deleting'"));
  s.Bind(1, video_id);
  TRY(s.Run());
  if (db.Changes() != 1) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     fmt::format("video {} is not being deleted", video_id));
  }
  TRY(EnqueueWebhookEvent(db, "video.deleted", {{"video_id", video_id}},
                          marked_at));
  return Ok();
}

Result<std::vector<std::pair<std::string, std::string>>> ListDeletingVideos(
    Db& db) {
  TRY_ASSIGN(Stmt s, db.Prepare("SELECT id,source_path FROM videos WHERE "
                                "state='deleting' ORDER BY id"));
  std::vector<std::pair<std::string, std::string>> out;
  while (true) {
    TRY_ASSIGN(bool row, s.Step());
    if (!row) break;
    out.emplace_back(s.Text(0), s.Text(1));
  }
  return out;
}

Result<std::optional<int64_t>> ReferencedVersion(Db& db,
                                                 const std::string& video_id) {
  TRY_ASSIGN(Stmt s,
             db.Prepare("SELECT state,version FROM videos WHERE id=?1"));
  s.Bind(1, video_id);
  TRY_ASSIGN(bool row, s.Step());
  if (!row || s.Text(0) == "deleting") return std::optional<int64_t>();
  return std::optional<int64_t>(s.Int(1));
}

}  // namespace vodd::catalog
