// The origin: serves HLS and DASH of published videos under /v/ the way a
// CDN expects (see docs/architecture.md "Origin" for the URL scheme).
//
//   curl -i http://127.0.0.1:8080/v/<video>/master.m3u8
//   curl -i -H 'Range: bytes=0-99' http://127.0.0.1:8080/v/<video>/1/v720/1.m4s
//
// Threads: requests arrive on the HTTP server's lane threads (vodd/http/
// lane.h) and, for connections libsoup already owns, on the HTTP thread (the
// main context passed to Create); neither blocks. Catalog reads, manifest
// rendering + gzip and file opens run on the origin's loader threads, which
// complete the waiting requests themselves (a lane reply wakes its lane
// thread; a libsoup message is filled in from a glib::Post). Shared state
// (the per-version manifest cache, the open-file LRU, the single-flight
// tables, the live settings) sits behind one mutex held only for lookups
// and updates. Attach, Start, Stop and Reconfigure run on the HTTP thread.
//
// What it does not do: live/EVENT playlists, multi-range responses (a
// multi-range request gets the whole object), CloudFront-signed cookies,
// manifest rewriting with per-viewer tokens.
#pragma once

#include <glib.h>
#include <libsoup/soup.h>

#include <memory>
#include <string>

#include "vodd/config/config.h"
#include "vodd/core/clock.h"
#include "vodd/core/metrics.h"
#include "vodd/core/result.h"
#include "vodd/http/server.h"
#include "vodd/storage/storage.h"

namespace vodd::origin {

struct Options {
  config::OriginConfig cfg;
  std::string catalog_path;  // each loader thread opens it read-only
  int loader_threads = 2;
  const Clock* clock = nullptr;  // null: SystemClock
};

class Origin {
 public:
  // Opens the media root beneath `layout` (the directory every file is
  // opened relative to). `metrics` must outlive the origin. Errors: kIo when
  // the media root cannot be opened, kInvalidArgument for a bad key.
  static Result<std::unique_ptr<Origin>> Create(const Options& opts,
                                                const storage::Layout& layout,
                                                MetricsRegistry* metrics,
                                                GMainContext* ctx);
  ~Origin();
  Origin(const Origin&) = delete;
  Origin& operator=(const Origin&) = delete;

  // Registers the /v/ handlers (lane and libsoup). Call before the server
  // starts.
  void Attach(http::Server& server);
  // Starts the loader threads.
  Status Start();
  // Stops the loader threads; requests still waiting are dropped with their
  // connection. Idempotent.
  void Stop();

  // Applies live settings (cache headers, origin secret, signing keys, token
  // name, clock skew) to the next requests; the keys were validated by the
  // option table. HTTP thread.
  void Reconfigure(const config::OriginConfig& cfg);

  // The request handlers (public for tests that drive them directly):
  // libsoup's (path decoded once by libsoup) and the lane's (raw target).
  void Handle(SoupServerMessage* msg, const std::string& path);
  void Handle(http::LaneRequest&& req, http::LaneReply reply);

 private:
  struct Impl;
  explicit Origin(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vodd::origin
