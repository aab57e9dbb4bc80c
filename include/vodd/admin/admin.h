// The admin module: the REST API at /api/v1/, the admin page at /admin/
// (assets compiled into the binary), authentication (admin users with
// Argon2id passwords, server-side sessions, CSRF; scoped API tokens) and
// the webhook outbox sender. It does not transcode, store uploads or serve
// media: it reads and edits the catalog and calls the other modules' catalog
// functions.
//
//   curl -s http://127.0.0.1:8080/api/v1/videos -H "Authorization: Bearer $T"
//
// Threads: handlers run on the HTTP thread and never block. Short reads
// (session and token checks) use the HTTP thread's own read-only connection;
// other reads run on the module's reader thread, writes on the catalog
// writer, password hashing on two hasher threads (at most two Argon2id
// hashes of 64 MiB at once); results are posted back to the HTTP context.
// Webhooks are sent by WebhookSender on its own thread.
#pragma once

#include <glib.h>
#include <libsoup/soup.h>

#include <memory>
#include <optional>
#include <string>

#include "vodd/admin/settings.h"
#include "vodd/admin/webhook_sender.h"
#include "vodd/catalog/writer.h"
#include "vodd/config/config.h"
#include "vodd/core/clock.h"
#include "vodd/core/metrics.h"
#include "vodd/core/result.h"
#include "vodd/http/server.h"
#include "vodd/storage/storage.h"

namespace vodd::admin {

struct Options {
  config::Config cfg;               // the file's configuration
  std::string catalog_path;         // each thread opens it read-only
  const Clock* clock = nullptr;     // null: SystemClock
  WebhookSenderOptions webhooks;    // catalog_path/clock filled in by Create
  bool announce_setup_link = true;  // log the one-time link at Start
};

struct Impl;  // src/admin/admin_impl.h

class Admin {
 public:
  // `layout`, `writer`, `metrics` (may be null) outlive the module; `ctx` is
  // the HTTP thread's context. Errors: kIo.
  static Result<std::unique_ptr<Admin>> Create(const Options& opts,
                                               const storage::Layout& layout,
                                               catalog::Writer& writer,
                                               MetricsRegistry* metrics,
                                               GMainContext* ctx);
  ~Admin();
  Admin(const Admin&) = delete;
  Admin& operator=(const Admin&) = delete;

  // Registers /api/v1/ and /admin/ (and "/" → /admin/). Before Start.
  void Attach(http::Server& server);
  // On the HTTP thread before the loop serves: loads settings, opens the
  // HTTP thread's reader, creates a setup link when no admin user exists,
  // starts the reader, hasher and webhook threads. Errors: kIo.
  Status Start();
  // Joins every thread. Idempotent.
  void Stop();

  // The upload module's hook: the session user when `msg` carries a valid
  // admin session cookie and, for a state-changing method, a matching
  // X-CSRF-Token and a same-origin Origin. HTTP thread; does not block
  // beyond one indexed read.
  std::optional<std::string> SessionUser(SoupServerMessage* msg);

  // Settings with observers (HTTP thread).
  SettingsStore& settings();
  // The URL printed at Start when no admin exists (empty otherwise).
  std::string setup_url() const;

 private:
  explicit Admin(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

// Creates a fresh one-time setup token (replacing any earlier one, valid for
// 24 h) and returns the link to open, "<base>/admin/#setup=<token>". For
// `vodd admin setup-url` and the first start. Writer thread (inside Call).
Result<std::string> CreateSetupLink(catalog::Db& db, const std::string& base,
                                    int64_t now_ms);

}  // namespace vodd::admin
