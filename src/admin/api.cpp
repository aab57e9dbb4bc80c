// The REST API endpoints at /api/v1/ (docs/api.md has a curl line for each).
// Each handler runs on the HTTP thread: it validates its input at once and
// hands catalog work to the reader thread or the writer, password work to the
// hashers; Call answers when the result is posted back.
#include <sys/statvfs.h>

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "admin_impl.h"
#include "vodd/catalog/admin.h"
#include "vodd/catalog/deletion.h"
#include "vodd/catalog/jobs.h"
#include "vodd/catalog/media.h"
#include "vodd/catalog/tokens.h"
#include "vodd/catalog/uploads.h"
#include "vodd/catalog/webhooks.h"
#include "vodd/core/ids.h"
#include "vodd/core/log.h"
#include "vodd/origin/edgeauth.h"
#include "vodd/upload/token.h"

namespace vodd::admin {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxTitle = 200;
constexpr size_t kMaxDescription = 5000;
constexpr int64_t kMinSignSeconds = 60;
constexpr int64_t kMaxSignSeconds = 7 * 86'400;
constexpr int64_t kDefaultSignSeconds = 3600;
constexpr size_t kMaxUrl = 2048;
constexpr int kRecentFailures = 10;

Result<std::string> StringField(const json& body, const char* field,
                                size_t max_len, bool required) {
  if (!body.contains(field)) {
    if (required) return tl::unexpected(FieldError(field, "is required"));
    return std::string();
  }
  const json& v = body[field];
  if (!v.is_string()) {
    return tl::unexpected(FieldError(field, "must be a string"));
  }
  std::string s = v.get<std::string>();
  if (s.size() > max_len) {
    return tl::unexpected(
        FieldError(field, fmt::format("must be at most {} bytes", max_len)));
  }
  return s;
}

// Ids from URLs are validated before they touch a query or a path.
Result<std::string> VideoIdParam(const CallPtr& c) {
  const std::string& id = c->req.params.at(0);
  if (!IsLowerHex(id, 32)) {
    return MakeError(ErrorCode::kNotFound, "no such video");
  }
  return id;
}

Result<int64_t> JobIdParam(const CallPtr& c) {
  auto v = ParseNonNegativeInt(c->req.params.at(0));
  if (!v) return MakeError(ErrorCode::kNotFound, "no such job");
  return *v;
}

// Removes a video's media and its source file. Runs on the reader thread
// (file I/O must stay off the HTTP thread).
Status RemoveVideoFiles(const storage::Layout& layout,
                        const std::string& video_id,
                        const std::string& source_path) {
  TRY(storage::RemoveTree(layout.VideoDir(video_id)));
  // source_path is relative to data_dir and written by vodd itself; refuse
  // anything that could leave the data folder all the same.
  if (!source_path.empty() && source_path[0] != '/' &&
      source_path.find("..") == std::string::npos) {
    TRY(storage::RemoveTree(layout.root() + "/" + source_path));
  }
  return Ok();
}

json SessionJson(const Principal& p) {
  return {{"user", p.user}, {"csrf_token", p.csrf_token}};
}

// ---- auth -------------------------------------------------------------------

void AuthStatus(const CallPtr& c) {
  bool logged_in = c->req.who.kind == Principal::Kind::kSession;
  json who = logged_in ? json(c->req.who.user) : json(nullptr);
  c->Read([who](catalog::Db& db) -> Result<json> {
    TRY_ASSIGN(int64_t users, catalog::CountAdminUsers(db));
    return json{{"setup_required", users == 0}, {"user", who}};
  });
}

void AuthSession(const CallPtr& c) { c->Reply(200, SessionJson(c->req.who)); }

// Sets the cookie of a freshly written session and answers with its CSRF
// token.
void ReplyWithSession(const CallPtr& c, const Impl::NewSession& s,
                      int64_t max_age_s) {
  c->SetHeader("Set-Cookie",
               SessionCookie(s.cookie_value, c->req.secure, max_age_s));
  c->Reply(200, json{{"user", s.row.user}, {"csrf_token", s.row.csrf_token}});
}

void Login(const CallPtr& c) {
  auto impl = c->impl().lock();
  auto user = StringField(c->req.body, "user", 64, true);
  auto password =
      StringField(c->req.body, "password", kMaxPasswordLength, true);
  if (!user) return c->ReplyError(user.error());
  if (!password) return c->ReplyError(password.error());
  int64_t mono = impl->clock.NowMonotonicMs();
  std::string ip_key = "ip:" + c->req.ip, user_key = "user:" + *user;
  int64_t wait = std::max(impl->limiter.RetryAfterMs(ip_key, mono),
                          impl->limiter.RetryAfterMs(user_key, mono));
  if (wait > 0) {
    if (impl->logins_limited) impl->logins_limited->Inc();
    c->SetHeader("Retry-After", std::to_string((wait + 999) / 1000));
    return c->ReplyError(
        Error{ErrorCode::kLocked, "too many failed logins; wait and retry"});
  }
  // The stored hash is one indexed read; the Argon2id check is not.
  auto row = catalog::GetAdminUser(*impl->http_db, *user);
  if (!row) return c->ReplyError(row.error());
  std::string hash = *row ? (*row)->password_hash : "";
  std::string pw = *password, name = *user;
  c->Hash(
      [hash, pw]() -> Result<json> {
        // An unknown user costs the same hash as a known one.
        static const std::string kDummy =
            HashPassword("vodd-dummy-password-for-timing").value_or("");
        bool ok =
            VerifyPassword(hash.empty() ? kDummy : hash, pw) && !hash.empty();
        return json{{"ok", ok}};
      },
      [ip_key, user_key, name](CallPtr c2, json r) {
        auto impl2 = c2->impl().lock();
        if (!impl2) return;
        int64_t now_mono = impl2->clock.NowMonotonicMs();
        if (!r["ok"].get<bool>()) {
          impl2->limiter.Fail(ip_key, now_mono);
          impl2->limiter.Fail(user_key, now_mono);
          impl2->limiter.Prune(now_mono);
          if (impl2->logins_failed) impl2->logins_failed->Inc();
          LOG_INFO("admin", "failed login for user {} from {}", name,
                   c2->req.ip);
          return c2->ReplyError(Error{ErrorCode::kUnauthenticated,
                                      "wrong user name or password"});
        }
        impl2->limiter.Succeed(ip_key);
        impl2->limiter.Succeed(user_key);
        if (impl2->logins_ok) impl2->logins_ok->Inc();
        // Rotation: a login always makes a new session id and drops the one
        // the browser had.
        auto s = impl2->MakeSession(name, c2->req);
        std::string old = c2->req.who.session_hash;
        int64_t max_age = impl2->SessionMaxAgeS();
        c2->Write(
            [s, old](catalog::Db& db) -> Result<json> {
              if (!old.empty()) TRY(catalog::DeleteSession(db, old));
              TRY(catalog::InsertSession(db, s.row));
              return json{};
            },
            [s, max_age](CallPtr c3, json) {
              ReplyWithSession(c3, s, max_age);
            });
      });
}

void Setup(const CallPtr& c) {
  auto impl = c->impl().lock();
  auto token = StringField(c->req.body, "token", 64, true);
  auto user = StringField(c->req.body, "user", 64, true);
  auto password =
      StringField(c->req.body, "password", kMaxPasswordLength, true);
  if (!token) return c->ReplyError(token.error());
  if (!user) return c->ReplyError(user.error());
  if (!password) return c->ReplyError(password.error());
  if (!ValidUserName(*user)) {
    return c->ReplyError(FieldError(
        "user", "use 1-64 of a-z 0-9 . _ - starting with a letter or digit"));
  }
  if (auto why = PasswordProblem(*password)) {
    return c->ReplyError(FieldError("password", *why));
  }
  int64_t mono = impl->clock.NowMonotonicMs();
  std::string ip_key = "setup:" + c->req.ip;
  if (int64_t wait = impl->limiter.RetryAfterMs(ip_key, mono); wait > 0) {
    c->SetHeader("Retry-After", std::to_string((wait + 999) / 1000));
    return c->ReplyError(Error{ErrorCode::kLocked, "too many attempts"});
  }
  std::string tok = *token, name = *user, pw = *password;
  c->Hash(
      [pw]() -> Result<json> {
        TRY_ASSIGN(std::string h, HashPassword(pw));
        return json{{"hash", h}};
      },
      [tok, name, ip_key](CallPtr c2, json r) {
        auto impl2 = c2->impl().lock();
        if (!impl2) return;
        auto s = impl2->MakeSession(name, c2->req);
        std::string hash = r["hash"];
        int64_t now = impl2->Now(), max_age = impl2->SessionMaxAgeS();
        c2->Write(
            [tok, name, hash, s, now](catalog::Db& db) -> Result<json> {
              TRY_ASSIGN(bool ok,
                         catalog::ConsumeSetupToken(db, Sha256(tok), now));
              if (!ok) {
                return MakeError(ErrorCode::kUnauthenticated,
                                 "this setup link is invalid, used or "
                                 "expired; run: vodd admin setup-url");
              }
              TRY(catalog::UpsertAdminUser(db, name, hash, now));
              TRY(catalog::InsertSession(db, s.row));
              return json{};
            },
            [s, max_age](CallPtr c3, json) {
              LOG_INFO("admin", "admin user {} created with the setup link",
                       s.row.user);
              ReplyWithSession(c3, s, max_age);
            });
        // A wrong token counts towards the limit only when it was wrong;
        // Finish reports it, so count every attempt instead (cheap, and a
        // real admin needs one).
        impl2->limiter.Fail(ip_key, impl2->clock.NowMonotonicMs());
      });
}

void Logout(const CallPtr& c) {
  std::string hash = c->req.who.session_hash;
  bool secure = c->req.secure;
  c->Write(
      [hash](catalog::Db& db) -> Result<json> {
        TRY(catalog::DeleteSession(db, hash));
        return json{};
      },
      [secure](CallPtr c2, json) {
        c2->SetHeader("Set-Cookie", SessionCookie("", secure, -1));
        c2->NoContent();
      });
}

void ChangePassword(const CallPtr& c) {
  auto impl = c->impl().lock();
  auto current =
      StringField(c->req.body, "current_password", kMaxPasswordLength, true);
  auto next =
      StringField(c->req.body, "new_password", kMaxPasswordLength, true);
  if (!current) return c->ReplyError(current.error());
  if (!next) return c->ReplyError(next.error());
  if (auto why = PasswordProblem(*next)) {
    return c->ReplyError(FieldError("new_password", *why));
  }
  auto row = catalog::GetAdminUser(*impl->http_db, c->req.who.user);
  if (!row) return c->ReplyError(row.error());
  if (!*row) return c->ReplyError(Error{ErrorCode::kUnauthenticated, "gone"});
  std::string old_hash = (*row)->password_hash, cur = *current, nw = *next;
  c->Hash(
      [old_hash, cur, nw]() -> Result<json> {
        if (!VerifyPassword(old_hash, cur)) {
          return tl::unexpected(
              FieldError("current_password", "is not your password"));
        }
        TRY_ASSIGN(std::string h, HashPassword(nw));
        return json{{"hash", h}};
      },
      [](CallPtr c2, json r) {
        auto impl2 = c2->impl().lock();
        if (!impl2) return;
        std::string user = c2->req.who.user, hash = r["hash"];
        auto s = impl2->MakeSession(user, c2->req);
        int64_t now = impl2->Now(), max_age = impl2->SessionMaxAgeS();
        c2->Write(
            [user, hash, s, now](catalog::Db& db) -> Result<json> {
              // Drops every session of the user, this one included; the
              // caller continues with a fresh one.
              TRY(catalog::UpsertAdminUser(db, user, hash, now));
              TRY(catalog::InsertSession(db, s.row));
              return json{};
            },
            [s, max_age](CallPtr c3, json) {
              ReplyWithSession(c3, s, max_age);
            });
      });
}

// ---- videos -----------------------------------------------------------------

const std::set<std::string> kVideoStates = {"uploaded", "processing", "ready",
                                            "failed", "deleting"};

void ListVideos(const CallPtr& c) {
  auto page = ParsePage(c->req.query);
  if (!page) return c->ReplyError(page.error());
  std::string q = c->req.query.count("q") ? c->req.query.at("q") : "";
  std::string state =
      c->req.query.count("state") ? c->req.query.at("state") : "";
  if (!state.empty() && !kVideoStates.count(state)) {
    return c->ReplyError(FieldError(
        "state", "one of uploaded, processing, ready, failed, deleting"));
  }
  if (q.size() > kMaxTitle) {
    return c->ReplyError(FieldError("q", "too long"));
  }
  std::string base = c->req.base;
  Page p = *page;
  c->Read([q, state, p, base](catalog::Db& db) -> Result<json> {
    TRY_ASSIGN(auto vp, catalog::SearchVideos(db, q, state, p.limit, p.offset));
    json items = json::array();
    for (const auto& v : vp.items) items.push_back(VideoJson(v, base));
    return PageJson(std::move(items), p, vp.total);
  });
}

Result<json> VideoDetail(catalog::Db& db, const std::string& id,
                         const std::string& base) {
  TRY_ASSIGN(auto v, catalog::GetVideo(db, id));
  if (!v || v->state == "deleting") {
    return MakeError(ErrorCode::kNotFound, "no such video");
  }
  json j = VideoJson(*v, base);
  json renditions = json::array();
  json thumbs = nullptr;
  if (v->version > 0) {
    TRY_ASSIGN(auto pub, catalog::LoadPublished(db, id, 0));
    if (pub) {
      for (const auto& r : pub->renditions) {
        renditions.push_back(RenditionJson(r));
      }
      if (pub->thumbnails) {
        const auto& t = *pub->thumbnails;
        thumbs = {{"interval_ms", t.interval_ms},
                  {"tile_width", t.tile_width},
                  {"tile_height", t.tile_height},
                  {"columns", t.columns},
                  {"count", t.count}};
      }
    }
  }
  j["renditions"] = renditions;
  j["thumbnails"] = thumbs;
  TRY_ASSIGN(auto jobs, catalog::ListJobsOfVideo(db, id));
  json jj = json::array();
  for (const auto& job : jobs) jj.push_back(JobBriefJson(job));
  j["jobs"] = jj;
  return j;
}

void GetVideo(const CallPtr& c) {
  auto id = VideoIdParam(c);
  if (!id) return c->ReplyError(id.error());
  std::string base = c->req.base;
  c->Read(
      [id = *id, base](catalog::Db& db) { return VideoDetail(db, id, base); });
}

void PatchVideo(const CallPtr& c) {
  auto id = VideoIdParam(c);
  if (!id) return c->ReplyError(id.error());
  catalog::VideoUpdate u;
  const json& b = c->req.body;
  for (const auto& [k, v] : b.items()) {
    if (k != "title" && k != "description" && k != "playback_policy") {
      return c->ReplyError(FieldError(k, "unknown field"));
    }
  }
  if (b.contains("title")) {
    auto t = StringField(b, "title", kMaxTitle, true);
    if (!t) return c->ReplyError(t.error());
    u.title = *t;
  }
  if (b.contains("description")) {
    auto t = StringField(b, "description", kMaxDescription, true);
    if (!t) return c->ReplyError(t.error());
    u.description = *t;
  }
  if (b.contains("playback_policy")) {
    auto t = StringField(b, "playback_policy", 16, true);
    if (!t) return c->ReplyError(t.error());
    if (*t != "public" && *t != "signed") {
      return c->ReplyError(
          FieldError("playback_policy", "must be \"public\" or \"signed\""));
    }
    u.playback_policy = *t;
  }
  auto impl = c->impl().lock();
  int64_t now = impl->Now();
  std::string base = c->req.base;
  c->Write([id = *id, u, now, base](catalog::Db& db) -> Result<json> {
    TRY(catalog::UpdateVideoMeta(db, id, u, now));
    return VideoDetail(db, id, base);
  });
}

void DeleteVideo(const CallPtr& c) {
  auto id = VideoIdParam(c);
  if (!id) return c->ReplyError(id.error());
  auto impl = c->impl().lock();
  int64_t now = impl->Now();
  std::string vid = *id;
  // deleting (jobs cancelled, origin stops serving) → files → rows + event;
  // a crash in between leaves 'deleting', which the startup sweep finishes.
  c->Write(
      [vid, now](catalog::Db& db) -> Result<json> {
        TRY_ASSIGN(std::string source,
                   catalog::MarkVideoDeleting(db, vid, now));
        return json{{"source_path", source}};
      },
      [vid](CallPtr c2, json r) {
        auto impl2 = c2->impl().lock();
        if (!impl2) return;
        std::string source = r["source_path"];
        const storage::Layout& layout = impl2->layout;
        c2->Read(
            [&layout, vid, source](catalog::Db&) -> Result<json> {
              TRY(RemoveVideoFiles(layout, vid, source));
              return json{};
            },
            [vid](CallPtr c3, json) {
              c3->Write(
                  [vid](catalog::Db& db) -> Result<json> {
                    // Also enqueues the video.deleted webhook event.
                    TRY(catalog::DeleteVideoRows(db, vid));
                    return json{};
                  },
                  [](CallPtr c4, json) {
                    if (auto i = c4->impl().lock()) i->sender->Wake();
                    c4->NoContent();
                  });
            });
      });
}

// POST /videos/{id}/reprocess: a new transcode job for a ready or failed
// video, made with the current settings and published as the next version
// (the current one keeps playing until then). 202 with the job.
void ReprocessVideo(const CallPtr& c) {
  auto id = VideoIdParam(c);
  if (!id) return c->ReplyError(id.error());
  auto impl = c->impl().lock();
  int64_t now = impl->Now();
  int max_attempts = impl->settings.effective().pipeline.max_attempts;
  std::string root = impl->layout.root();
  c->Write(
      [vid = *id, now, max_attempts, root](catalog::Db& db) -> Result<json> {
        TRY_ASSIGN(int64_t job_id,
                   catalog::ReprocessVideo(db, root, vid, now, max_attempts));
        TRY_ASSIGN(auto j, catalog::GetJob(db, job_id));
        if (!j) return MakeError(ErrorCode::kInternal, "job vanished");
        return JobJson(*j);
      },
      [](CallPtr c2, json j) { c2->Reply(202, j); });
}

void SignVideo(const CallPtr& c) {
  auto id = VideoIdParam(c);
  if (!id) return c->ReplyError(id.error());
  auto impl = c->impl().lock();
  int64_t ttl = kDefaultSignSeconds;
  if (c->req.body.contains("expires_in_s")) {
    const json& v = c->req.body["expires_in_s"];
    if (!v.is_number_integer() || v.get<int64_t>() < kMinSignSeconds ||
        v.get<int64_t>() > kMaxSignSeconds) {
      return c->ReplyError(FieldError(
          "expires_in_s", fmt::format("must be an integer in {}..{}",
                                      kMinSignSeconds, kMaxSignSeconds)));
    }
    ttl = v.get<int64_t>();
  }
  const auto& o = impl->settings.effective().origin;
  if (o.signing_key.empty()) {
    return c->ReplyError(Error{ErrorCode::kFailedPrecondition,
                               "no playback signing key: set "
                               "origin.signing_key in Settings first"});
  }
  int64_t exp = impl->Now() / 1000 + ttl;
  auto token = origin::SignToken(o.signing_key, std::nullopt, exp,
                                 origin::VideoAcl(*id));
  if (!token) return c->ReplyError(token.error());
  std::string p = fmt::format("{}/v/{}", c->req.base, *id);
  std::string q = fmt::format("?{}={}", o.token_name, *token);
  c->Reply(200, json{{"token", *token},
                     {"expires_at", exp * 1000},
                     {"hls", p + "/master.m3u8" + q},
                     {"dash", p + "/manifest.mpd" + q}});
}

// ---- jobs and uploads -------------------------------------------------------

const std::set<std::string> kJobStates = {"waiting", "queued", "leased",
                                          "done",    "dead",   "cancelled"};

void ListJobs(const CallPtr& c) {
  auto page = ParsePage(c->req.query);
  if (!page) return c->ReplyError(page.error());
  std::vector<std::string> states;
  if (auto it = c->req.query.find("state"); it != c->req.query.end()) {
    size_t start = 0;
    const std::string& s = it->second;
    while (start <= s.size()) {
      size_t comma = s.find(',', start);
      std::string st = s.substr(
          start, (comma == std::string::npos ? s.size() : comma) - start);
      if (!kJobStates.count(st)) {
        return c->ReplyError(FieldError(
            "state",
            "comma-separated list of waiting, queued, leased, done, dead, "
            "cancelled"));
      }
      states.push_back(st);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  Page p = *page;
  c->Read([states, p](catalog::Db& db) -> Result<json> {
    TRY_ASSIGN(auto jobs,
               catalog::ListJobsWithTitles(db, states, p.limit, p.offset));
    json items = json::array();
    for (const auto& j : jobs) items.push_back(JobBriefJson(j));
    return PageJson(std::move(items), p, std::nullopt);
  });
}

void GetJob(const CallPtr& c) {
  auto id = JobIdParam(c);
  if (!id) return c->ReplyError(id.error());
  c->Read([id = *id](catalog::Db& db) -> Result<json> {
    TRY_ASSIGN(auto j, catalog::GetJob(db, id));
    if (!j) return MakeError(ErrorCode::kNotFound, "no such job");
    return JobJson(*j);
  });
}

void JobAction(const CallPtr& c, bool retry) {
  auto id = JobIdParam(c);
  if (!id) return c->ReplyError(id.error());
  auto impl = c->impl().lock();
  int64_t now = impl->Now();
  c->Write([id = *id, now, retry](catalog::Db& db) -> Result<json> {
    if (retry) {
      TRY(catalog::RetryJob(db, id, now));
    } else {
      TRY(catalog::CancelJob(db, id, now));
    }
    TRY_ASSIGN(auto j, catalog::GetJob(db, id));
    if (!j) return MakeError(ErrorCode::kNotFound, "no such job");
    return JobJson(*j);
  });
}

// PATCH /jobs/{id} {"priority": n}: higher runs first; a split group's
// queued and waiting jobs move together (catalog::SetJobPriority).
void PatchJob(const CallPtr& c) {
  auto id = JobIdParam(c);
  if (!id) return c->ReplyError(id.error());
  const json& b = c->req.body;
  for (const auto& [k, v] : b.items()) {
    if (k != "priority") return c->ReplyError(FieldError(k, "unknown field"));
  }
  if (!b.contains("priority")) {
    return c->ReplyError(FieldError("priority", "is required"));
  }
  const json& p = b["priority"];
  if (!p.is_number_integer() || p.get<int64_t>() < catalog::kMinPriority ||
      p.get<int64_t>() > catalog::kMaxPriority) {
    return c->ReplyError(FieldError(
        "priority", fmt::format("must be an integer from {} to {}",
                                catalog::kMinPriority, catalog::kMaxPriority)));
  }
  int64_t priority = p.get<int64_t>();
  auto impl = c->impl().lock();
  int64_t now = impl->Now();
  c->Write([id = *id, priority, now](catalog::Db& db) -> Result<json> {
    TRY(catalog::SetJobPriority(db, id, priority, now));
    TRY_ASSIGN(auto j, catalog::GetJob(db, id));
    if (!j) return MakeError(ErrorCode::kNotFound, "no such job");
    return JobJson(*j);
  });
}

void ListUploads(const CallPtr& c) {
  auto page = ParsePage(c->req.query);
  if (!page) return c->ReplyError(page.error());
  Page p = *page;
  c->Read([p](catalog::Db& db) -> Result<json> {
    TRY_ASSIGN(auto all, catalog::ListUploads(db));
    std::vector<catalog::UploadRow> receiving;
    for (auto& u : all) {
      if (u.state == "receiving") receiving.push_back(std::move(u));
    }
    std::sort(receiving.begin(), receiving.end(),
              [](const auto& a, const auto& b) {
                return a.created_at > b.created_at;
              });
    json items = json::array();
    for (size_t i = static_cast<size_t>(p.offset);
         i < receiving.size() && items.size() < static_cast<size_t>(p.limit);
         ++i) {
      items.push_back(UploadJson(receiving[i]));
    }
    return PageJson(std::move(items), p,
                    static_cast<int64_t>(receiving.size()));
  });
}

void GetUploadRow(const CallPtr& c) {
  const std::string& id = c->req.params.at(0);
  if (!IsLowerHex(id, 32)) {
    return c->ReplyError(Error{ErrorCode::kNotFound, "no such upload"});
  }
  c->Read([id](catalog::Db& db) -> Result<json> {
    TRY_ASSIGN(auto u, catalog::GetUpload(db, id));
    if (!u) return MakeError(ErrorCode::kNotFound, "no such upload");
    return UploadJson(*u);
  });
}

void Stats(const CallPtr& c) {
  auto impl = c->impl().lock();
  std::string root = impl->layout.root();
  int workers = config::EffectiveWorkers(impl->settings.effective().pipeline);
  int64_t now = impl->Now();
  size_t writer_depth = impl->writer.QueueDepth();
  c->Read([root, workers, now, writer_depth](catalog::Db& db) -> Result<json> {
    TRY_ASSIGN(auto counts, catalog::CountJobs(db));
    TRY_ASSIGN(auto st, catalog::LoadAdminStats(db, now));
    TRY_ASSIGN(auto running,
               catalog::ListJobsWithTitles(db, {"leased"}, 100, 0));
    TRY_ASSIGN(auto failed,
               catalog::ListJobsWithTitles(db, {"dead"}, kRecentFailures, 0));
    json run = json::array(), fail = json::array();
    for (const auto& j : running) run.push_back(JobBriefJson(j));
    for (const auto& j : failed) fail.push_back(JobBriefJson(j));
    json disk = nullptr;
    struct statvfs s {};
    if (statvfs(root.c_str(), &s) == 0) {
      disk = {{"total_bytes", static_cast<int64_t>(s.f_blocks) *
                                  static_cast<int64_t>(s.f_frsize)},
              {"free_bytes", static_cast<int64_t>(s.f_bavail) *
                                 static_cast<int64_t>(s.f_frsize)}};
    }
    return json{{"queue_depth", counts["queued"]},
                {"jobs", counts},
                {"workers", workers},
                {"running", run},
                {"recent_failures", fail},
                {"videos", st.videos_by_state},
                {"uploads_in_progress", st.uploads_receiving},
                {"throughput",
                 {{"jobs_done_last_hour", st.jobs_done_last_hour},
                  {"jobs_done_last_day", st.jobs_done_last_day},
                  {"jobs_failed_last_day", st.jobs_failed_last_day},
                  {"media_seconds_last_day", st.media_seconds_last_day},
                  {"done_per_hour", st.done_per_hour}}},
                {"disk", disk},
                {"catalog_writer_queue", writer_depth},
                {"now", now}};
  });
}

// ---- settings ---------------------------------------------------------------

json SettingsJson(const SettingsStore& s) {
  json items = json::array();
  for (const auto& it : s.Items()) {
    items.push_back(json{{"name", it.section + "." + it.key},
                         {"section", it.section},
                         {"key", it.key},
                         {"value", it.value},
                         {"default", it.default_value},
                         {"file_value", it.file_value},
                         {"doc", it.doc},
                         {"live", it.live},
                         {"stored", it.stored},
                         {"secret", it.secret},
                         {"is_set", it.is_set},
                         {"editable", it.editable}});
  }
  return json{{"items", items}};
}

void GetSettings(const CallPtr& c) {
  auto impl = c->impl().lock();
  c->Reply(200, SettingsJson(impl->settings));
}

void PutSettings(const CallPtr& c) {
  auto impl = c->impl().lock();
  const json& b = c->req.body;
  if (!b.contains("values") || !b["values"].is_object()) {
    return c->ReplyError(FieldError(
        "values", "expected an object of \"section.key\": value|null"));
  }
  std::map<std::string, std::optional<std::string>> changes;
  for (const auto& [k, v] : b["values"].items()) {
    if (v.is_null()) {
      changes[k] = std::nullopt;
    } else if (v.is_string()) {
      changes[k] = v.get<std::string>();
    } else if (v.is_number_integer() || v.is_boolean()) {
      changes[k] = v.dump();
    } else {
      return c->ReplyError(FieldError(k,
                                      "must be a string, number, "
                                      "boolean or null"));
    }
  }
  auto next = impl->settings.Validate(changes);
  if (!next) {
    return c->ReplyError(FieldError(next.error().field, next.error().reason));
  }
  std::vector<std::string> restart;
  for (const auto& it : impl->settings.Items()) {
    if (!it.live && changes.count(it.section + "." + it.key)) {
      restart.push_back(it.section + "." + it.key);
    }
  }
  int64_t now = impl->Now();
  auto stored = *next;
  auto before = impl->settings.stored();
  c->Write(
      [stored, before, now](catalog::Db& db) -> Result<json> {
        for (const auto& [k, v] : before) {
          if (!stored.count(k)) TRY(catalog::DeleteSetting(db, k));
        }
        for (const auto& [k, v] : stored) {
          auto it = before.find(k);
          if (it == before.end() || it->second != v) {
            TRY(catalog::PutSetting(db, k, v, now));
          }
        }
        return json{};
      },
      [stored, restart](CallPtr c2, json) {
        auto impl2 = c2->impl().lock();
        if (!impl2) return;
        impl2->settings.Commit(stored);
        json j = SettingsJson(impl2->settings);
        j["restart_required"] = restart;
        c2->Reply(200, j);
      });
}

// ---- tokens -----------------------------------------------------------------

void ListTokens(const CallPtr& c) {
  auto impl = c->impl().lock();
  int64_t now = impl->Now();
  c->Read([now](catalog::Db& db) -> Result<json> {
    TRY_ASSIGN(auto list, catalog::ListTokens(db));
    json items = json::array();
    for (auto it = list.rbegin(); it != list.rend(); ++it) {
      items.push_back(TokenJson(*it, now));
    }
    return json{{"items", items}};
  });
}

void CreateToken(const CallPtr& c) {
  auto impl = c->impl().lock();
  const json& b = c->req.body;
  auto name = StringField(b, "name", 100, false);
  if (!name) return c->ReplyError(name.error());
  std::vector<std::string> scopes;
  if (!b.contains("scopes")) {
    scopes = {"upload"};
  } else if (b["scopes"].is_array()) {
    for (const auto& s : b["scopes"]) {
      if (!s.is_string() || !ValidScope(s.get<std::string>())) {
        return c->ReplyError(FieldError(
            "scopes", "each must be one of upload, catalog:read, admin"));
      }
      scopes.push_back(s.get<std::string>());
    }
  } else {
    return c->ReplyError(FieldError("scopes", "must be an array"));
  }
  if (scopes.empty()) {
    return c->ReplyError(FieldError("scopes", "name at least one scope"));
  }
  int64_t days = 0;
  if (b.contains("expires_days")) {
    if (!b["expires_days"].is_number_integer() ||
        b["expires_days"].get<int64_t>() < 0 ||
        b["expires_days"].get<int64_t>() > 3650) {
      return c->ReplyError(
          FieldError("expires_days", "must be an integer in 0..3650"));
    }
    days = b["expires_days"].get<int64_t>();
  }
  upload::NewToken t = upload::GenerateToken();
  catalog::ApiToken row;
  row.id = t.id;
  row.secret_sha256 = t.secret_sha256;
  row.name = *name;
  for (const auto& s : scopes)
    row.scopes += (row.scopes.empty() ? "" : " ") + s;
  row.created_at = impl->Now();
  if (days > 0) row.expires_at = row.created_at + days * 86'400'000;
  std::string text = t.text;
  c->Write(
      [row](catalog::Db& db) -> Result<json> {
        TRY(catalog::InsertToken(db, row));
        return TokenJson(row, row.created_at);
      },
      [text](CallPtr c2, json j) {
        j["token"] = text;  // shown once
        c2->Reply(201, j);
      });
}

void RevokeToken(const CallPtr& c) {
  const std::string& id = c->req.params.at(0);
  if (!IsLowerHex(id, upload::kTokenIdLen)) {
    return c->ReplyError(Error{ErrorCode::kNotFound, "no such token"});
  }
  auto impl = c->impl().lock();
  int64_t now = impl->Now();
  c->Write(
      [id, now](catalog::Db& db) -> Result<json> {
        TRY_ASSIGN(bool ok, catalog::RevokeToken(db, id, now));
        if (!ok) return MakeError(ErrorCode::kNotFound, "no active token");
        return json{};
      },
      [](CallPtr c2, json) { c2->NoContent(); });
}

// ---- webhooks ---------------------------------------------------------------

void ListWebhooks(const CallPtr& c) {
  c->Read([](catalog::Db& db) -> Result<json> {
    TRY_ASSIGN(auto list, catalog::ListWebhooks(db));
    json items = json::array();
    for (const auto& w : list) items.push_back(WebhookJson(w));
    return json{{"items", items}};
  });
}

void CreateWebhook(const CallPtr& c) {
  auto impl = c->impl().lock();
  const json& b = c->req.body;
  auto url = StringField(b, "url", kMaxUrl, true);
  if (!url) return c->ReplyError(url.error());
  GUri* parsed = g_uri_parse(url->c_str(), G_URI_FLAGS_NONE, nullptr);
  bool ok_url = parsed &&
                (g_strcmp0(g_uri_get_scheme(parsed), "http") == 0 ||
                 g_strcmp0(g_uri_get_scheme(parsed), "https") == 0) &&
                g_uri_get_host(parsed) && *g_uri_get_host(parsed) &&
                !g_uri_get_userinfo(parsed);
  if (parsed) g_uri_unref(parsed);
  if (!ok_url) {
    return c->ReplyError(
        FieldError("url", "must be an absolute http:// or https:// URL"));
  }
  auto desc = StringField(b, "description", 200, false);
  if (!desc) return c->ReplyError(desc.error());
  std::string events;
  if (!b.contains("events")) {
    events = "*";
  } else if (b["events"].is_array() && !b["events"].empty()) {
    for (const auto& e : b["events"]) {
      if (!e.is_string() ||
          (e.get<std::string>() != "*" &&
           !catalog::IsWebhookEventType(e.get<std::string>()))) {
        return c->ReplyError(
            FieldError("events",
                       "each must be \"*\" or one of upload.completed, "
                       "video.ready, video.failed, video.deleted"));
      }
      events += (events.empty() ? "" : " ") + e.get<std::string>();
    }
  } else {
    return c->ReplyError(FieldError("events", "must be a non-empty array"));
  }
  catalog::Webhook w;
  w.id = RandomHex(8);
  w.url = *url;
  w.secret = "whsec_" + RandomToken();
  w.events = events;
  w.description = *desc;
  w.created_at = impl->Now();
  c->Write(
      [w](catalog::Db& db) -> Result<json> {
        TRY(catalog::InsertWebhook(db, w));
        json j = WebhookJson(w);
        j["secret"] = w.secret;  // shown once
        return j;
      },
      [](CallPtr c2, json j) { c2->Reply(201, j); });
}

Result<std::string> WebhookIdParam(const CallPtr& c) {
  const std::string& id = c->req.params.at(0);
  if (!IsLowerHex(id, 16))
    return MakeError(ErrorCode::kNotFound, "no such webhook");
  return id;
}

void DeleteWebhook(const CallPtr& c) {
  auto id = WebhookIdParam(c);
  if (!id) return c->ReplyError(id.error());
  c->Write(
      [id = *id](catalog::Db& db) -> Result<json> {
        TRY_ASSIGN(bool ok, catalog::DeleteWebhook(db, id));
        if (!ok) return MakeError(ErrorCode::kNotFound, "no such webhook");
        return json{};
      },
      [](CallPtr c2, json) { c2->NoContent(); });
}

void TestWebhook(const CallPtr& c) {
  auto id = WebhookIdParam(c);
  if (!id) return c->ReplyError(id.error());
  auto impl = c->impl().lock();
  int64_t now = impl->Now();
  c->Write(
      [id = *id, now](catalog::Db& db) -> Result<json> {
        TRY_ASSIGN(auto w, catalog::GetWebhook(db, id));
        if (!w) return MakeError(ErrorCode::kNotFound, "no such webhook");
        TRY_ASSIGN(std::string event,
                   catalog::EnqueueWebhookEvent(
                       db, "webhook.test",
                       json{{"message", "test event from vodd"}}, now, id));
        return json{{"event_id", event}};
      },
      [](CallPtr c2, json j) {
        if (auto i = c2->impl().lock()) i->sender->Wake();
        c2->Reply(202, j);
      });
}

void ListDeliveries(const CallPtr& c) {
  auto id = WebhookIdParam(c);
  if (!id) return c->ReplyError(id.error());
  auto page = ParsePage(c->req.query);
  if (!page) return c->ReplyError(page.error());
  Page p = *page;
  c->Read([id = *id, p](catalog::Db& db) -> Result<json> {
    TRY_ASSIGN(auto w, catalog::GetWebhook(db, id));
    if (!w) return MakeError(ErrorCode::kNotFound, "no such webhook");
    TRY_ASSIGN(auto list, catalog::ListDeliveries(db, id, p.limit, p.offset));
    json items = json::array();
    for (const auto& d : list) items.push_back(DeliveryJson(d));
    return PageJson(std::move(items), p, std::nullopt);
  });
}

void RetryDelivery(const CallPtr& c) {
  auto id = ParseNonNegativeInt(c->req.params.at(0));
  if (!id) return c->ReplyError(Error{ErrorCode::kNotFound, "no delivery"});
  auto impl = c->impl().lock();
  int64_t now = impl->Now();
  c->Write(
      [id = *id, now](catalog::Db& db) -> Result<json> {
        TRY(catalog::RedeliverNow(db, id, now));
        return json{};
      },
      [](CallPtr c2, json) {
        if (auto i = c2->impl().lock()) i->sender->Wake();
        c2->Reply(202, json::object());
      });
}

std::vector<std::string> Pattern(const std::string& p) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < p.size()) {
    size_t slash = p.find('/', start);
    if (slash == std::string::npos) slash = p.size();
    out.push_back(p.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

}  // namespace

void Impl::BuildRoutes() {
  auto add = [this](const char* method, const char* pattern, Access a,
                    std::function<void(CallPtr)> fn) {
    routes.push_back(Route{method, Pattern(pattern), a, std::move(fn)});
  };
  using A = Access;
  add("GET", "auth/status", A::kPublic, AuthStatus);
  add("POST", "auth/setup", A::kPublic, Setup);
  add("POST", "auth/login", A::kPublic, Login);
  add("POST", "auth/logout", A::kSession, Logout);
  add("GET", "auth/session", A::kSession, AuthSession);
  add("POST", "account/password", A::kSession, ChangePassword);

  add("GET", "videos", A::kRead, ListVideos);
  add("GET", "videos/:id", A::kRead, GetVideo);
  add("PATCH", "videos/:id", A::kAdmin, PatchVideo);
  add("DELETE", "videos/:id", A::kAdmin, DeleteVideo);
  add("POST", "videos/:id/sign", A::kAdmin, SignVideo);
  add("POST", "videos/:id/reprocess", A::kAdmin, ReprocessVideo);

  add("GET", "jobs", A::kRead, ListJobs);
  add("GET", "jobs/:id", A::kRead, GetJob);
  add("PATCH", "jobs/:id", A::kAdmin, PatchJob);
  add("POST", "jobs/:id/retry", A::kAdmin,
      [](CallPtr c) { JobAction(c, true); });
  add("POST", "jobs/:id/cancel", A::kAdmin,
      [](CallPtr c) { JobAction(c, false); });
  add("GET", "uploads", A::kRead, ListUploads);
  add("GET", "uploads/:id", A::kRead, GetUploadRow);
  add("GET", "stats", A::kRead, Stats);

  add("GET", "settings", A::kAdmin, GetSettings);
  add("PUT", "settings", A::kAdmin, PutSettings);

  add("GET", "tokens", A::kAdmin, ListTokens);
  add("POST", "tokens", A::kAdmin, CreateToken);
  add("DELETE", "tokens/:id", A::kAdmin, RevokeToken);

  add("GET", "webhooks", A::kAdmin, ListWebhooks);
  add("POST", "webhooks", A::kAdmin, CreateWebhook);
  add("DELETE", "webhooks/:id", A::kAdmin, DeleteWebhook);
  add("POST", "webhooks/:id/test", A::kAdmin, TestWebhook);
  add("GET", "webhooks/:id/deliveries", A::kAdmin, ListDeliveries);
  add("POST", "webhook-deliveries/:id/retry", A::kAdmin, RetryDelivery);
}

}  // namespace vodd::admin
