#include "vodd/catalog/videos.h"

#include <sys/stat.h>

#include "vodd/catalog/jobs.h"

#include <fmt/format.h>

namespace vodd::catalog {

namespace {
constexpr const char* kVideoColumns =
    "id,title,description,state,source_path,source_size,filename,duration_ms,"
    "width,"
    "height,version,playback_policy,priority,error,created_at,updated_at,ready_"
    "at";

Video ReadVideo(const Stmt& s) {
  Video v;
  v.id = s.Text(0);
  v.title = s.Text(1);
  v.description = s.Text(2);
  v.state = s.Text(3);
  v.source_path = s.Text(4);
  v.source_size = s.Int(5);
  v.filename = s.Text(6);
  v.duration_ms = s.OptInt(7);
  v.width = s.OptInt(8);
  v.height = s.OptInt(9);
  v.version = s.Int(10);
  v.playback_policy = s.Text(11);
  v.priority = s.Int(12);
  v.error = s.OptText(13);
  v.created_at = s.Int(14);
  v.updated_at = s.Int(15);
  v.ready_at = s.OptInt(16);
  return v;
}

// Inserts a queued 'transcode' job for `video_id` under `idem_key`, or
// finds the one already there; returns its id.
Result<int64_t> QueueTranscode(Db& db, const std::string& video_id,
                               const std::string& idem_key, int64_t priority,
                               int64_t source_size, int64_t now_ms,
                               int max_attempts) {
  TRY_ASSIGN(
      Stmt job,
      db.Prepare(
          "INSERT INTO "
          "jobs(kind,video_id,idem_key,payload,state,priority,max_attempts,"
          "run_after,created_at,updated_at,fair_key) "
          "VALUES('transcode',?1,?2,'{}','queued',?3,?4,?5,?5,?5,?6) "
          "ON CONFLICT(idem_key) DO UPDATE SET idem_key=idem_key RETURNING "
          "id"));
  job.Bind(1, video_id).Bind(2, idem_key).Bind(3, priority);
  job.Bind(4, max_attempts).Bind(5, now_ms);
  job.Bind(6, now_ms + EstimatedWorkMs(source_size));
  TRY_ASSIGN(bool row, job.Step());
  if (!row) return MakeError(ErrorCode::kInternal, "job insert returned no id");
  int64_t id = job.Int(0);
  job.Reset();
  return id;
}
}  // namespace

Result<int64_t> CreateVideoWithJob(Db& db, const NewVideo& v, int64_t now_ms,
                                   int max_attempts) {
  TRY_ASSIGN(
      Stmt ins,
      db.Prepare(
          "INSERT INTO "
          "videos(id,title,description,state,source_path,source_size,filename,"
          "playback_policy,priority,created_at,updated_at) "
          "VALUES(?1,?2,?3,'uploaded',?4,?5,?6,?7,?8,?9,?9) ON CONFLICT(id) DO "
          "NOTHING"));
  ins.Bind(1, v.id)
      .Bind(2, v.title)
      .Bind(3, v.description)
      .Bind(4, v.source_path);
  ins.Bind(5, v.source_size).Bind(6, v.filename).Bind(7, v.playback_policy);
  ins.Bind(8, v.priority).Bind(9, now_ms);
  TRY(ins.Run());
  return QueueTranscode(db, v.id, fmt::format("transcode:{}:1", v.id),
                        v.priority, v.source_size, now_ms, max_attempts);
}

Result<int64_t> ReprocessVideo(Db& db, const std::string& data_root,
                               const std::string& video_id, int64_t now_ms,
                               int max_attempts) {
  TRY_ASSIGN(auto video, GetVideo(db, video_id));
  if (!video || video->state == "deleting") {
    return MakeError(ErrorCode::kNotFound, "no such video");
  }
  if (video->state != "ready" && video->state != "failed") {
    return MakeError(ErrorCode::kConflict,
                     fmt::format("video is {}: it can be processed again once "
                                 "its processing has ended",
                                 video->state));
  }
  TRY_ASSIGN(Stmt busy,
             db.Prepare("SELECT id,state FROM jobs WHERE video_id=?1 AND "
                        "state IN ('queued','leased','waiting') LIMIT 1"));
  busy.Bind(1, video_id);
  TRY_ASSIGN(bool active, busy.Step());
  if (active) {
    std::string state = busy.Text(1);
    return MakeError(
        ErrorCode::kConflict,
        state == "waiting"
            ? fmt::format("video has job {} waiting for its group: retry "
                          "the group's failed job instead",
                          busy.Int(0))
            : fmt::format("video has job {} {}", busy.Int(0),
                          state == "leased" ? "running" : state));
  }
  busy.Reset();
  struct stat st {};
  if (stat((data_root + "/" + video->source_path).c_str(), &st) != 0) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "the source file " + video->source_path +
                         " is gone, so the video cannot be made again");
  }
  // The key only has to be new: no two reprocess jobs of a video are active
  // at once (checked above, in this transaction).
  return QueueTranscode(
      db, video_id, fmt::format("transcode:{}:again:{}", video_id, now_ms),
      video->priority, video->source_size, now_ms, max_attempts);
}

Result<std::optional<Video>> GetVideo(Db& db, const std::string& id) {
  TRY_ASSIGN(Stmt s, db.Prepare(fmt::format("SELECT {} FROM videos WHERE id=?1",
                                            kVideoColumns)));
  s.Bind(1, id);
  TRY_ASSIGN(bool row, s.Step());
  if (!row) return std::optional<Video>();
  return std::optional<Video>(ReadVideo(s));
}

Result<std::vector<Video>> ListVideos(Db& db, int limit, int64_t offset) {
  TRY_ASSIGN(Stmt s,
             db.Prepare(fmt::format("SELECT {} FROM videos ORDER BY created_at "
                                    "DESC, id LIMIT ?1 OFFSET ?2",
                                    kVideoColumns)));
  s.Bind(1, std::min(limit, 1000)).Bind(2, offset);
  std::vector<Video> out;
  while (true) {
    TRY_ASSIGN(bool row, s.Step());
    if (!row) break;
    out.push_back(ReadVideo(s));
  }
  return out;
}

}  // namespace vodd::catalog
