// Internal: the admin module's state and request plumbing, shared by
// admin.cpp (HTTP, auth, static assets) and api.cpp (the endpoints).
#pragma once

#include <libsoup/soup.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api_util.h"
#include "task_threads.h"
#include "vodd/admin/admin.h"
#include "vodd/admin/auth.h"
#include "vodd/catalog/db.h"
#include "vodd/http/server.h"

namespace vodd::admin {

// Who is calling.
struct Principal {
  enum class Kind { kNone, kSession, kToken } kind = Kind::kNone;
  std::string user;      // session user
  std::string token_id;  // token
  std::string scopes;    // token scopes; sessions have every scope
  std::string session_hash, csrf_token;
};

struct Request {
  std::string method;
  std::vector<std::string> params;  // ":x" segments of the route, in order
  std::map<std::string, std::string> query;
  nlohmann::json body;  // null when there was none
  Principal who;
  std::string ip;
  std::string base;  // "https://vodd.example" for URLs in answers
  bool secure = false;
};

struct Impl;

// One API call in flight: the paused message and the answer helpers. Every
// method runs on the HTTP thread.
class Call : public std::enable_shared_from_this<Call> {
 public:
  Call(std::shared_ptr<Impl> impl, SoupServerMessage* msg, Request req);
  Request req;

  void Reply(int status, const nlohmann::json& body);
  void ReplyError(const Error& e);
  void NoContent();
  void SetHeader(const char* name, const std::string& value);

  // Runs `fn` on the reader thread, then `then` (default: Reply 200) with
  // its value back on the HTTP thread; an error is answered by ReplyError.
  using Then = std::function<void(std::shared_ptr<Call>, nlohmann::json)>;
  void Read(std::function<Result<nlohmann::json>(catalog::Db&)> fn,
            Then then = {});
  // Runs `fn` in a writer transaction, then as Read.
  void Write(std::function<Result<nlohmann::json>(catalog::Db&)> fn,
             Then then = {});
  // Runs `fn` (no catalog) on a hasher thread; 503 when they are saturated.
  void Hash(std::function<Result<nlohmann::json>()> fn, Then then);

  std::weak_ptr<Impl> impl() const { return impl_; }

 private:
  void Finish(Result<nlohmann::json> r, const Then& then);
  std::weak_ptr<Impl> impl_;
  http::PausedMessage paused_;
  bool done_ = false;
};

using CallPtr = std::shared_ptr<Call>;

enum class Access {
  kPublic,   // anyone (login, setup, status)
  kSession,  // a browser session only (account, logout)
  kRead,     // session or a token with catalog:read
  kAdmin,    // session or a token with admin
};

struct Route {
  std::string method;
  std::vector<std::string> pattern;  // "videos", ":id", "retry"
  Access access;
  std::function<void(CallPtr)> fn;
};

struct Impl : std::enable_shared_from_this<Impl> {
  Impl(const Options& o, const storage::Layout& l, catalog::Writer& w,
       MetricsRegistry* m, GMainContext* c);

  Options opts;
  const storage::Layout& layout;
  catalog::Writer& writer;
  MetricsRegistry* metrics;
  GMainContext* ctx;
  const Clock& clock;
  SettingsStore settings;
  TaskThreads readers, hashers;
  std::unique_ptr<WebhookSender> sender;
  std::unique_ptr<catalog::Db> http_db;  // HTTP thread's read-only connection
  LoginLimiter limiter;
  std::map<std::string, int64_t> session_touched;  // HTTP thread
  std::vector<Route> routes;
  std::string setup_url;
  bool started = false;
  Counter *logins_ok = nullptr, *logins_failed = nullptr,
          *logins_limited = nullptr;

  int64_t Now() const { return clock.NowUnixMs(); }

  void BuildRoutes();  // api.cpp
  void HandleApi(SoupServerMessage* msg, const std::string& path);
  void HandleAssets(SoupServerMessage* msg, const std::string& path);

  // Request facts.
  bool IsSecure(SoupServerMessage* msg) const;
  std::string BaseUrl(SoupServerMessage* msg) const;
  std::string ClientIp(SoupServerMessage* msg) const;
  // Origin / Sec-Fetch-Site check for a state-changing request.
  bool SameOrigin(SoupServerMessage* msg) const;
  // The session of the cookie, validated against the timeouts.
  std::optional<Principal> SessionOf(SoupServerMessage* msg);
  // A Bearer token: the principal, or an error (401/403 later).
  Result<std::optional<Principal>> TokenOf(SoupServerMessage* msg);

  // A new session row + cookie for `user`, replacing `old_hash` if set.
  // Runs on the writer (inside `Write`); returns {csrf, cookie}.
  struct NewSession {
    catalog::AdminSession row;
    std::string cookie_value;
  };
  NewSession MakeSession(const std::string& user, const Request& req) const;
  int64_t SessionMaxAgeS() const;
};

// Security headers for every admin answer (CSP, nosniff, …).
void SetSecurityHeaders(SoupServerMessage* msg);

}  // namespace vodd::admin
