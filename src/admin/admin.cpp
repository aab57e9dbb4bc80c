// The admin module's HTTP side: routing of /api/v1/, authentication of every
// call (session cookie + CSRF + Origin, or a scoped Bearer token), the
// static page at /admin/, and the module's lifetime. The endpoints live in
// api.cpp; see vodd/admin/admin.h for the threads.
//
//   curl -s http://127.0.0.1:8080/api/v1/auth/status
#include "vodd/admin/admin.h"

#include <glib.h>

#include <algorithm>

#include <fmt/format.h>

#include "admin_impl.h"
#include "assets.h"
#include "vodd/catalog/admin.h"
#include "vodd/catalog/tokens.h"
#include "vodd/core/log.h"
#include "vodd/glib/main_context.h"
#include "vodd/upload/token.h"

namespace vodd::admin {
namespace {

constexpr size_t kMaxBodyBytes = 1 << 20;
constexpr int64_t kTouchEveryMs = 30'000;
constexpr int64_t kSetupLinkValidMs = 24 * 3'600'000;
constexpr const char* kApiPrefix = "/api/v1/";

std::map<std::string, std::string> QueryOf(SoupServerMessage* msg) {
  std::map<std::string, std::string> out;
  GUri* uri = soup_server_message_get_uri(msg);
  const char* q = uri ? g_uri_get_query(uri) : nullptr;
  if (!q) return out;
  GHashTable* h = soup_form_decode(q);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, h);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    out[static_cast<const char*>(k)] = static_cast<const char*>(v);
  }
  g_hash_table_unref(h);
  return out;
}

bool IsStateChanging(const std::string& method) {
  return method != "GET" && method != "HEAD" && method != "OPTIONS";
}

std::string OriginOf(const std::string& url) {
  // scheme://host[:port] of a URL.
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return "";
  auto path = url.find('/', scheme_end + 3);
  return url.substr(0, path);
}

}  // namespace

void SetSecurityHeaders(SoupServerMessage* msg) {
  http::SetHeader(msg, "Content-Security-Policy",
                  "default-src 'self'; img-src 'self' data: blob:; "
                  "media-src 'self' blob:; frame-ancestors 'none'; "
                  "base-uri 'none'; form-action 'self'");
  http::SetHeader(msg, "X-Content-Type-Options", "nosniff");
  http::SetHeader(msg, "Referrer-Policy", "same-origin");
  http::SetHeader(msg, "X-Frame-Options", "DENY");
}

// ---- Call ------------------------------------------------------------------

Call::Call(std::shared_ptr<Impl> impl, SoupServerMessage* msg, Request r)
    : req(std::move(r)), impl_(impl), paused_(msg) {}

void Call::SetHeader(const char* name, const std::string& value) {
  http::SetHeader(paused_.get(), name, value);
}

void Call::Reply(int status, const nlohmann::json& body) {
  if (done_) return;
  done_ = true;
  SoupServerMessage* msg = paused_.get();
  SetSecurityHeaders(msg);
  http::SetHeader(msg, "Cache-Control", "no-store");
  if (status == 204) {
    soup_server_message_set_status(msg, 204, nullptr);
  } else {
    http::Respond(
        msg, status, "application/json",
        body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  paused_.Resume();
}

void Call::NoContent() { Reply(204, nullptr); }

void Call::ReplyError(const Error& e) {
  int status = HttpStatusFor(e.code);
  std::string message = e.message;
  if (!ErrorDetailIsPublic(e.code)) {
    LOG_ERROR("admin", "{} failed: {}", req.method, e.message);
    message = "internal error; see the server log";
  }
  nlohmann::json err{{"code", ErrorCodeName(e.code)}};
  auto [field, reason] = SplitFieldError(message);
  if (e.code == ErrorCode::kInvalidArgument && !field.empty()) {
    err["field"] = field;
    err["message"] = field + ": " + reason;
  } else {
    err["message"] = message;
  }
  if (e.code == ErrorCode::kUnauthenticated) {
    SetHeader("WWW-Authenticate", "Bearer realm=\"vodd\"");
  }
  Reply(status, nlohmann::json{{"error", err}});
}

void Call::Finish(Result<nlohmann::json> r, const Then& then) {
  if (!r) return ReplyError(r.error());
  if (then) return then(shared_from_this(), std::move(*r));
  Reply(200, *r);
}

void Call::Read(std::function<Result<nlohmann::json>(catalog::Db&)> fn,
                Then then) {
  auto impl = impl_.lock();
  if (!impl) return;
  auto self = shared_from_this();
  GMainContext* ctx = impl->ctx;
  bool queued = impl->readers.Post(
      [self, fn = std::move(fn), then, ctx](catalog::Db* db) mutable {
        Result<nlohmann::json> r =
            db ? fn(*db)
               : Result<nlohmann::json>(
                     MakeError(ErrorCode::kIo, "catalog reader unavailable"));
        glib::Post(ctx, [self, r = std::move(r), then]() mutable {
          self->Finish(std::move(r), then);
        });
      });
  if (!queued) {
    ReplyError(Error{ErrorCode::kCancelled, "server busy; retry shortly"});
  }
}

void Call::Write(std::function<Result<nlohmann::json>(catalog::Db&)> fn,
                 Then then) {
  auto impl = impl_.lock();
  if (!impl) return;
  auto self = shared_from_this();
  GMainContext* ctx = impl->ctx;
  impl->writer.Post<nlohmann::json>(
      std::move(fn), [self, then, ctx](Result<nlohmann::json> r) {
        glib::Post(ctx, [self, r = std::move(r), then]() mutable {
          self->Finish(std::move(r), then);
        });
      });
}

void Call::Hash(std::function<Result<nlohmann::json>()> fn, Then then) {
  auto impl = impl_.lock();
  if (!impl) return;
  auto self = shared_from_this();
  GMainContext* ctx = impl->ctx;
  bool queued = impl->hashers.Post(
      [self, fn = std::move(fn), then, ctx](catalog::Db*) mutable {
        Result<nlohmann::json> r = fn();
        glib::Post(ctx, [self, r = std::move(r), then]() mutable {
          self->Finish(std::move(r), then);
        });
      });
  if (!queued) {
    ReplyError(
        Error{ErrorCode::kCancelled, "too many logins at once; retry shortly"});
  }
}

// ---- Impl ------------------------------------------------------------------

Impl::Impl(const Options& o, const storage::Layout& l, catalog::Writer& w,
           MetricsRegistry* m, GMainContext* c)
    : opts(o),
      layout(l),
      writer(w),
      metrics(m),
      ctx(c),
      clock(o.clock ? *o.clock : SystemClock::Get()),
      settings(o.cfg),
      readers("admin-reader", 1, 256, o.catalog_path),
      // Two threads: at most two 64 MiB Argon2id hashes at once.
      hashers("admin-hasher", 2, 8, "") {
  if (metrics) {
    const char* help = "Admin logins by outcome.";
    logins_ok = metrics->GetCounter("vodd_admin_logins_total", help,
                                    {{"outcome", "ok"}});
    logins_failed = metrics->GetCounter("vodd_admin_logins_total", help,
                                        {{"outcome", "failed"}});
    logins_limited = metrics->GetCounter("vodd_admin_logins_total", help,
                                         {{"outcome", "rate_limited"}});
  }
}

bool Impl::IsSecure(SoupServerMessage* msg) const {
  GUri* uri = soup_server_message_get_uri(msg);
  if (uri && g_strcmp0(g_uri_get_scheme(uri), "https") == 0) return true;
  if (settings.effective().server.trust_proxy &&
      http::GetHeader(msg, "X-Forwarded-Proto") == "https") {
    return true;
  }
  return false;
}

std::string Impl::BaseUrl(SoupServerMessage* msg) const {
  const std::string& pub = settings.effective().server.public_url;
  if (!pub.empty()) {
    std::string b = pub;
    while (!b.empty() && b.back() == '/') b.pop_back();
    return b;
  }
  std::string host = http::GetHeader(msg, "Host");
  if (host.empty()) host = "localhost";
  return fmt::format("{}://{}", IsSecure(msg) ? "https" : "http", host);
}

std::string Impl::ClientIp(SoupServerMessage* msg) const {
  if (settings.effective().server.trust_proxy) {
    std::string xff = http::GetHeader(msg, "X-Forwarded-For");
    if (!xff.empty()) {
      // The proxy appends the peer it saw: the last entry is trustworthy.
      auto comma = xff.rfind(',');
      std::string last =
          comma == std::string::npos ? xff : xff.substr(comma + 1);
      last.erase(0, last.find_first_not_of(' '));
      return last;
    }
  }
  const char* host = soup_server_message_get_remote_host(msg);
  return host ? host : "";
}

bool Impl::SameOrigin(SoupServerMessage* msg) const {
  std::string origin = http::GetHeader(msg, "Origin");
  if (origin.empty()) {
    std::string site = http::GetHeader(msg, "Sec-Fetch-Site");
    return site.empty() || site == "same-origin" || site == "none";
  }
  std::string host = http::GetHeader(msg, "Host");
  if (origin == fmt::format("{}://{}", IsSecure(msg) ? "https" : "http", host))
    return true;
  const std::string& pub = settings.effective().server.public_url;
  return !pub.empty() && origin == OriginOf(pub);
}

int64_t Impl::SessionMaxAgeS() const {
  return int64_t{settings.effective().admin.session_absolute_hours} * 3600;
}

std::optional<Principal> Impl::SessionOf(SoupServerMessage* msg) {
  if (!http_db) return std::nullopt;
  std::string header = http::GetHeader(msg, "Cookie");
  if (header.empty()) return std::nullopt;
  auto value = CookieValue(header, kSecureSessionCookie);
  if (!value) value = CookieValue(header, kSessionCookie);
  if (!value || !LooksLikeToken(*value)) return std::nullopt;
  std::string hash = Sha256(*value);
  auto row = catalog::GetSession(*http_db, hash);
  if (!row) {
    LOG_WARN("admin", "session lookup: {}", row.error().message);
    return std::nullopt;
  }
  if (!*row) return std::nullopt;
  const auto& a = settings.effective().admin;
  int64_t now = Now();
  int64_t idle_ms = int64_t{a.session_idle_minutes} * 60'000;
  int64_t abs_ms = int64_t{a.session_absolute_hours} * 3'600'000;
  int64_t& touched = session_touched[hash];
  int64_t last_seen = std::max((*row)->last_seen_at, touched);
  if (now - last_seen > idle_ms || now - (*row)->created_at > abs_ms) {
    session_touched.erase(hash);
    writer.Post<bool>([hash](catalog::Db& db) -> Result<bool> {
      TRY(catalog::DeleteSession(db, hash));
      return true;
    });
    return std::nullopt;
  }
  if (now - last_seen > kTouchEveryMs) {
    touched = now;
    writer.Post<bool>([hash, now](catalog::Db& db) -> Result<bool> {
      TRY(catalog::TouchSession(db, hash, now));
      return true;
    });
  }
  Principal p;
  p.kind = Principal::Kind::kSession;
  p.user = (*row)->user;
  p.session_hash = hash;
  p.csrf_token = (*row)->csrf_token;
  return p;
}

Result<std::optional<Principal>> Impl::TokenOf(SoupServerMessage* msg) {
  std::string auth = http::GetHeader(msg, "Authorization");
  if (auth.empty()) return std::optional<Principal>();
  auto text = upload::BearerToken(auth);
  auto parsed = text ? upload::ParseToken(*text) : std::nullopt;
  if (!parsed) {
    return MakeError(ErrorCode::kUnauthenticated, "malformed bearer token");
  }
  if (!http_db) return MakeError(ErrorCode::kIo, "catalog reader unavailable");
  TRY_ASSIGN(auto tokens, catalog::ListTokens(*http_db));
  auto it = std::find_if(tokens.begin(), tokens.end(),
                         [&](const auto& t) { return t.id == parsed->id; });
  int64_t now = Now();
  if (it == tokens.end() ||
      !upload::HashesEqual(upload::HashSecret(parsed->secret),
                           it->secret_sha256) ||
      it->revoked_at || (it->expires_at && *it->expires_at <= now)) {
    return MakeError(ErrorCode::kUnauthenticated,
                     "unknown, revoked or expired token");
  }
  if (!it->last_used_at || now - *it->last_used_at > 60'000) {
    std::string id = it->id;
    writer.Post<bool>([id, now](catalog::Db& db) -> Result<bool> {
      TRY(catalog::TouchToken(db, id, now));
      return true;
    });
  }
  Principal p;
  p.kind = Principal::Kind::kToken;
  p.token_id = it->id;
  p.scopes = it->scopes;
  return std::optional<Principal>(p);
}

Impl::NewSession Impl::MakeSession(const std::string& user,
                                   const Request& req) const {
  NewSession s;
  s.cookie_value = RandomToken();
  s.row.id_sha256 = Sha256(s.cookie_value);
  s.row.user = user;
  s.row.csrf_token = RandomToken();
  s.row.created_at = s.row.last_seen_at = Now();
  s.row.ip = req.ip;
  return s;
}

void Impl::HandleApi(SoupServerMessage* msg, const std::string& path) {
  Request req;
  req.method = http::Method(msg);
  req.ip = ClientIp(msg);
  req.secure = IsSecure(msg);
  req.base = BaseUrl(msg);
  auto segs = SplitOn(path.substr(std::string(kApiPrefix).size() - 1), '/');

  auto fail = [&](int status, const char* code, const std::string& message) {
    SetSecurityHeaders(msg);
    http::SetHeader(msg, "Cache-Control", "no-store");
    http::RespondError(msg, status, code, message);
  };
  if (!started) return fail(503, "unavailable", "starting up");

  // Route lookup: a path that exists with another method is a 405.
  const Route* route = nullptr;
  bool path_known = false;
  for (const auto& r : routes) {
    if (r.pattern.size() != segs.size()) continue;
    bool match = true;
    std::vector<std::string> params;
    for (size_t i = 0; i < segs.size() && match; ++i) {
      if (r.pattern[i][0] == ':') {
        params.push_back(segs[i]);
      } else {
        match = r.pattern[i] == segs[i];
      }
    }
    if (!match) continue;
    path_known = true;
    if (r.method == req.method) {
      route = &r;
      req.params = std::move(params);
      break;
    }
  }
  if (!route) {
    if (path_known)
      return fail(405, "method_not_allowed", "method not allowed");
    return fail(404, "not_found", "no such API endpoint");
  }

  // Authentication: a Bearer token, or the session cookie.
  auto token = TokenOf(msg);
  if (!token) {
    if (route->access != Access::kPublic) {
      return fail(HttpStatusFor(token.error().code),
                  ErrorCodeName(token.error().code), token.error().message);
    }
  } else if (*token) {
    req.who = **token;
  } else if (auto s = SessionOf(msg)) {
    req.who = *s;
  }
  bool session = req.who.kind == Principal::Kind::kSession;
  switch (route->access) {
    case Access::kPublic:
      break;
    case Access::kSession:
      if (!session) {
        return fail(401, "unauthenticated", "log in first");
      }
      break;
    case Access::kRead:
    case Access::kAdmin:
      if (req.who.kind == Principal::Kind::kNone) {
        return fail(401, "unauthenticated",
                    "log in or send Authorization: Bearer <token>");
      }
      if (!session && !HasScope(req.who.scopes, route->access == Access::kRead
                                                    ? "catalog:read"
                                                    : "admin")) {
        return fail(403, "permission_denied",
                    fmt::format("this token lacks the {} scope",
                                route->access == Access::kRead ? "catalog:read"
                                                               : "admin"));
      }
      break;
  }

  // CSRF: browsers send cookies on their own, so a state-changing request
  // that relies on one must come from our origin and carry the session's
  // token. Login and setup have no session yet but still check the origin.
  if (IsStateChanging(req.method) && req.who.kind != Principal::Kind::kToken) {
    if (!SameOrigin(msg)) {
      return fail(403, "permission_denied", "cross-origin request refused");
    }
    if (session && !SecureEquals(http::GetHeader(msg, "X-CSRF-Token"),
                                 req.who.csrf_token)) {
      return fail(403, "permission_denied",
                  "missing or wrong X-CSRF-Token header");
    }
  }

  // Body: JSON only (a cross-site form cannot send it without a preflight).
  SoupMessageBody* body = soup_server_message_get_request_body(msg);
  if (body && body->length > 0) {
    if (body->length > static_cast<goffset>(kMaxBodyBytes)) {
      return fail(413, "too_large", "request body over 1 MiB");
    }
    std::string ct = http::GetHeader(msg, "Content-Type");
    if (ct.rfind("application/json", 0) != 0) {
      return fail(415, "unsupported", "send Content-Type: application/json");
    }
    req.body = nlohmann::json::parse(
        std::string_view(body->data, static_cast<size_t>(body->length)),
        nullptr, false);
    if (req.body.is_discarded() || !req.body.is_object()) {
      return fail(400, "invalid_argument", "body: expected a JSON object");
    }
  } else if (req.method == "POST" || req.method == "PUT" ||
             req.method == "PATCH") {
    req.body = nlohmann::json::object();
  }
  req.query = QueryOf(msg);

  auto call = std::make_shared<Call>(shared_from_this(), msg, std::move(req));
  route->fn(call);
}

void Impl::HandleAssets(SoupServerMessage* msg, const std::string& path) {
  SetSecurityHeaders(msg);
  std::string method = http::Method(msg);
  if (path == "/") {
    http::SetHeader(msg, "Location", "/admin/");
    return http::Respond(msg, 302, "text/plain", "see /admin/\n");
  }
  if (path == "/admin") {
    http::SetHeader(msg, "Location", "/admin/");
    return http::Respond(msg, 301, "text/plain", "see /admin/\n");
  }
  if (path.rfind("/admin/", 0) != 0) {
    return http::RespondError(msg, 404, "not_found", "no such resource");
  }
  if (method != "GET" && method != "HEAD") {
    http::SetHeader(msg, "Allow", "GET, HEAD");
    return http::RespondError(msg, 405, "method_not_allowed",
                              "method not allowed");
  }
  std::string rel = path.substr(7);
  if (rel.empty()) rel = "index.html";
  const Asset* a = FindAsset(rel);
  if (!a) return http::RespondError(msg, 404, "not_found", "no such file");
  // The page shell is never cached (it is what an authenticated user sees);
  // scripts and styles revalidate on every load so an upgrade shows at once.
  http::SetHeader(msg, "Cache-Control",
                  rel == "index.html" ? "no-store" : "no-cache");
  http::Respond(
      msg, 200, a->content_type,
      std::string_view(reinterpret_cast<const char*>(a->data), a->size));
}

// ---- Admin -----------------------------------------------------------------

Admin::Admin(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Admin::~Admin() { Stop(); }

Result<std::unique_ptr<Admin>> Admin::Create(const Options& opts,
                                             const storage::Layout& layout,
                                             catalog::Writer& writer,
                                             MetricsRegistry* metrics,
                                             GMainContext* ctx) {
  auto impl = std::make_shared<Impl>(opts, layout, writer, metrics, ctx);
  WebhookSenderOptions w = opts.webhooks;
  w.catalog_path = opts.catalog_path;
  if (!w.clock) w.clock = opts.clock;
  TRY_ASSIGN(impl->sender, WebhookSender::Create(w, writer, metrics));
  impl->BuildRoutes();
  return std::unique_ptr<Admin>(new Admin(std::move(impl)));
}

void Admin::Attach(http::Server& server) {
  std::weak_ptr<Impl> weak = impl_;
  server.Handle("/api/v1", [weak](SoupServerMessage* msg,
                                  const std::string& path) {
    auto impl = weak.lock();
    if (!impl) return http::RespondError(msg, 503, "unavailable", "stopped");
    if (path == "/api/v1") {
      return http::RespondError(msg, 404, "not_found", "no such API endpoint");
    }
    impl->HandleApi(msg, path);
  });
  auto assets = [weak](SoupServerMessage* msg, const std::string& path) {
    auto impl = weak.lock();
    if (!impl) return http::RespondError(msg, 503, "unavailable", "stopped");
    impl->HandleAssets(msg, path);
  };
  server.Handle("/admin", assets);
  server.Handle("/", assets);
}

Status Admin::Start() {
  Impl& m = *impl_;
  TRY_ASSIGN(m.http_db, catalog::OpenReader(m.opts.catalog_path));
  TRY_ASSIGN(auto stored, catalog::LoadSettings(*m.http_db));
  m.settings.Load(stored);
  TRY_ASSIGN(int64_t users, catalog::CountAdminUsers(*m.http_db));
  if (users == 0) {
    std::string base = m.settings.effective().server.public_url;
    if (base.empty()) {
      const auto& s = m.settings.effective().server;
      base = fmt::format("http://{}:{}", s.listen_host, s.listen_port);
    }
    int64_t now = m.Now();
    TRY_ASSIGN(m.setup_url,
               m.writer.Call<std::string>([base, now](catalog::Db& db) {
                 return CreateSetupLink(db, base, now);
               }));
    if (m.opts.announce_setup_link) {
      LOG_WARN("admin",
               "no admin user yet. Open this one-time link within 24 h to "
               "create one: {}  (or run: vodd admin passwd NAME)",
               m.setup_url);
    }
  }
  m.readers.Start();
  m.hashers.Start();
  TRY(m.sender->Start());
  m.started = true;
  return Ok();
}

void Admin::Stop() {
  if (!impl_) return;
  impl_->started = false;
  impl_->sender->Stop();
  impl_->hashers.Stop();
  impl_->readers.Stop();
}

std::optional<std::string> Admin::SessionUser(SoupServerMessage* msg) {
  auto p = impl_->SessionOf(msg);
  if (!p) return std::nullopt;
  if (IsStateChanging(http::Method(msg))) {
    if (!impl_->SameOrigin(msg) ||
        !SecureEquals(http::GetHeader(msg, "X-CSRF-Token"), p->csrf_token)) {
      return std::nullopt;
    }
  }
  return p->user;
}

SettingsStore& Admin::settings() { return impl_->settings; }
std::string Admin::setup_url() const { return impl_->setup_url; }

Result<std::string> CreateSetupLink(catalog::Db& db, const std::string& base,
                                    int64_t now_ms) {
  std::string token = RandomToken();
  TRY(catalog::ReplaceSetupToken(db, Sha256(token), now_ms,
                                 now_ms + kSetupLinkValidMs));
  std::string b = base;
  while (!b.empty() && b.back() == '/') b.pop_back();
  return fmt::format("{}/admin/#setup={}", b, token);
}

}  // namespace vodd::admin
