// The HTTP server: vodd's own listening socket, the fast lane's threads for
// the prefix registered with HandleLane (vodd/http/lane.h), and libsoup 3 on
// the calling thread's default main context (the "HTTP thread") for every
// other request: the lane hands such connections to libsoup untouched
// (soup_server_accept_iostream). libsoup handlers run on the HTTP thread and
// must never block: they answer at once, or pause the message, hand work to
// another thread, and unpause from a glib::Post back to this context.
//
//   curl -i http://127.0.0.1:8080/healthz
#pragma once

#include <libsoup/soup.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vodd/core/metrics.h"
#include "vodd/core/result.h"
#include "vodd/glib/ptr.h"
#include "vodd/http/lane.h"

namespace vodd::http {

class LaneServer;

using Handler =
    std::function<void(SoupServerMessage* msg, const std::string& path)>;

class Server {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    int port = 8080;  // 0: any free port
  };
  // Creates the server bound to the thread-default main context. `metrics`
  // may be null. Errors: kInternal.
  static Result<std::unique_ptr<Server>> Create(const Options& opts,
                                                MetricsRegistry* metrics);
  ~Server();

  // Routes requests whose path starts with `prefix` ("/files" matches
  // "/files" and "/files/…"); the longest prefix wins. Call before Start.
  void Handle(const std::string& prefix, Handler h);
  // Early handler (request-started → got-headers) for streaming bodies:
  // soup_server_add_early_handler semantics.
  void HandleEarly(const std::string& prefix, Handler h);

  // Serves GET/HEAD/OPTIONS requests under `prefix` ("/v/") on the lane;
  // at most one prefix. Call before Start. A request under `prefix` that
  // reaches libsoup (on a connection handed over earlier) still goes to the
  // Handle() routes, so register both.
  void HandleLane(const std::string& prefix, LaneHandler h);

  // Starts listening. Errors: kIo (address in use, …).
  Status Start();
  // Stops accepting and drops every connection (lane and libsoup).
  void Stop();
  int port() const { return port_; }
  // "http://127.0.0.1:8080" of the first listener.
  std::string BaseUrl() const;
  SoupServer* raw() const { return server_.get(); }

 private:
  Server() = default;
  static void OnRequest(SoupServer*, SoupServerMessage* msg, const char* path,
                        GHashTable*, gpointer self) noexcept;
  static void OnRequestFinished(SoupServer*, SoupServerMessage* msg,
                                gpointer self) noexcept;
  Options opts_;
  glib::ObjectPtr<SoupServer> server_;
  std::vector<std::pair<std::string, Handler>> routes_;
  int port_ = 0;
  MetricsRegistry* metrics_ = nullptr;
  std::string lane_prefix_;
  LaneHandler lane_handler_;
  int listen_fd_ = -1;
  int anchor_fd_ = -1;  // the peer of libsoup's placeholder listener
  std::unique_ptr<LaneServer> lane_;
};

// Response helpers for handlers. `body` is copied into the message.
void Respond(SoupServerMessage* msg, int status, std::string_view content_type,
             std::string_view body);
void SetHeader(SoupServerMessage* msg, const char* name,
               std::string_view value);
std::string GetHeader(SoupServerMessage* msg, const char* name);
bool HasHeader(SoupServerMessage* msg, const char* name);
std::string Method(SoupServerMessage* msg);
// {"error":{"code":"…","message":"…"}} with the status.
void RespondError(SoupServerMessage* msg, int status, std::string_view code,
                  std::string_view message);

// Keeps a paused message alive until Resume(); Resume unpauses it.
class PausedMessage {
 public:
  explicit PausedMessage(SoupServerMessage* msg);
  SoupServerMessage* get() const { return msg_.get(); }
  void Resume();

 private:
  glib::ObjectPtr<SoupServerMessage> msg_;
  bool resumed_ = false;
};

}  // namespace vodd::http
