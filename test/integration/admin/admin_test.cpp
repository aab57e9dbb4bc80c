// The admin module over real HTTP: http::Server on 127.0.0.1:0 with its own
// GMainContext in a thread, the catalog in a temp folder, libcurl as client.
// Covers every /api/v1 endpoint, the auth failures (no session, wrong token
// scope, missing CSRF token, foreign Origin), validation errors, pagination,
// and webhooks to a loopback receiver.
#include <catch2/catch.hpp>

#include <sodium.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "support/test_util.h"
#include "vodd/admin/admin.h"
#include "vodd/admin/auth.h"
#include "vodd/catalog/admin.h"
#include "vodd/catalog/jobs.h"
#include "vodd/catalog/tokens.h"
#include "vodd/catalog/videos.h"
#include "vodd/catalog/webhooks.h"
#include "vodd/core/ids.h"
#include "vodd/glib/main_context.h"
#include "vodd/http/server.h"
#include "vodd/upload/token.h"

using namespace vodd;
using json = nlohmann::json;
using vodd::test::Http;
using vodd::test::HttpResponse;
using vodd::test::TempDir;

namespace {

constexpr const char* kPassword = "correct horse battery";

// The admin module and its server on their own thread and main context.
class Harness {
 public:
  explicit Harness(const std::string& dir, const Clock* clock = nullptr,
                   int64_t backoff_ms = 100, int max_attempts = 5)
      : dir_(dir) {
    auto layout = storage::Layout::Create(dir + "/data");
    REQUIRE(layout);
    layout_ = std::make_unique<storage::Layout>(*layout);
    auto w = catalog::Writer::Create(layout_->CatalogPath(), nullptr);
    REQUIRE(w);
    writer_ = std::move(*w);
    thread_ = std::thread([this, clock, backoff_ms, max_attempts] {
      ctx_ = g_main_context_new();
      g_main_context_push_thread_default(ctx_);
      loop_ = g_main_loop_new(ctx_, FALSE);
      auto server = http::Server::Create({"127.0.0.1", 0}, nullptr);
      admin::Options o;
      o.cfg = config::Defaults();
      o.cfg.server.listen_port = 0;
      o.catalog_path = layout_->CatalogPath();
      o.clock = clock;
      o.announce_setup_link = false;
      o.webhooks.backoff_base_ms = backoff_ms;
      o.webhooks.backoff_max_ms = backoff_ms * 4;
      o.webhooks.max_attempts = max_attempts;
      o.webhooks.poll_ms = 50;
      o.webhooks.timeout_ms = 2000;
      o.webhooks.clock = &SystemClock::Get();
      if (server) {
        auto a = admin::Admin::Create(o, *layout_, *writer_, nullptr, ctx_);
        if (a) {
          admin_ = std::move(*a);
          server_ = std::move(*server);
          admin_->Attach(*server_);
          if (server_->Start() && admin_->Start()) {
            port_ = server_->port();
          }
        }
      }
      ready_ = true;
      if (port_) g_main_loop_run(loop_);
      if (admin_) admin_->Stop();
      server_.reset();
      admin_.reset();
      g_main_loop_unref(loop_);
      g_main_context_pop_thread_default(ctx_);
      g_main_context_unref(ctx_);
    });
    while (!ready_) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    REQUIRE(port_ > 0);
  }
  ~Harness() {
    if (port_) {
      GMainLoop* loop = loop_;
      glib::Post(ctx_, [loop] { g_main_loop_quit(loop); });
    }
    thread_.join();
    writer_->Stop();
  }

  std::string Origin() const {
    return "http://127.0.0.1:" + std::to_string(port_);
  }
  std::string Url(const std::string& path) const { return Origin() + path; }
  catalog::Writer& writer() { return *writer_; }
  const storage::Layout& layout() const { return *layout_; }
  std::string setup_url() const { return admin_->setup_url(); }

 private:
  std::string dir_;
  std::unique_ptr<storage::Layout> layout_;
  std::unique_ptr<catalog::Writer> writer_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<admin::Admin> admin_;
  GMainContext* ctx_ = nullptr;
  GMainLoop* loop_ = nullptr;
  std::atomic<bool> ready_{false};
  std::atomic<int> port_{0};
  std::thread thread_;
};

json Body(const HttpResponse& r) {
  return json::parse(r.body.empty() ? "null" : r.body, nullptr, false);
}

std::string ErrorCodeOf(const HttpResponse& r) {
  json j = Body(r);
  if (!j.is_object() || !j.contains("error")) return "";
  return j["error"]["code"];
}

// A browser: the session cookie, the CSRF token, same-origin requests.
struct Browser {
  Harness& h;
  std::string cookie, csrf;
  std::string origin;

  explicit Browser(Harness& harness) : h(harness), origin(harness.Origin()) {}

  HttpResponse Do(const std::string& method, const std::string& path,
                  const std::optional<json>& body = std::nullopt,
                  bool with_csrf = true) {
    std::vector<std::string> headers;
    if (!cookie.empty()) headers.push_back("Cookie: vodd_sid=" + cookie);
    if (with_csrf && !csrf.empty()) headers.push_back("X-CSRF-Token: " + csrf);
    if (!origin.empty()) headers.push_back("Origin: " + origin);
    if (body) headers.push_back("Content-Type: application/json");
    auto r = Http(method, h.Url("/api/v1" + path), headers,
                  body ? body->dump() : "");
    auto it = r.headers.find("set-cookie");
    if (it != r.headers.end()) {
      auto v = admin::CookieValue(it->second.substr(0, it->second.find(';')),
                                  "vodd_sid");
      if (v) cookie = *v;
    }
    json j = Body(r);
    if (j.is_object() && j.contains("csrf_token")) csrf = j["csrf_token"];
    return r;
  }
};

std::string SetupToken(const Harness& h) {
  std::string url = h.setup_url();
  auto pos = url.find("#setup=");
  REQUIRE(pos != std::string::npos);
  return url.substr(pos + 7);
}

// Creates the first admin through the setup link and returns a logged-in
// browser.
Browser SetUp(Harness& h) {
  Browser b(h);
  auto r = b.Do("POST", "/auth/setup",
                json{{"token", SetupToken(h)},
                     {"user", "admin"},
                     {"password", kPassword}});
  REQUIRE(r.status == 200);
  REQUIRE_FALSE(b.cookie.empty());
  REQUIRE_FALSE(b.csrf.empty());
  return b;
}

std::string MakeToken(Harness& h, const std::string& scopes) {
  upload::NewToken t = upload::GenerateToken();
  catalog::ApiToken row;
  row.id = t.id;
  row.secret_sha256 = t.secret_sha256;
  row.scopes = scopes;
  row.created_at = SystemClock::Get().NowUnixMs();
  auto r = h.writer().Call<bool>([row](catalog::Db& db) -> Result<bool> {
    TRY(catalog::InsertToken(db, row));
    return true;
  });
  REQUIRE(r);
  return t.text;
}

std::string AddVideo(Harness& h, const std::string& title, int64_t created_at) {
  catalog::NewVideo v;
  v.id = RandomHex(16);
  v.title = title;
  v.filename = title + ".mp4";
  v.source_path = "sources/" + v.id;
  auto r = h.writer().Call<int64_t>([v, created_at](catalog::Db& db) {
    return catalog::CreateVideoWithJob(db, v, created_at, 3);
  });
  REQUIRE(r);
  return v.id;
}

HttpResponse WithToken(Harness& h, const std::string& method,
                       const std::string& path, const std::string& token,
                       const std::string& body = "") {
  std::vector<std::string> headers = {"Authorization: Bearer " + token};
  if (!body.empty()) headers.push_back("Content-Type: application/json");
  return Http(method, h.Url("/api/v1" + path), headers, body);
}

}  // namespace

TEST_CASE("first start: the one-time setup link creates the admin",
          "[integration]") {
  TempDir dir;
  Harness h(dir.path());
  Browser b(h);
  auto st = b.Do("GET", "/auth/status");
  REQUIRE(st.status == 200);
  CHECK(Body(st)["setup_required"] == true);

  SECTION("a wrong token is refused and the right one works once") {
    auto bad = b.Do("POST", "/auth/setup",
                    json{{"token", admin::RandomToken()},
                         {"user", "admin"},
                         {"password", kPassword}});
    CHECK(bad.status == 401);
    std::string token = SetupToken(h);
    auto weak =
        b.Do("POST", "/auth/setup",
             json{{"token", token}, {"user", "admin"}, {"password", "short"}});
    CHECK(weak.status == 400);
    CHECK(Body(weak)["error"]["field"] == "password");
    auto ok = b.Do(
        "POST", "/auth/setup",
        json{{"token", token}, {"user", "admin"}, {"password", kPassword}});
    REQUIRE(ok.status == 200);
    CHECK(ok.headers["set-cookie"].find("HttpOnly") != std::string::npos);
    CHECK(ok.headers["set-cookie"].find("SameSite=Strict") !=
          std::string::npos);
    auto again = Browser(h).Do(
        "POST", "/auth/setup",
        json{{"token", token}, {"user", "other"}, {"password", kPassword}});
    CHECK(again.status == 401);
    auto s = b.Do("GET", "/auth/session");
    REQUIRE(s.status == 200);
    CHECK(Body(s)["user"] == "admin");
    CHECK(Body(b.Do("GET", "/auth/status"))["setup_required"] == false);
  }
}

TEST_CASE("login, logout, rate limiting and session rotation",
          "[integration]") {
  TempDir dir;
  Harness h(dir.path());
  Browser setup = SetUp(h);

  Browser b(h);
  auto wrong = b.Do("POST", "/auth/login",
                    json{{"user", "admin"}, {"password", "not it at all"}});
  CHECK(wrong.status == 401);
  CHECK(ErrorCodeOf(wrong) == "unauthenticated");
  auto unknown = b.Do("POST", "/auth/login",
                      json{{"user", "nobody"}, {"password", kPassword}});
  CHECK(unknown.status == 401);

  auto ok = b.Do("POST", "/auth/login",
                 json{{"user", "admin"}, {"password", kPassword}});
  REQUIRE(ok.status == 200);
  std::string first = b.cookie;
  // A second login rotates the id and drops the old session.
  auto again = b.Do("POST", "/auth/login",
                    json{{"user", "admin"}, {"password", kPassword}});
  REQUIRE(again.status == 200);
  CHECK(b.cookie != first);
  Browser old(h);
  old.cookie = first;
  CHECK(old.Do("GET", "/auth/session").status == 401);
  CHECK(b.Do("GET", "/auth/session").status == 200);

  SECTION("logout ends the session") {
    auto out = b.Do("POST", "/auth/logout");
    CHECK(out.status == 204);
    CHECK(out.headers["set-cookie"].find("Max-Age=0") != std::string::npos);
    Browser stale(h);
    stale.cookie = b.cookie;
    CHECK(stale.Do("GET", "/videos").status == 401);
  }

  SECTION("failed logins are rate limited per account") {
    Browser attacker(h);
    int limited = 0;
    for (int i = 0; i < admin::LoginLimiter::kFreeFailures + 2; ++i) {
      auto r = attacker.Do(
          "POST", "/auth/login",
          json{{"user", "admin"}, {"password", "guess" + std::to_string(i)}});
      if (r.status == 429) {
        ++limited;
        CHECK_FALSE(r.headers["retry-after"].empty());
      }
    }
    CHECK(limited >= 1);
    // Even the right password waits while locked.
    auto locked = attacker.Do("POST", "/auth/login",
                              json{{"user", "admin"}, {"password", kPassword}});
    CHECK(locked.status == 429);
  }

  SECTION("a password change drops every session") {
    auto bad = b.Do("POST", "/account/password",
                    json{{"current_password", "wrong wrong wrong"},
                         {"new_password", "another good password"}});
    CHECK(bad.status == 400);
    CHECK(Body(bad)["error"]["field"] == "current_password");
    std::string before = b.cookie;
    auto r = b.Do("POST", "/account/password",
                  json{{"current_password", kPassword},
                       {"new_password", "another good password"}});
    REQUIRE(r.status == 200);
    CHECK(b.cookie != before);
    CHECK(b.Do("GET", "/auth/session").status == 200);
    CHECK(setup.Do("GET", "/auth/session").status == 401);
    Browser fresh(h);
    CHECK(fresh
              .Do("POST", "/auth/login",
                  json{{"user", "admin"}, {"password", kPassword}})
              .status == 401);
    CHECK(
        fresh
            .Do("POST", "/auth/login",
                json{{"user", "admin"}, {"password", "another good password"}})
            .status == 200);
  }
}

TEST_CASE("sessions expire when idle and at the absolute limit",
          "[integration]") {
  TempDir dir;
  FakeClock clock(SystemClock::Get().NowUnixMs());
  Harness h(dir.path(), &clock);
  Browser b = SetUp(h);
  CHECK(b.Do("GET", "/auth/session").status == 200);
  clock.Advance(20 * 60'000);  // within the 30 min idle timeout
  CHECK(b.Do("GET", "/auth/session").status == 200);
  clock.Advance(20 * 60'000);  // touched 20 min ago: still fine
  CHECK(b.Do("GET", "/auth/session").status == 200);
  clock.Advance(31 * 60'000);
  CHECK(b.Do("GET", "/auth/session").status == 401);

  Browser c(h);
  REQUIRE(c.Do("POST", "/auth/login",
               json{{"user", "admin"}, {"password", kPassword}})
              .status == 200);
  for (int i = 0; i < 26; ++i) {  // active every 29 min for 12.5 h
    clock.Advance(29 * 60'000);
    if (c.Do("GET", "/auth/session").status != 200) {
      CHECK(i >= 24);
      return;
    }
  }
  FAIL("the absolute timeout did not end the session");
}

TEST_CASE("auth failures: no session, token scopes, CSRF, Origin",
          "[integration]") {
  TempDir dir;
  Harness h(dir.path());
  Browser b = SetUp(h);
  std::string vid = AddVideo(h, "clip", 1000);

  SECTION("no credentials") {
    auto r = Http("GET", h.Url("/api/v1/videos"));
    CHECK(r.status == 401);
    CHECK(ErrorCodeOf(r) == "unauthenticated");
    CHECK(Http("GET", h.Url("/api/v1/settings")).status == 401);
    CHECK(Http("POST", h.Url("/api/v1/auth/logout")).status == 401);
  }
  SECTION("bad tokens") {
    CHECK(WithToken(h, "GET", "/videos", "vodd_nope").status == 401);
    std::string t = MakeToken(h, "catalog:read");
    std::string forged =
        t.substr(0, t.size() - 1) + (t.back() == 'A' ? "B" : "A");
    CHECK(WithToken(h, "GET", "/videos", forged).status == 401);
  }
  SECTION("token scopes") {
    std::string up = MakeToken(h, "upload");
    auto r = WithToken(h, "GET", "/videos", up);
    CHECK(r.status == 403);
    CHECK(ErrorCodeOf(r) == "permission_denied");
    std::string reader = MakeToken(h, "catalog:read");
    CHECK(WithToken(h, "GET", "/videos", reader).status == 200);
    CHECK(WithToken(h, "GET", "/videos/" + vid, reader).status == 200);
    CHECK(WithToken(h, "PATCH", "/videos/" + vid, reader, R"({"title":"x"})")
              .status == 403);
    CHECK(WithToken(h, "GET", "/settings", reader).status == 403);
    CHECK(WithToken(h, "GET", "/tokens", reader).status == 403);
    std::string adm = MakeToken(h, "admin");
    // Tokens need no CSRF token: they are not sent by browsers on their own.
    CHECK(WithToken(h, "PATCH", "/videos/" + vid, adm, R"({"title":"x"})")
              .status == 200);
    // Session-only endpoints refuse tokens.
    CHECK(WithToken(h, "GET", "/auth/session", adm).status == 401);
  }
  SECTION("a revoked token stops working") {
    std::string t = MakeToken(h, "admin");
    CHECK(WithToken(h, "GET", "/videos", t).status == 200);
    std::string id = t.substr(5, 8);
    CHECK(b.Do("DELETE", "/tokens/" + id).status == 204);
    CHECK(WithToken(h, "GET", "/videos", t).status == 401);
  }
  SECTION("missing or wrong CSRF token") {
    auto r = b.Do("PATCH", "/videos/" + vid, json{{"title", "y"}}, false);
    CHECK(r.status == 403);
    CHECK(Body(r)["error"]["message"].get<std::string>().find("CSRF") !=
          std::string::npos);
    std::string good = b.csrf;
    b.csrf = admin::RandomToken();
    CHECK(b.Do("PATCH", "/videos/" + vid, json{{"title", "y"}}).status == 403);
    b.csrf = good;
    CHECK(b.Do("PATCH", "/videos/" + vid, json{{"title", "y"}}).status == 200);
  }
  SECTION("foreign Origin") {
    b.origin = "https://evil.example";
    CHECK(b.Do("PATCH", "/videos/" + vid, json{{"title", "y"}}).status == 403);
    CHECK(b.Do("POST", "/auth/login",
               json{{"user", "admin"}, {"password", kPassword}})
              .status == 403);
    // Reads are not state-changing.
    CHECK(b.Do("GET", "/videos").status == 200);
  }
  SECTION("JSON only") {
    auto r = Http("PATCH", h.Url("/api/v1/videos/" + vid),
                  {"Cookie: vodd_sid=" + b.cookie, "X-CSRF-Token: " + b.csrf,
                   "Content-Type: application/x-www-form-urlencoded"},
                  "title=x");
    CHECK(r.status == 415);
    auto bad = Http("PATCH", h.Url("/api/v1/videos/" + vid),
                    {"Cookie: vodd_sid=" + b.cookie, "X-CSRF-Token: " + b.csrf,
                     "Content-Type: application/json"},
                    "{not json");
    CHECK(bad.status == 400);
  }
  SECTION("unknown endpoints and methods") {
    CHECK(b.Do("GET", "/nope").status == 404);
    CHECK(b.Do("PUT", "/videos").status == 405);
  }
}

TEST_CASE("videos: search, pagination, detail, edit, delete", "[integration]") {
  TempDir dir;
  Harness h(dir.path());
  Browser b = SetUp(h);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(AddVideo(h, "news " + std::to_string(i), 1000 + i));
  }
  std::string other = AddVideo(h, "sports final", 2000);

  auto all = b.Do("GET", "/videos");
  REQUIRE(all.status == 200);
  CHECK(Body(all)["total"] == 6);
  CHECK(Body(all)["items"][0]["id"] == other);  // newest first

  auto p1 = b.Do("GET", "/videos?q=news&limit=2");
  REQUIRE(p1.status == 200);
  json j1 = Body(p1);
  CHECK(j1["total"] == 5);
  CHECK(j1["items"].size() == 2);
  CHECK(j1["items"][0]["title"] == "news 4");
  CHECK(j1["next_offset"] == 2);
  auto p3 = b.Do("GET", "/videos?q=news&limit=2&offset=4");
  json j3 = Body(p3);
  CHECK(j3["items"].size() == 1);
  CHECK(j3["items"][0]["title"] == "news 0");
  CHECK(j3["next_offset"].is_null());
  CHECK(Body(b.Do("GET", "/videos?q=%25"))["total"] == 0);  // LIKE escaped
  CHECK(Body(b.Do("GET", "/videos?state=uploaded"))["total"] == 6);
  CHECK(Body(b.Do("GET", "/videos?state=ready"))["total"] == 0);

  auto bad_limit = b.Do("GET", "/videos?limit=0");
  CHECK(bad_limit.status == 400);
  CHECK(Body(bad_limit)["error"]["field"] == "limit");
  CHECK(b.Do("GET", "/videos?offset=-1").status == 400);
  CHECK(b.Do("GET", "/videos?state=bogus").status == 400);

  auto d = b.Do("GET", "/videos/" + other);
  REQUIRE(d.status == 200);
  json dj = Body(d);
  CHECK(dj["state"] == "uploaded");
  CHECK(dj["urls"].is_null());
  CHECK(dj["renditions"].empty());
  REQUIRE(dj["jobs"].size() == 1);
  CHECK(dj["jobs"][0]["kind"] == "transcode");
  CHECK(b.Do("GET", "/videos/" + std::string(32, 'a')).status == 404);
  CHECK(b.Do("GET", "/videos/..%2f..%2fetc").status >= 400);

  auto patched =
      b.Do("PATCH", "/videos/" + other,
           json{{"title", "Sports Final"}, {"playback_policy", "signed"}});
  REQUIRE(patched.status == 200);
  CHECK(Body(patched)["title"] == "Sports Final");
  CHECK(Body(patched)["playback_policy"] == "signed");
  CHECK(Body(patched)["description"] == "");
  auto bad_policy =
      b.Do("PATCH", "/videos/" + other, json{{"playback_policy", "secret"}});
  CHECK(bad_policy.status == 400);
  CHECK(Body(bad_policy)["error"]["field"] == "playback_policy");
  CHECK(b.Do("PATCH", "/videos/" + other, json{{"title", 5}}).status == 400);
  CHECK(b.Do("PATCH", "/videos/" + other, json{{"colour", "red"}}).status ==
        400);
  CHECK(
      b.Do("PATCH", "/videos/" + other, json{{"title", std::string(300, 'x')}})
          .status == 400);

  auto sign = b.Do("POST", "/videos/" + other + "/sign", json::object());
  CHECK(sign.status == 409);  // no signing key configured yet
  REQUIRE(b.Do("PUT", "/settings",
               json{{"values", {{"origin.signing_key", std::string(64, 'a')}}}})
              .status == 200);
  auto signed_url =
      b.Do("POST", "/videos/" + other + "/sign", json{{"expires_in_s", 600}});
  REQUIRE(signed_url.status == 200);
  CHECK(Body(signed_url)["hls"].get<std::string>().find(
            "/v/" + other + "/master.m3u8?__token__=") != std::string::npos);
  CHECK(b.Do("POST", "/videos/" + other + "/sign", json{{"expires_in_s", 5}})
            .status == 400);

  // Delete: media and source go with the rows.
  std::string media = h.layout().VideoDir(other);
  REQUIRE(storage::MakeDirs(media + "/1"));
  vodd::test::WriteFile(media + "/1/x.m4s", "x");
  REQUIRE(storage::MakeDirs(h.layout().root() + "/sources"));
  vodd::test::WriteFile(h.layout().root() + "/sources/" + other, "src");
  auto del = b.Do("DELETE", "/videos/" + other);
  CHECK(del.status == 204);
  CHECK_FALSE(std::filesystem::exists(media));
  CHECK_FALSE(std::filesystem::exists(h.layout().root() + "/sources/" + other));
  CHECK(b.Do("GET", "/videos/" + other).status == 404);
  CHECK(b.Do("DELETE", "/videos/" + other).status == 404);
  CHECK(Body(b.Do("GET", "/videos"))["total"] == 5);
}

TEST_CASE("jobs, uploads and stats", "[integration]") {
  TempDir dir;
  Harness h(dir.path());
  Browser b = SetUp(h);
  std::string vid = AddVideo(h, "clip", 1000);
  auto list = b.Do("GET", "/jobs");
  REQUIRE(list.status == 200);
  REQUIRE(Body(list)["items"].size() == 1);
  int64_t job = Body(list)["items"][0]["id"];
  CHECK(Body(list)["items"][0]["video_title"] == "clip");
  CHECK(Body(b.Do("GET", "/jobs?state=queued"))["items"].size() == 1);
  CHECK(Body(b.Do("GET", "/jobs?state=dead,cancelled"))["items"].empty());
  CHECK(b.Do("GET", "/jobs?state=nope").status == 400);

  auto one = b.Do("GET", "/jobs/" + std::to_string(job));
  REQUIRE(one.status == 200);
  CHECK(Body(one)["state"] == "queued");
  CHECK(b.Do("GET", "/jobs/999999").status == 404);
  CHECK(b.Do("GET", "/jobs/abc").status == 404);

  auto cancel = b.Do("POST", "/jobs/" + std::to_string(job) + "/cancel");
  REQUIRE(cancel.status == 200);
  CHECK(Body(cancel)["state"] == "cancelled");
  CHECK(b.Do("POST", "/jobs/" + std::to_string(job) + "/cancel").status == 409);
  auto retry = b.Do("POST", "/jobs/" + std::to_string(job) + "/retry");
  REQUIRE(retry.status == 200);
  CHECK(Body(retry)["state"] == "queued");

  // Admin priority: validated, 404 for an unknown job, the job back.
  std::string jp = "/jobs/" + std::to_string(job);
  auto prio = b.Do("PATCH", jp, json{{"priority", 7}});
  REQUIRE(prio.status == 200);
  CHECK(Body(prio)["priority"] == 7);
  CHECK(b.Do("PATCH", jp, json{{"priority", "high"}}).status == 400);
  CHECK(b.Do("PATCH", jp, json{{"priority", 100000}}).status == 400);
  CHECK(b.Do("PATCH", jp, json{{"state", "done"}}).status == 400);
  CHECK(b.Do("PATCH", jp, json::object()).status == 400);
  CHECK(b.Do("PATCH", "/jobs/999999", json{{"priority", 1}}).status == 404);

  auto uploads = b.Do("GET", "/uploads");
  REQUIRE(uploads.status == 200);
  CHECK(Body(uploads)["items"].empty());
  CHECK(b.Do("GET", "/uploads/" + std::string(32, 'b')).status == 404);

  auto stats = b.Do("GET", "/stats");
  REQUIRE(stats.status == 200);
  json s = Body(stats);
  CHECK(s["queue_depth"] == 1);
  CHECK(s["videos"]["uploaded"] == 1);
  CHECK(s["throughput"]["done_per_hour"].size() == 24);
  CHECK(s["disk"]["free_bytes"].get<int64_t>() > 0);
  CHECK(s["workers"].get<int>() >= 1);
}

TEST_CASE("videos: a ready video is queued for processing again",
          "[integration]") {
  TempDir dir;
  Harness h(dir.path());
  Browser b = SetUp(h);
  std::string vid = AddVideo(h, "clip", 1000);
  std::string path = "/videos/" + vid + "/reprocess";
  auto early = b.Do("POST", path);
  CHECK(early.status == 409);
  CHECK(Body(early)["error"]["message"].get<std::string>().find(
            "video is uploaded") != std::string::npos);
  CHECK(b.Do("POST", "/videos/" + std::string(32, 'a') + "/reprocess").status ==
        404);

  // Processed once: its job done, version 1 published; the source kept.
  REQUIRE(h.writer().Call<bool>([&](catalog::Db& db) -> Result<bool> {
    TRY(db.Exec("UPDATE jobs SET state='done' WHERE video_id='" + vid + "'"));
    TRY(db.Exec("UPDATE videos SET state='ready', version=1 WHERE id='" + vid +
                "'"));
    return true;
  }));
  REQUIRE(storage::MakeDirs(h.layout().root() + "/sources"));
  vodd::test::WriteFile(h.layout().root() + "/sources/" + vid, "src");

  auto queued = b.Do("POST", path);
  REQUIRE(queued.status == 202);
  json job = Body(queued);
  CHECK(job["kind"] == "transcode");
  CHECK(job["state"] == "queued");
  auto detail = Body(b.Do("GET", "/videos/" + vid));
  CHECK(detail["state"] == "ready");
  CHECK(detail["jobs"].size() == 2);
  auto twice = b.Do("POST", path);
  CHECK(twice.status == 409);
  CHECK(Body(twice)["error"]["message"] ==
        "video has job " + std::to_string(job["id"].get<int64_t>()) +
            " queued");

  // Without its source a video cannot be made again.
  REQUIRE(b.Do("POST",
               "/jobs/" + std::to_string(job["id"].get<int64_t>()) + "/cancel")
              .status == 200);
  std::filesystem::remove(h.layout().root() + "/sources/" + vid);
  auto gone = b.Do("POST", path);
  CHECK(gone.status == 409);
  CHECK(Body(gone)["error"]["message"].get<std::string>().find("is gone") !=
        std::string::npos);

  // It changes what is published: the admin scope, not catalog:read.
  std::string reader = MakeToken(h, "catalog:read");
  CHECK(WithToken(h, "POST", "/videos/" + vid + "/reprocess", reader).status ==
        403);
}

TEST_CASE("settings: read, validate, store, reset", "[integration]") {
  TempDir dir;
  Harness h(dir.path());
  Browser b = SetUp(h);
  auto get = b.Do("GET", "/settings");
  REQUIRE(get.status == 200);
  bool saw_secret = false;
  json items = Body(get)["items"];
  for (const auto& it : items) {
    if (it["name"] == "origin.signing_key") {
      saw_secret = true;
      CHECK(it["secret"] == true);
    }
  }
  CHECK(saw_secret);

  auto bad = b.Do("PUT", "/settings",
                  json{{"values", {{"pipeline.segment_seconds", "99"}}}});
  CHECK(bad.status == 400);
  CHECK(Body(bad)["error"]["field"] == "pipeline.segment_seconds");
  CHECK(b.Do("PUT", "/settings", json{{"values", {{"nope.x", "1"}}}}).status ==
        400);
  auto file_only =
      b.Do("PUT", "/settings", json{{"values", {{"storage.data_dir", "/x"}}}});
  CHECK(file_only.status == 400);
  CHECK(b.Do("PUT", "/settings", json{{"values", 5}}).status == 400);

  auto ok = b.Do("PUT", "/settings",
                 json{{"values",
                       {{"pipeline.segment_seconds", 6},
                        {"server.shutdown_timeout_s", "20"},
                        {"origin.signing_key", std::string(64, 'c')}}}});
  REQUIRE(ok.status == 200);
  json j = Body(ok);
  CHECK(j["restart_required"] == json::array({"server.shutdown_timeout_s"}));
  for (const auto& it : j["items"]) {
    if (it["name"] == "pipeline.segment_seconds") {
      CHECK(it["value"] == "6");
      CHECK(it["stored"] == true);
    }
    if (it["name"] == "origin.signing_key") {
      CHECK(it["value"] == "");  // never echoed
      CHECK(it["is_set"] == true);
    }
  }
  // Stored in the catalog.
  auto db = catalog::OpenReader(h.layout().CatalogPath());
  REQUIRE(db);
  auto stored = catalog::LoadSettings(**db);
  REQUIRE(stored);
  CHECK((*stored)["pipeline.segment_seconds"] == "6");

  auto reset = b.Do("PUT", "/settings",
                    json{{"values", {{"pipeline.segment_seconds", nullptr}}}});
  REQUIRE(reset.status == 200);
  stored = catalog::LoadSettings(**db);
  CHECK_FALSE(stored->count("pipeline.segment_seconds"));
  CHECK(stored->count("origin.signing_key"));
}

TEST_CASE("API tokens: create, list, revoke", "[integration]") {
  TempDir dir;
  Harness h(dir.path());
  Browser b = SetUp(h);
  auto bad = b.Do("POST", "/tokens", json{{"scopes", {"root"}}});
  CHECK(bad.status == 400);
  CHECK(Body(bad)["error"]["field"] == "scopes");
  CHECK(b.Do("POST", "/tokens", json{{"scopes", json::array()}}).status == 400);
  CHECK(b.Do("POST", "/tokens", json{{"expires_days", -1}}).status == 400);
  auto made = b.Do("POST", "/tokens",
                   json{{"name", "cms"},
                        {"scopes", {"upload", "catalog:read"}},
                        {"expires_days", 30}});
  REQUIRE(made.status == 201);
  json t = Body(made);
  std::string text = t["token"];
  CHECK(upload::ParseToken(text));
  CHECK(t["expires_at"].is_number());
  // The new token works for what its scopes allow.
  CHECK(WithToken(h, "GET", "/videos", text).status == 200);
  auto list = b.Do("GET", "/tokens");
  REQUIRE(list.status == 200);
  REQUIRE(Body(list)["items"].size() == 1);
  CHECK_FALSE(Body(list)["items"][0].contains("token"));
  CHECK(Body(list)["items"][0]["state"] == "active");
  std::string id = t["id"];
  CHECK(b.Do("DELETE", "/tokens/" + id).status == 204);
  CHECK(b.Do("DELETE", "/tokens/" + id).status == 404);
  CHECK(b.Do("DELETE", "/tokens/zz").status == 404);
  CHECK(Body(b.Do("GET", "/tokens"))["items"][0]["state"] == "revoked");
}

TEST_CASE("the page is served with its security headers", "[integration]") {
  TempDir dir;
  Harness h(dir.path());
  auto page = Http("GET", h.Url("/admin/"));
  REQUIRE(page.status == 200);
  CHECK(page.headers["content-type"].find("text/html") == 0);
  CHECK(page.headers["content-security-policy"].find("default-src 'self'") ==
        0);
  CHECK(page.headers["x-content-type-options"] == "nosniff");
  CHECK(page.headers["referrer-policy"] == "same-origin");
  CHECK(page.headers["cache-control"] == "no-store");
  CHECK(page.body.find("app.js") != std::string::npos);
  auto js = Http("GET", h.Url("/admin/app.js"));
  CHECK(js.status == 200);
  CHECK(js.headers["content-type"].find("text/javascript") == 0);
  CHECK(js.body.size() > 100'000);  // hls.js and tus-js-client are bundled
  CHECK(Http("GET", h.Url("/admin/app.css")).status == 200);
  CHECK(Http("GET", h.Url("/admin/nope.js")).status == 404);
  CHECK(Http("POST", h.Url("/admin/")).status == 405);
  auto root = Http("GET", h.Url("/"));
  CHECK(root.status == 302);
  CHECK(root.headers["location"] == "/admin/");
  auto api = Http("GET", h.Url("/api/v1/auth/status"));
  CHECK(api.headers["cache-control"] == "no-store");
  CHECK(api.headers["x-content-type-options"] == "nosniff");
}

// ---- webhooks
// -----------------------------------------------------------------

namespace {

// A tiny loopback HTTP/1.1 server: answers each request with the next status
// of `statuses` (the last one repeats) and records what it got.
class Receiver {
 public:
  struct Request {
    std::map<std::string, std::string> headers;  // lowercase names
    std::string body;
  };
  Receiver(int port, std::vector<int> statuses)
      : statuses_(std::move(statuses)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(listen(fd_, 16) == 0);
    thread_ = std::thread([this] { Loop(); });
  }
  ~Receiver() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  std::vector<Request> requests() {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }
  bool WaitFor(size_t n, int seconds = 20) {
    for (int i = 0; i < seconds * 50; ++i) {
      if (requests().size() >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

 private:
  void Loop() {
    while (!stop_) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string data;
      char buf[4096];
      size_t need = std::string::npos;
      Request req;
      while (true) {
        ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0) break;
        data.append(buf, static_cast<size_t>(n));
        auto end = data.find("\r\n\r\n");
        if (end != std::string::npos && need == std::string::npos) {
          std::istringstream in(data.substr(0, end));
          std::string line;
          std::getline(in, line);
          while (std::getline(in, line)) {
            if (!line.empty() && line.back() == '\r') line.pop_back();
            auto colon = line.find(':');
            if (colon == std::string::npos) continue;
            std::string name = line.substr(0, colon);
            for (auto& ch : name) ch = static_cast<char>(tolower(ch));
            std::string value = line.substr(colon + 1);
            value.erase(0, value.find_first_not_of(' '));
            req.headers[name] = value;
          }
          need = end + 4 + std::stoul(req.headers["content-length"]);
        }
        if (need != std::string::npos && data.size() >= need) break;
      }
      if (need != std::string::npos && data.size() >= need) {
        req.body =
            data.substr(need - std::stoul(req.headers["content-length"]));
        int status;
        {
          std::lock_guard<std::mutex> lock(mutex_);
          status = statuses_[std::min(requests_.size(), statuses_.size() - 1)];
          requests_.push_back(req);
        }
        std::string resp =
            "HTTP/1.1 " + std::to_string(status) +
            " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        ssize_t w = write(c, resp.data(), resp.size());
        (void)w;
      }
      close(c);
    }
  }
  std::vector<int> statuses_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<Request> requests_;
  std::thread thread_;
};

bool SignatureVerifies(const std::string& secret, const Receiver::Request& r) {
  std::string sig = r.headers.at("x-vodd-signature");
  auto comma = sig.find(",v1=");
  if (sig.rfind("t=", 0) != 0 || comma == std::string::npos) return false;
  std::string t = sig.substr(2, comma - 2), mac_hex = sig.substr(comma + 4);
  std::string msg = t + "." + r.body;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(
      &st, reinterpret_cast<const unsigned char*>(secret.data()),
      secret.size());
  crypto_auth_hmacsha256_update(
      &st, reinterpret_cast<const unsigned char*>(msg.data()), msg.size());
  crypto_auth_hmacsha256_final(&st, mac);
  char hex[2 * sizeof mac + 1];
  sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
  return mac_hex == hex;
}

json WaitForDelivery(Browser& b, const std::string& webhook,
                     const std::string& state) {
  for (int i = 0; i < 400; ++i) {
    json items =
        Body(b.Do("GET", "/webhooks/" + webhook + "/deliveries"))["items"];
    if (!items.empty() && items[0]["state"] == state) return items[0];
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return nullptr;
}

}  // namespace

TEST_CASE("webhooks: create, validate, test event, delete", "[integration]") {
  TempDir dir;
  Harness h(dir.path());
  Browser b = SetUp(h);
  CHECK(b.Do("POST", "/webhooks", json{{"url", "ftp://x"}}).status == 400);
  CHECK(b.Do("POST", "/webhooks", json{{"url", "not a url"}}).status == 400);
  auto bad_event = b.Do(
      "POST", "/webhooks",
      json{{"url", "http://127.0.0.1:1/"}, {"events", {"video.exploded"}}});
  CHECK(bad_event.status == 400);
  CHECK(Body(bad_event)["error"]["field"] == "events");

  int port = vodd::test::FreePort();
  Receiver rx(port, {200});
  auto made =
      b.Do("POST", "/webhooks",
           json{{"url", "http://127.0.0.1:" + std::to_string(port) + "/hook"},
                {"events", {"video.ready"}},
                {"description", "cms"}});
  REQUIRE(made.status == 201);
  json w = Body(made);
  std::string secret = w["secret"];
  CHECK(secret.rfind("whsec_", 0) == 0);
  auto list = b.Do("GET", "/webhooks");
  REQUIRE(Body(list)["items"].size() == 1);
  CHECK_FALSE(Body(list)["items"][0].contains("secret"));

  auto test = b.Do("POST", "/webhooks/" + w["id"].get<std::string>() + "/test");
  REQUIRE(test.status == 202);
  REQUIRE(rx.WaitFor(1));
  auto got = rx.requests()[0];
  CHECK(SignatureVerifies(secret, got));
  CHECK(got.headers["x-vodd-event"] == "webhook.test");
  CHECK(got.headers["idempotency-key"] == Body(test)["event_id"]);
  CHECK(json::parse(got.body)["type"] == "webhook.test");
  json d = WaitForDelivery(b, w["id"], "delivered");
  REQUIRE(d.is_object());
  CHECK(d["attempts"] == 1);
  CHECK(d["last_status"] == 200);

  // Events the webhook did not subscribe to are not queued for it.
  auto r = h.writer().Call<std::string>([](catalog::Db& db) {
    return catalog::EnqueueWebhookEvent(db, "video.deleted",
                                        json{{"video_id", "x"}}, 1);
  });
  REQUIRE(r);
  CHECK(Body(b.Do("GET", "/webhooks/" + w["id"].get<std::string>() +
                             "/deliveries"))["items"]
            .size() == 1);
  CHECK(
      b.Do("GET", "/webhooks/" + std::string(16, 'f') + "/deliveries").status ==
      404);
  CHECK(b.Do("DELETE", "/webhooks/" + w["id"].get<std::string>()).status ==
        204);
  CHECK(b.Do("DELETE", "/webhooks/" + w["id"].get<std::string>()).status ==
        404);
}

TEST_CASE("webhooks: a receiver failing twice gets the event once",
          "[integration]") {
  TempDir dir;
  Harness h(dir.path());
  Browser b = SetUp(h);
  int port = vodd::test::FreePort();
  Receiver rx(port, {500, 503, 200});
  auto made =
      b.Do("POST", "/webhooks",
           json{{"url", "http://127.0.0.1:" + std::to_string(port) + "/hook"}});
  REQUIRE(made.status == 201);
  std::string secret = Body(made)["secret"], id = Body(made)["id"];
  // What the pipeline does inside its publish transaction.
  auto event = h.writer().Call<std::string>([](catalog::Db& db) {
    return catalog::EnqueueWebhookEvent(db, "video.ready",
                                        json{{"video_id", "abc"}}, 1);
  });
  REQUIRE(event);
  json d = WaitForDelivery(b, id, "delivered");
  REQUIRE(d.is_object());
  CHECK(d["attempts"] == 3);
  auto reqs = rx.requests();
  REQUIRE(reqs.size() == 3);
  std::set<std::string> keys;
  for (const auto& r : reqs) {
    CHECK(SignatureVerifies(secret, r));
    keys.insert(r.headers.at("idempotency-key"));
    CHECK(r.body == reqs[0].body);
  }
  // As far as the receiver can tell (it deduplicates on the key): once.
  CHECK(keys == std::set<std::string>{*event});
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(rx.requests().size() == 3);
}

TEST_CASE("webhooks: give up after max attempts, manual retry",
          "[integration]") {
  TempDir dir;
  Harness h(dir.path(), nullptr, 50, 2);
  Browser b = SetUp(h);
  int port = vodd::test::FreePort();
  Receiver rx(port, {500, 500, 204});
  auto made =
      b.Do("POST", "/webhooks",
           json{{"url", "http://127.0.0.1:" + std::to_string(port) + "/"}});
  std::string id = Body(made)["id"];
  REQUIRE(b.Do("POST", "/webhooks/" + id + "/test").status == 202);
  json d = WaitForDelivery(b, id, "failed");
  REQUIRE(d.is_object());
  CHECK(d["attempts"] == 2);
  CHECK(d["last_error"] == "HTTP 500");
  REQUIRE(b.Do("POST", "/webhook-deliveries/" +
                           std::to_string(d["id"].get<int64_t>()) + "/retry")
              .status == 202);
  d = WaitForDelivery(b, id, "delivered");
  REQUIRE(d.is_object());
  CHECK(rx.requests().size() == 3);
}

TEST_CASE("webhooks: pending events survive a restart", "[integration]") {
  TempDir dir;
  int port = vodd::test::FreePort();
  std::string event, hook;
  {
    Harness h(dir.path(), nullptr, 100, 50);
    Browser b = SetUp(h);
    auto made =
        b.Do("POST", "/webhooks",
             json{{"url", "http://127.0.0.1:" + std::to_string(port) + "/"}});
    hook = Body(made)["id"];
    auto e = h.writer().Call<std::string>([](catalog::Db& db) {
      return catalog::EnqueueWebhookEvent(db, "upload.completed",
                                          json{{"video_id", "v1"}}, 1);
    });
    REQUIRE(e);
    event = *e;
    // Nobody listens yet: the first attempts fail.
    for (int i = 0; i < 200; ++i) {
      auto db = catalog::OpenReader(h.layout().CatalogPath());
      auto list = catalog::ListDeliveries(**db, hook, 1, 0);
      if (list && !list->empty() && (*list)[0].attempts >= 1) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }  // the "daemon" stops
  Receiver rx(port, {200});
  Harness h2(dir.path(), nullptr, 100, 50);
  REQUIRE(rx.WaitFor(1));
  CHECK(rx.requests()[0].headers["idempotency-key"] == event);
  auto db = catalog::OpenReader(h2.layout().CatalogPath());
  for (int i = 0; i < 200; ++i) {
    auto list = catalog::ListDeliveries(**db, hook, 1, 0);
    if (list && !list->empty() && (*list)[0].state == "delivered") {
      CHECK((*list)[0].attempts >= 2);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  FAIL("the event was not delivered after the restart");
}
