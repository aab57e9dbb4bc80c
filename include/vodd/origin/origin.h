// The origin: serves HLS and DASH of published videos under /v/ the way a
// CDN expects (see docs/architecture.md "Origin" for the URL scheme).
//
//   curl -i http://127.0.0.1:8080/v/<video>/master.m3u8
//   curl -i -H 'Range: bytes=0-99' http://127.0.0.1:8080/v/<video>/1/v720/1.m4s
//
// Threads: every public method and every handler runs on the HTTP thread
// (the main context passed to Create), which never blocks. Catalog reads,
// manifest rendering + gzip and file reads run on the origin's loader
// threads; their results are posted back with glib::Post and the paused
// message is resumed. State (the per-version manifest cache, the hot-segment
// LRU, the single-flight tables) is owned by the HTTP thread.
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

  // Registers the /v/ handler. Call before the server starts.
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

  // The request handler (public for tests that drive it directly).
  void Handle(SoupServerMessage* msg, const std::string& path);

 private:
  struct Impl;
  explicit Origin(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vodd::origin
