#include "vodd/catalog/media.h"

#include "vodd/catalog/webhooks.h"

#include <fmt/format.h>

#include <limits>

namespace vodd::catalog {

Status PublishVersion(Db& db, const PublishedVersion& p, int64_t now_ms) {
  // The version being replaced keeps its rows (and media) for the grace
  // period; CollectRetiredVersions removes them after it.
  TRY_ASSIGN(Stmt retire,
             db.Prepare("INSERT OR IGNORE INTO "
                        "retired_versions(video_id,version,retired_at,"
                        "duration_ms,published_at) "
                        "SELECT id,version,?3,COALESCE(duration_ms,0),"
                        "COALESCE(ready_at,updated_at) FROM videos WHERE "
                        "id=?1 AND version>0 AND version<>?2"));
  retire.Bind(1, p.video_id).Bind(2, p.version).Bind(3, now_ms);
  TRY(retire.Run());
  TRY_ASSIGN(
      Stmt rin,
      db.Prepare("INSERT INTO "
                 "renditions(video_id,version,name,kind,codecs,width,height,"
                 "frame_rate_num,frame_rate_den,sample_rate,channels,language,"
                 "timescale,"
                 "bandwidth_peak,bandwidth_avg,init_size,init_hash) "
                 "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?"
                 "16,?17) RETURNING id"));
  TRY_ASSIGN(
      Stmt sin,
      db.Prepare("INSERT INTO "
                 "segments(rendition_id,number,start_time,duration,size,hash) "
                 "VALUES(?1,?2,?3,?4,?5,?6)"));
  TRY_ASSIGN(
      Stmt kin,
      db.Prepare("INSERT INTO "
                 "keyframes(rendition_id,segment_number,time,offset,length) "
                 "VALUES(?1,?2,?3,?4,?5)"));
  for (const auto& r : p.renditions) {
    rin.Bind(1, p.video_id).Bind(2, p.version).Bind(3, r.name).Bind(4, r.kind);
    rin.Bind(5, r.codecs);
    if (r.kind == "video") {
      rin.Bind(6, r.width).Bind(7, r.height).Bind(8, r.frame_rate_num);
      rin.Bind(9, r.frame_rate_den).BindNull(10).BindNull(11).BindNull(12);
    } else {
      rin.BindNull(6).BindNull(7).BindNull(8).BindNull(9).Bind(10,
                                                               r.sample_rate);
      rin.Bind(11, r.channels)
          .Bind(12, r.language.empty() ? "und" : r.language);
    }
    rin.Bind(13, r.timescale)
        .Bind(14, r.bandwidth_peak)
        .Bind(15, r.bandwidth_avg);
    rin.Bind(16, r.init_size).Bind(17, r.init_hash);
    TRY_ASSIGN(bool row, rin.Step());
    if (!row)
      return MakeError(ErrorCode::kInternal, "rendition insert returned no id");
    int64_t rid = rin.Int(0);
    rin.Reset();
    for (const auto& s : r.segments) {
      sin.Bind(1, rid)
          .Bind(2, s.number)
          .Bind(3, s.start_time)
          .Bind(4, s.duration);
      sin.Bind(5, s.size).Bind(6, s.hash);
      TRY(sin.Run());
    }
    for (const auto& k : r.keyframes) {
      kin.Bind(1, rid)
          .Bind(2, k.segment_number)
          .Bind(3, k.time)
          .Bind(4, k.offset);
      kin.Bind(5, k.length);
      TRY(kin.Run());
    }
  }
  if (p.thumbnails) {
    const auto& t = *p.thumbnails;
    TRY_ASSIGN(Stmt tin,
               db.Prepare("INSERT OR REPLACE INTO "
                          "thumbnails(video_id,version,poster_hash,poster_size,"
                          "sprite_hash,sprite_size,interval_ms,tile_width,tile_"
                          "height,columns,count) "
                          "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)"));
    tin.Bind(1, p.video_id).Bind(2, p.version).Bind(3, t.poster_hash);
    tin.Bind(4, t.poster_size).Bind(5, t.sprite_hash).Bind(6, t.sprite_size);
    tin.Bind(7, t.interval_ms).Bind(8, t.tile_width).Bind(9, t.tile_height);
    tin.Bind(10, t.columns).Bind(11, t.count);
    TRY(tin.Run());
  }
  // The video's size is its largest rung's (portrait stays portrait);
  // audio-only videos have none.
  const Rendition* top = nullptr;
  for (const auto& r : p.renditions) {
    if (r.kind == "video" &&
        (!top || r.width * r.height > top->width * top->height)) {
      top = &r;
    }
  }
  TRY_ASSIGN(Stmt up, db.Prepare("UPDATE videos SET state='ready', version=?2, "
                                 "duration_ms=?3, error=NULL, width=?5, "
                                 "height=?6, ready_at=?4, updated_at=?4 "
                                 "WHERE id=?1"));
  up.Bind(1, p.video_id)
      .Bind(2, p.version)
      .Bind(3, p.duration_ms)
      .Bind(4, now_ms);
  if (top) {
    up.Bind(5, top->width).Bind(6, top->height);
  } else {
    up.BindNull(5).BindNull(6);
  }
  TRY(up.Run());
  if (db.Changes() != 1) {
    return MakeError(ErrorCode::kNotFound, "video " + p.video_id + " is gone");
  }
  TRY(EnqueueWebhookEvent(db, "video.ready",
                          {{"video_id", p.video_id},
                           {"version", p.version},
                           {"duration_ms", p.duration_ms}},
                          now_ms));
  return Ok();
}

namespace {

// The header of a retired version `version` of `video_id` retired after
// `retired_after_ms`, if its video is still live (not failed or being
// deleted). Its duration and publish time were kept at retirement: the
// video row describes the current version.
Result<std::optional<PublishedVersion>> RetiredHeader(
    Db& db, const std::string& video_id, int64_t version,
    int64_t retired_after_ms) {
  TRY_ASSIGN(Stmt s,
             db.Prepare("SELECT v.playback_policy,r.duration_ms,r.published_at,"
                        "r.retired_at "
                        "FROM retired_versions r JOIN "
                        "videos v ON v.id=r.video_id WHERE r.video_id=?1 AND "
                        "r.version=?2 AND r.retired_at>?3 AND v.state IN "
                        "('ready','processing')"));
  s.Bind(1, video_id).Bind(2, version).Bind(3, retired_after_ms);
  TRY_ASSIGN(bool row, s.Step());
  if (!row) return std::optional<PublishedVersion>();
  PublishedVersion p;
  p.video_id = video_id;
  p.version = version;
  p.playback_policy = s.Text(0);
  p.duration_ms = s.Int(1);
  p.published_at = s.Int(2);
  p.retired_at = s.Int(3);
  return std::optional<PublishedVersion>(std::move(p));
}

Result<std::optional<PublishedVersion>> LoadVersion(Db& db,
                                                    const std::string& video_id,
                                                    int64_t version,
                                                    int64_t retired_after_ms) {
  TRY_ASSIGN(Stmt vs, db.Prepare("SELECT version, COALESCE(duration_ms,0), "
                                 "COALESCE(ready_at,updated_at), "
                                 "playback_policy FROM videos WHERE id=?1 AND "
                                 "state='ready' AND version>0"));
  vs.Bind(1, video_id);
  TRY_ASSIGN(bool vrow, vs.Step());
  PublishedVersion p;
  bool retired = false;
  if (vrow && (version == 0 || version == vs.Int(0))) {
    p.video_id = video_id;
    p.version = vs.Int(0);
    p.duration_ms = vs.Int(1);
    p.published_at = vs.Int(2);
    p.playback_policy = vs.Text(3);
  } else if (version > 0) {
    TRY_ASSIGN(auto header,
               RetiredHeader(db, video_id, version, retired_after_ms));
    if (!header) return std::optional<PublishedVersion>();
    p = std::move(*header);
    retired = true;
  } else {
    return std::optional<PublishedVersion>();
  }

  TRY_ASSIGN(
      Stmt rs,
      db.Prepare(
          "SELECT id,name,kind,codecs,COALESCE(width,0),COALESCE(height,0),"
          "COALESCE(frame_rate_num,0),COALESCE(frame_rate_den,1),COALESCE("
          "sample_rate,0),"
          "COALESCE(channels,0),COALESCE(language,''),timescale,bandwidth_peak,"
          "bandwidth_avg,init_size,init_hash FROM renditions WHERE video_id=?1 "
          "AND "
          "version=?2 ORDER BY kind DESC, height DESC, bandwidth_avg DESC, "
          "name"));
  rs.Bind(1, video_id).Bind(2, p.version);
  while (true) {
    TRY_ASSIGN(bool row, rs.Step());
    if (!row) break;
    Rendition r;
    r.id = rs.Int(0);
    r.name = rs.Text(1);
    r.kind = rs.Text(2);
    r.codecs = rs.Text(3);
    r.width = rs.Int(4);
    r.height = rs.Int(5);
    r.frame_rate_num = rs.Int(6);
    r.frame_rate_den = rs.Int(7);
    r.sample_rate = rs.Int(8);
    r.channels = rs.Int(9);
    r.language = rs.Text(10);
    r.timescale = rs.Int(11);
    r.bandwidth_peak = rs.Int(12);
    r.bandwidth_avg = rs.Int(13);
    r.init_size = rs.Int(14);
    r.init_hash = rs.Text(15);
    p.renditions.push_back(std::move(r));
  }
  TRY_ASSIGN(Stmt ss, db.Prepare("SELECT number,start_time,duration,size,hash "
                                 "FROM segments WHERE rendition_id=?1 "
                                 "ORDER BY number"));
  TRY_ASSIGN(Stmt ks, db.Prepare("SELECT segment_number,time,offset,length "
                                 "FROM keyframes WHERE rendition_id=?1 "
                                 "ORDER BY time"));
  for (auto& r : p.renditions) {
    ss.Bind(1, r.id);
    while (true) {
      TRY_ASSIGN(bool row, ss.Step());
      if (!row) break;
      r.segments.push_back(
          {ss.Int(0), ss.Int(1), ss.Int(2), ss.Int(3), ss.Text(4)});
    }
    ss.Reset();
    ks.Bind(1, r.id);
    while (true) {
      TRY_ASSIGN(bool row, ks.Step());
      if (!row) break;
      r.keyframes.push_back({ks.Int(0), ks.Int(1), ks.Int(2), ks.Int(3)});
    }
    ks.Reset();
  }
  // Rows collected in another transaction since the header was read cannot
  // happen (one snapshot), but a legacy retired row may have none.
  if (retired && p.renditions.empty()) return std::optional<PublishedVersion>();
  TRY_ASSIGN(Stmt ts, db.Prepare("SELECT "
                                 "poster_hash,poster_size,sprite_hash,sprite_"
                                 "size,interval_ms,tile_width,"
                                 "tile_height,columns,count FROM thumbnails "
                                 "WHERE video_id=?1 AND version=?2"));
  ts.Bind(1, video_id).Bind(2, p.version);
  TRY_ASSIGN(bool trow, ts.Step());
  if (trow) {
    p.thumbnails =
        Thumbnails{ts.Text(0), ts.Int(1), ts.Text(2), ts.Int(3), ts.Int(4),
                   ts.Int(5),  ts.Int(6), ts.Int(7),  ts.Int(8)};
  }
  return std::optional<PublishedVersion>(std::move(p));
}

}  // namespace

Result<std::optional<PublishedVersion>> LoadPublished(
    Db& db, const std::string& video_id, int64_t version) {
  return LoadVersion(db, video_id, version,
                     std::numeric_limits<int64_t>::min());
}

Result<std::optional<PublishedVersion>> LoadPublished(
    Db& db, const std::string& video_id, int64_t version, int64_t now_ms,
    int64_t grace_ms) {
  return LoadVersion(db, video_id, version, now_ms - grace_ms);
}

Result<std::vector<VersionRef>> ListExpiredVersions(Db& db, int64_t now_ms,
                                                    int64_t grace_ms,
                                                    int limit) {
  TRY_ASSIGN(Stmt s, db.Prepare("SELECT video_id,version FROM "
                                "retired_versions WHERE retired_at<=?1 "
                                "ORDER BY retired_at, video_id, version "
                                "LIMIT ?2"));
  s.Bind(1, now_ms - grace_ms).Bind(2, static_cast<int64_t>(limit));
  std::vector<VersionRef> out;
  while (true) {
    TRY_ASSIGN(bool row, s.Step());
    if (!row) break;
    out.push_back({s.Text(0), s.Int(1)});
  }
  return out;
}

Result<bool> DeleteRetiredVersion(Db& db, const VersionRef& v) {
  // Only a retired version that is not (again) the current one.
  TRY_ASSIGN(Stmt check,
             db.Prepare("SELECT 1 FROM retired_versions r WHERE "
                        "r.video_id=?1 AND r.version=?2 AND NOT EXISTS "
                        "(SELECT 1 FROM videos v WHERE v.id=r.video_id AND "
                        "v.version=r.version)"));
  check.Bind(1, v.video_id).Bind(2, v.version);
  TRY_ASSIGN(bool retired, check.Step());
  if (!retired) return false;
  for (const char* sql :
       {"DELETE FROM renditions WHERE video_id=?1 AND version=?2",
        "DELETE FROM thumbnails WHERE video_id=?1 AND version=?2",
        "DELETE FROM retired_versions WHERE video_id=?1 AND version=?2"}) {
    TRY_ASSIGN(Stmt d, db.Prepare(sql));  // segments, keyframes: cascade
    d.Bind(1, v.video_id).Bind(2, v.version);
    TRY(d.Run());
  }
  return true;
}

Result<std::optional<std::vector<int64_t>>> RetainedVersions(
    Db& db, const std::string& video_id) {
  TRY_ASSIGN(Stmt s,
             db.Prepare("SELECT state,version FROM videos WHERE id=?1"));
  s.Bind(1, video_id);
  TRY_ASSIGN(bool row, s.Step());
  if (!row || s.Text(0) == "deleting")
    return std::optional<std::vector<int64_t>>();
  std::vector<int64_t> out{s.Int(1)};
  TRY_ASSIGN(Stmt r, db.Prepare("SELECT version FROM retired_versions WHERE "
                                "video_id=?1 ORDER BY version"));
  r.Bind(1, video_id);
  while (true) {
    TRY_ASSIGN(bool more, r.Step());
    if (!more) break;
    if (r.Int(0) != out.front()) out.push_back(r.Int(0));
  }
  return std::optional<std::vector<int64_t>>(std::move(out));
}

}  // namespace vodd::catalog
