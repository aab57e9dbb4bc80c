// Catalog reads and small edits for the admin page and REST API. See
// vodd/catalog/admin.h.
#include <fmt/format.h>

#include "rows.h"
#include "vodd/catalog/admin.h"

namespace vodd::catalog {
namespace {

// A job with its video's title: a subquery after kJobColumns (a join would
// make their unqualified names ambiguous).
std::string JobWithTitleSql(const std::string& where_order_limit) {
  return fmt::format(
      "SELECT {},coalesce((SELECT title FROM videos WHERE "
      "videos.id=jobs.video_id),'') FROM jobs{}",
      kJobColumns, where_order_limit);
}

JobWithTitle ReadJobWithTitle(const Stmt& s) {
  return JobWithTitle{ReadJob(s), s.Text(kJobColumnCount)};
}

// LIKE with the pattern's own wildcards escaped.
std::string LikePattern(const std::string& q) {
  std::string out = "%";
  for (char c : q) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  return out + "%";
}

Result<int64_t> ScalarInt(Db& db, const std::string& sql, int64_t bind1) {
  TRY_ASSIGN(Stmt s, db.Prepare(sql));
  s.Bind(1, bind1);
  TRY_ASSIGN(bool row, s.Step());
  return row && !s.IsNull(0) ? s.Int(0) : 0;
}

}  // namespace

Result<VideoPage> SearchVideos(Db& db, const std::string& query,
                               const std::string& state, int limit,
                               int64_t offset) {
  const std::string where =
      "(?1='' OR title LIKE ?2 ESCAPE '\\' OR description LIKE ?2 ESCAPE '\\' "
      "OR filename LIKE ?2 ESCAPE '\\' OR id=?1) AND (?3='' OR state=?3)";
  VideoPage page;
  {
    TRY_ASSIGN(Stmt s,
               db.Prepare("SELECT count(*) FROM videos WHERE " + where));
    s.Bind(1, query).Bind(2, LikePattern(query)).Bind(3, state);
    TRY_ASSIGN(bool row, s.Step());
    page.total = row ? s.Int(0) : 0;
  }
  TRY_ASSIGN(Stmt s, db.Prepare("SELECT id FROM videos WHERE " + where +
                                " ORDER BY created_at DESC, id LIMIT ?4 "
                                "OFFSET ?5"));
  s.Bind(1, query).Bind(2, LikePattern(query)).Bind(3, state);
  s.Bind(4, limit).Bind(5, offset);
  std::vector<std::string> ids;
  while (true) {
    TRY_ASSIGN(bool row, s.Step());
    if (!row) break;
    ids.push_back(s.Text(0));
  }
  for (const auto& id : ids) {
    TRY_ASSIGN(auto v, GetVideo(db, id));
    if (v) page.items.push_back(std::move(*v));
  }
  return page;
}

Status UpdateVideoMeta(Db& db, const std::string& id, const VideoUpdate& u,
                       int64_t now_ms) {
  TRY_ASSIGN(Stmt s, db.Prepare("UPDATE videos SET title=coalesce(?2,title), "
                                "description=coalesce(?3,description), "
                                "playback_policy=coalesce(?4,playback_policy),"
                                " updated_at=?5 WHERE id=?1 AND "
                                "state<>'deleting'"));
  s.Bind(1, id).Bind(2, u.title).Bind(3, u.description);
  s.Bind(4, u.playback_policy).Bind(5, now_ms);
  TRY(s.Run());
  if (db.Changes() == 0) return MakeError(ErrorCode::kNotFound, "no video");
  return Ok();
}

Result<std::vector<JobWithTitle>> ListJobsOfVideo(Db& db,
                                                  const std::string& video_id) {
  TRY_ASSIGN(Stmt s, db.Prepare(JobWithTitleSql(
                         " WHERE video_id=?1 ORDER BY id DESC LIMIT 100")));
  s.Bind(1, video_id);
  return ReadRows(s, ReadJobWithTitle);
}

Result<std::vector<JobWithTitle>> ListJobsWithTitles(
    Db& db, const std::vector<std::string>& states, int limit, int64_t offset) {
  std::string where;
  for (size_t i = 0; i < states.size(); ++i) {
    where += fmt::format("{}?{}", i ? "," : "", i + 3);
  }
  if (!where.empty()) where = " WHERE state IN (" + where + ")";
  TRY_ASSIGN(Stmt s, db.Prepare(JobWithTitleSql(
                         where + " ORDER BY updated_at DESC, id DESC LIMIT ?1 "
                                 "OFFSET ?2")));
  s.Bind(1, limit).Bind(2, offset);
  for (size_t i = 0; i < states.size(); ++i) {
    s.Bind(static_cast<int>(i + 3), states[i]);
  }
  return ReadRows(s, ReadJobWithTitle);
}

Result<AdminStats> LoadAdminStats(Db& db, int64_t now_ms) {
  AdminStats st;
  {
    TRY_ASSIGN(Stmt s,
               db.Prepare("SELECT state,count(*) FROM videos GROUP BY state"));
    while (true) {
      TRY_ASSIGN(bool row, s.Step());
      if (!row) break;
      st.videos_by_state[s.Text(0)] = s.Int(1);
    }
  }
  constexpr int64_t kHour = 3'600'000;
  const int64_t day_ago = now_ms - 24 * kHour;
  TRY_ASSIGN(st.jobs_done_last_hour,
             ScalarInt(db,
                       "SELECT count(*) FROM jobs WHERE state='done' AND "
                       "finished_at>=?1",
                       now_ms - kHour));
  TRY_ASSIGN(st.jobs_done_last_day,
             ScalarInt(db,
                       "SELECT count(*) FROM jobs WHERE state='done' AND "
                       "finished_at>=?1",
                       day_ago));
  TRY_ASSIGN(st.jobs_failed_last_day,
             ScalarInt(db,
                       "SELECT count(*) FROM jobs WHERE state='dead' AND "
                       "updated_at>=?1",
                       day_ago));
  TRY_ASSIGN(st.media_seconds_last_day,
             ScalarInt(db,
                       "SELECT sum(duration_ms)/1000 FROM videos WHERE "
                       "state='ready' AND ready_at>=?1",
                       day_ago));
  TRY_ASSIGN(st.uploads_receiving,
             ScalarInt(db,
                       "SELECT count(*) FROM uploads WHERE state='receiving' "
                       "AND created_at>=?1",
                       0));
  st.done_per_hour.assign(24, 0);
  TRY_ASSIGN(Stmt s,
             db.Prepare("SELECT (?1-finished_at)/3600000, count(*) "
                        "FROM jobs WHERE state='done' AND "
                        "finished_at>?2 AND finished_at<=?1 GROUP BY 1"));
  s.Bind(1, now_ms).Bind(2, day_ago);
  while (true) {
    TRY_ASSIGN(bool row, s.Step());
    if (!row) break;
    int64_t ago = s.Int(0);
    if (ago >= 0 && ago < 24) st.done_per_hour[23 - ago] = s.Int(1);
  }
  return st;
}

Result<std::map<std::string, std::string>> LoadSettings(Db& db) {
  TRY_ASSIGN(Stmt s, db.Prepare("SELECT key,value FROM settings ORDER BY key"));
  std::map<std::string, std::string> out;
  while (true) {
    TRY_ASSIGN(bool row, s.Step());
    if (!row) break;
    out[s.Text(0)] = s.Text(1);
  }
  return out;
}

Status PutSetting(Db& db, const std::string& key, const std::string& value,
                  int64_t now_ms) {
  TRY_ASSIGN(Stmt s, db.Prepare("INSERT INTO settings(key,value,updated_at) "
                                "VALUES(?1,?2,?3) ON CONFLICT(key) DO UPDATE "
                                "SET value=?2, updated_at=?3"));
  s.Bind(1, key).Bind(2, value).Bind(3, now_ms);
  return s.Run();
}

Status DeleteSetting(Db& db, const std::string& key) {
  TRY_ASSIGN(Stmt s, db.Prepare("DELETE FROM settings WHERE key=?1"));
  s.Bind(1, key);
  return s.Run();
}

}  // namespace vodd::catalog
