// Admin users, sessions and one-time setup tokens (tables admin_users,
// admin_sessions, admin_setup_tokens), plus the catalog queries only the
// admin page needs (video search, metadata edits, stats).
//
// Only hashes are stored: Argon2id strings for passwords (made by the caller,
// src/admin/auth), SHA-256 of session ids and setup tokens.
//
// Threading: mutations run on the writer (catalog::Writer), inside its
// transaction; reads on any connection of the calling thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vodd/catalog/db.h"
#include "vodd/catalog/jobs.h"
#include "vodd/catalog/videos.h"

namespace vodd::catalog {

struct AdminUser {
  std::string name;
  std::string password_hash;
  int64_t created_at = 0, updated_at = 0;
};

// Creates the user or replaces its password, and drops all of its sessions
// (a password change logs every browser out).
Status UpsertAdminUser(Db& db, const std::string& name,
                       const std::string& password_hash, int64_t now_ms);
Result<std::optional<AdminUser>> GetAdminUser(Db& db, const std::string& name);
Result<int64_t> CountAdminUsers(Db& db);

struct AdminSession {
  std::string id_sha256;  // 32 raw bytes
  std::string user;
  std::string csrf_token;
  int64_t created_at = 0, last_seen_at = 0;
  std::string ip, user_agent;
};
Status InsertSession(Db& db, const AdminSession& s);
Result<std::optional<AdminSession>> GetSession(Db& db,
                                               const std::string& id_sha256);
Status TouchSession(Db& db, const std::string& id_sha256, int64_t now_ms);
Status DeleteSession(Db& db, const std::string& id_sha256);
// Sessions idle since before `idle_before` or created before
// `created_before`. Returns how many were deleted.
Result<int> DeleteExpiredSessions(Db& db, int64_t idle_before,
                                  int64_t created_before);

// Replaces every setup token with this one.
Status ReplaceSetupToken(Db& db, const std::string& token_sha256,
                         int64_t now_ms, int64_t expires_at);
// Consumes the token if it matches and has not expired; true on success.
Result<bool> ConsumeSetupToken(Db& db, const std::string& token_sha256,
                               int64_t now_ms);

// Videos matching `query` (substring of title, description, filename or id;
// empty: all) and `state` (empty: any), newest first, with the total count.
struct VideoPage {
  std::vector<Video> items;
  int64_t total = 0;
};
Result<VideoPage> SearchVideos(Db& db, const std::string& query,
                               const std::string& state, int limit,
                               int64_t offset);
// Sets the fields that are present. kNotFound for an unknown video.
struct VideoUpdate {
  std::optional<std::string> title, description, playback_policy;
};
Status UpdateVideoMeta(Db& db, const std::string& id, const VideoUpdate& u,
                       int64_t now_ms);
// A job with its video's title ('' once the video is gone), for listings.
struct JobWithTitle {
  Job job;
  std::string video_title;
};
// Every job of a video, newest first (the latest 100).
Result<std::vector<JobWithTitle>> ListJobsOfVideo(Db& db,
                                                  const std::string& video_id);
// Jobs in `states` (empty: any), latest activity first.
Result<std::vector<JobWithTitle>> ListJobsWithTitles(
    Db& db, const std::vector<std::string>& states, int limit, int64_t offset);

// Numbers for the dashboard.
struct AdminStats {
  std::map<std::string, int64_t> videos_by_state;
  int64_t jobs_done_last_hour = 0, jobs_done_last_day = 0;
  int64_t jobs_failed_last_day = 0;
  int64_t media_seconds_last_day = 0;  // duration of videos ready in 24 h
  std::vector<int64_t> done_per_hour;  // 24 buckets, oldest first
  int64_t uploads_receiving = 0;
};
Result<AdminStats> LoadAdminStats(Db& db, int64_t now_ms);

// The settings table (key "section.key").
Result<std::map<std::string, std::string>> LoadSettings(Db& db);
Status PutSetting(Db& db, const std::string& key, const std::string& value,
                  int64_t now_ms);
Status DeleteSetting(Db& db, const std::string& key);

}  // namespace vodd::catalog
