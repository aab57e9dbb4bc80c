#include "vodd/http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "http/lane_server.h"
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

void Server::HandleLane(const std::string& prefix, LaneHandler h) {
  lane_prefix_ = prefix;
  lane_handler_ = std::move(h);
}

namespace {
// A listening TCP socket on host:port (non-blocking, close-on-exec).
Result<int> ListenOn(const std::string& host, int port) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  std::string h = host == "localhost" ? "127.0.0.1" : host;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof *v4;
  } else if (inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof *v6;
  } else {
    return MakeError(ErrorCode::kInvalidArgument,
                     "listen host must be an IP address: " + host);
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoError(errno, "socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (ss.ss_family == AF_INET6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
      listen(fd, 1024) != 0) {
    int err = errno;
    close(fd);
    return MakeError(ErrorCode::kIo, fmt::format("listen on {}:{}: {}", host,
                                                 port, std::strerror(err)));
  }
  return fd;
}
}  // namespace

Status Server::Start() {
  TRY_ASSIGN(listen_fd_, ListenOn(opts_.host, opts_.port));
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len);
  port_ = ntohs(ss.ss_family == AF_INET6
                    ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                    : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  // libsoup keeps a connection alive after a response only while it has a
  // listener (request_finished checks priv->listeners), and every
  // connection reaches it through soup_server_accept_iostream. Its
  // placeholder listener is one end of a socketpair whose other end never
  // writes, so it never accepts anything; soup_server_disconnect drops it
  // with the clients.
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    return ErrnoError(errno, "socketpair");
  GError* err = nullptr;
  GSocket* placeholder = g_socket_new_from_fd(pair[0], &err);
  if (!placeholder) {
    close(pair[0]);
    close(pair[1]);
    glib::ErrorPtr e(err);
    return MakeError(ErrorCode::kInternal, glib::ErrorMessage(e.get()));
  }
  anchor_fd_ = pair[1];
  gboolean ok =
      soup_server_listen_socket(server_.get(), placeholder,
                                static_cast<SoupServerListenOptions>(0), &err);
  g_object_unref(placeholder);
  if (!ok) {
    glib::ErrorPtr e(err);
    return MakeError(ErrorCode::kInternal, glib::ErrorMessage(e.get()));
  }
  LaneServer::Options lo;
  lo.listen_fd = listen_fd_;
  lo.prefix = lane_prefix_;
  lo.handler = lane_handler_;
  lo.threads =
      static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  lo.soup = server_.get();
  lo.ctx = g_main_context_ref_thread_default();
  g_main_context_unref(lo.ctx);  // the server lives on this context anyway
  lo.metrics = metrics_;
  lane_ = std::make_unique<LaneServer>(std::move(lo));
  lane_->Start();
  return Ok();
}

void Server::Stop() {
  if (lane_) lane_->Stop();
  lane_.reset();
  if (listen_fd_ >= 0) close(listen_fd_);
  listen_fd_ = -1;
  if (server_) soup_server_disconnect(server_.get());
  if (anchor_fd_ >= 0) close(anchor_fd_);
  anchor_fd_ = -1;
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
