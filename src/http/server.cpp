#include "vodd/http/server.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "vodd/core/log.h"

namespace vodd::http {

Result<std::unique_ptr<Server>> Server::Create(const Options& opts,
                                               MetricsRegistry* metrics) {
  std::unique_ptr<Server> s(new Server());
  s->opts_ = opts;
  s->metrics_ = metrics;
  // libsoup's own "server-header" would advertise its version; keep it short.
  s->server_ = glib::Adopt(SOUP_SERVER(
      g_object_new(SOUP_TYPE_SERVER, "server-header", "vodd", nullptr)));
  if (!s->server_)
    return MakeError(ErrorCode::kInternal, "soup_server_new failed");
  soup_server_add_handler(s->server_.get(), nullptr, &Server::OnRequest,
                          s.get(), nullptr);
  g_signal_connect(s->server_.get(), "request-finished",
                   G_CALLBACK(&Server::OnRequestFinished), s.get());
  return s;
}

Server::~Server() { Stop(); }

void Server::Handle(const std::string& prefix, Handler h) {
  routes_.emplace_back(prefix, std::move(h));
  std::sort(routes_.begin(), routes_.end(), [](const auto& a, const auto& b) {
    return a.first.size() > b.first.size();
  });
}

namespace {
struct EarlyRoute {
  Handler h;
};
void OnEarly(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*,
             gpointer data) noexcept {
  static_cast<EarlyRoute*>(data)->h(msg, path ? path : "/");
}
void DeleteEarly(gpointer data) noexcept {
  delete static_cast<EarlyRoute*>(data);
}
}  // namespace

void Server::HandleEarly(const std::string& prefix, Handler h) {
  soup_server_add_early_handler(server_.get(), prefix.c_str(), OnEarly,
                                new EarlyRoute{std::move(h)}, DeleteEarly);
  // libsoup keeps one handler record per path: without a normal callback on
  // the same path, requests under `prefix` would end with an empty 500
  // instead of reaching the routes registered with Handle().
  soup_server_add_handler(server_.get(), prefix.c_str(), &Server::OnRequest,
                          this, nullptr);
}

void Server::OnRequest(SoupServer*, SoupServerMessage* msg, const char* path,
                       GHashTable*, gpointer self) noexcept {
  auto* s = static_cast<Server*>(self);
  std::string p = path ? path : "/";
  for (auto& [prefix, h] : s->routes_) {
    if (p.compare(0, prefix.size(), prefix) == 0 &&
        (p.size() == prefix.size() || prefix.back() == '/' ||
         p[prefix.size()] == '/')) {
      h(msg, p);
      return;
    }
  }
  RespondError(msg, 404, "not_found", "no such resource");
}

namespace {
std::string HandlerLabel(const char* path) {
  std::string p = path ? path : "/";
  for (const char* h : {"/files", "/v/", "/api/", "/admin", "/healthz",
                        "/readyz", "/metrics"}) {
    if (p.rfind(h, 0) == 0) {
      std::string l = h;
      l.erase(std::remove(l.begin(), l.end(), '/'), l.end());
      return l;
    }
  }
  return "other";
}
}  // namespace

void Server::OnRequestFinished(SoupServer*, SoupServerMessage* msg,
                               gpointer self) noexcept {
  auto* s = static_cast<Server*>(self);
  if (!s->metrics_) return;
  GUri* uri = soup_server_message_get_uri(msg);
  std::string method = soup_server_message_get_method(msg);
  if (method != "GET" && method != "HEAD" && method != "POST" &&
      method != "PATCH" && method != "PUT" && method != "DELETE" &&
      method != "OPTIONS") {
    method = "other";
  }
  s->metrics_
      ->GetCounter(
          "vodd_http_requests_total", "HTTP requests answered.",
          {{"handler", HandlerLabel(uri ? g_uri_get_path(uri) : "/")},
           {"method", method},
           {"code", std::to_string(soup_server_message_get_status(msg))}})
      ->Inc();
}

Status Server::Start() {
  GError* err = nullptr;
  GInetAddress* addr = g_inet_address_new_from_string(opts_.host.c_str());
  if (!addr) {
    // A host name: resolve "localhost" style names to loopback only.
    if (opts_.host == "localhost")
      addr = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    else
      return MakeError(ErrorCode::kInvalidArgument,
                       "listen host must be an IP address: " + opts_.host);
  }
  GSocketAddress* sa =
      g_inet_socket_address_new(addr, static_cast<guint16>(opts_.port));
  g_object_unref(addr);
  gboolean ok = soup_server_listen(
      server_.get(), sa, static_cast<SoupServerListenOptions>(0), &err);
  g_object_unref(sa);
  if (!ok) {
    glib::ErrorPtr e(err);
    return MakeError(ErrorCode::kIo,
                     fmt::format("listen on {}:{}: {}", opts_.host, opts_.port,
                                 glib::ErrorMessage(e.get())));
  }
  GSList* uris = soup_server_get_uris(server_.get());
  if (uris) port_ = g_uri_get_port(static_cast<GUri*>(uris->data));
  g_slist_free_full(uris, reinterpret_cast<GDestroyNotify>(g_uri_unref));
  return Ok();
}

void Server::Stop() {
  if (server_) soup_server_disconnect(server_.get());
}

std::string Server::BaseUrl() const {
  std::string host = opts_.host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  if (host == "0.0.0.0") host = "127.0.0.1";
  return fmt::format("http://{}:{}", host, port_);
}

void Respond(SoupServerMessage* msg, int status, std::string_view content_type,
             std::string_view body) {
  soup_server_message_set_status(msg, static_cast<guint>(status), nullptr);
  if (content_type.empty()) {
    soup_server_message_set_response(msg, nullptr, SOUP_MEMORY_COPY, nullptr,
                                     0);
  } else {
    std::string ct(content_type);
    soup_server_message_set_response(msg, ct.c_str(), SOUP_MEMORY_COPY,
                                     body.data(), body.size());
  }
}

void SetHeader(SoupServerMessage* msg, const char* name,
               std::string_view value) {
  std::string v(value);
  soup_message_headers_replace(soup_server_message_get_response_headers(msg),
                               name, v.c_str());
}

std::string GetHeader(SoupServerMessage* msg, const char* name) {
  const char* v = soup_message_headers_get_one(
      soup_server_message_get_request_headers(msg), name);
  return v ? v : "";
}

bool HasHeader(SoupServerMessage* msg, const char* name) {
  return soup_message_headers_get_one(
             soup_server_message_get_request_headers(msg), name) != nullptr;
}

std::string Method(SoupServerMessage* msg) {
  return soup_server_message_get_method(msg);
}

void RespondError(SoupServerMessage* msg, int status, std::string_view code,
                  std::string_view message) {
  nlohmann::json j = {{"error", {{"code", code}, {"message", message}}}};
  SetHeader(msg, "Cache-Control", "no-store");
  Respond(msg, status, "application/json", j.dump());
}

PausedMessage::PausedMessage(SoupServerMessage* msg) : msg_(glib::Ref(msg)) {
  soup_server_message_pause(msg);
}

void PausedMessage::Resume() {
  if (!resumed_) {
    resumed_ = true;
    soup_server_message_unpause(msg_.get());
  }
}

}  // namespace vodd::http
