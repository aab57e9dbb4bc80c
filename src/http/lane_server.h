// The lane's threads (see vodd/http/lane.h): each runs an epoll loop over
// the shared listening socket (EPOLLEXCLUSIVE), its connections and an
// eventfd for replies posted from other threads. Internal to the http
// module; Server owns it.
#pragma once

#include <libsoup/soup.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "vodd/core/metrics.h"
#include "vodd/http/lane.h"

namespace vodd::http {

class LaneServer {
 public:
  struct Options {
    int listen_fd = -1;  // listening, non-blocking; stays the caller's
    std::string prefix;  // empty: every request goes to libsoup
    LaneHandler handler;
    int threads = 1;
    SoupServer* soup = nullptr;          // hand-offs; ref'd by the lane
    GMainContext* ctx = nullptr;         // libsoup's context (the HTTP thread)
    MetricsRegistry* metrics = nullptr;  // may be null
  };
  explicit LaneServer(Options opts);
  ~LaneServer();
  void Start();
  // Joins the threads and closes every lane connection. Connections already
  // handed to libsoup are libsoup's. HTTP thread. Idempotent.
  void Stop();

  struct Worker;
  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
};

}  // namespace vodd::http
