// The tus 1.0.0 endpoint at /files/: creation (+with-upload, defer-length),
// expiration with a sweeper, checksum (sha1, sha256, md5), termination and
// concatenation over the catalog's uploads table. It does not transcode; a
// completed upload becomes a video row and a queued job in one transaction.
//
//   curl -i -X OPTIONS http://127.0.0.1:8080/files/
//
// Threads: everything here runs on the HTTP thread except file I/O (the
// module's I/O thread) and catalog writes (the catalog writer thread); both
// post their results back with glib::Post. See docs/upload.md.
#pragma once

#include <libsoup/soup.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "vodd/catalog/writer.h"
#include "vodd/config/config.h"
#include "vodd/core/clock.h"
#include "vodd/core/metrics.h"
#include "vodd/core/result.h"
#include "vodd/http/server.h"
#include "vodd/storage/storage.h"

namespace vodd::upload {

struct HandlerOptions {
  config::UploadConfig upload;
  int64_t min_free_bytes = 0;  // storage.min_free_mib in bytes
  std::string public_url;      // "" → relative Location headers
  std::string base_path = "/files/";
  int max_attempts = 3;                       // for the transcode job
  std::string default_policy = "public";      // of the video: public|signed
  std::chrono::milliseconds lock_wait{3000};  // then 423
  std::chrono::milliseconds sweep_every{60000};
  std::chrono::milliseconds token_refresh_every{2000};
};

// Hook for the admin issue: returns a principal when the request carries a
// valid admin session (cookie), which then may create and write uploads
// like a token holder. Runs on the HTTP thread; must not block.
using SessionAuthorizer =
    std::function<std::optional<std::string>(SoupServerMessage*)>;

class TusHandler {
 public:
  // `ctx` is the HTTP thread's context; `clock` outlives the handler.
  static Result<std::unique_ptr<TusHandler>> Create(
      const HandlerOptions& opts, const storage::Layout& layout,
      catalog::Writer& writer, MetricsRegistry* metrics, GMainContext* ctx,
      const Clock& clock);
  ~TusHandler();

  // Registers the /files routes (early + normal handler). HTTP thread.
  void Install(http::Server& server);
  // Reconciles files with catalog rows (blocking; call before the main loop
  // serves requests), loads tokens, starts the I/O thread, the idle-timeout
  // check and the expiration sweeper. Errors: kIo from the catalog or disk.
  Status Start();
  // Stops timers, cuts streaming requests and drains the I/O thread.
  void Stop();
  void SetSessionAuthorizer(SessionAuthorizer auth);
  // Applies live settings: `upload` limits, min_free_bytes, max_attempts and
  // default_policy of `live` (its other fields are ignored). Requests already
  // streaming keep the limits they started with. HTTP thread.
  void Reconfigure(const HandlerOptions& live);
  // Runs one expiration sweep now (tests). HTTP thread.
  void SweepNow();

  struct Impl;

 private:
  TusHandler() = default;
  std::shared_ptr<Impl> impl_;
};

}  // namespace vodd::upload
