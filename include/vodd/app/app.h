// The daemon: wires the modules, owns the threads, handles signals.
//
// Threads: the main thread runs the GLib main loop (HTTP, timers, signals) and
// never blocks; the catalog writer thread owns every SQLite write; modules add
// their own workers (upload I/O, pipeline supervisor) and post results back
// to the main context. See docs/architecture.md.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "vodd/catalog/writer.h"
#include "vodd/config/config.h"
#include "vodd/config/live.h"
#include "vodd/core/metrics.h"
#include "vodd/glib/ptr.h"
#include "vodd/http/server.h"
#include "vodd/storage/storage.h"

namespace vodd::app {

// A part of the daemon with a lifetime: started after the catalog is open and
// the server is listening, stopped in reverse order on shutdown. Stop() must
// return within the shutdown timeout.
class Component {
 public:
  virtual ~Component() = default;
  virtual Status Start() { return Ok(); }
  virtual void Stop() {}
};

class App {
 public:
  // Opens the data folder and the catalog (migrating it), creates the server
  // and every component. Call on the thread that will call Run().
  // `config_path` is what SIGHUP re-reads ("" for built-in defaults).
  static Result<std::unique_ptr<App>> Create(config::Config cfg,
                                             std::string config_path = "");
  ~App();

  // Listens, starts components, notifies systemd, runs the main loop until
  // SIGTERM/SIGINT or RequestStop(), then shuts down cleanly. Returns the
  // process exit code.
  int Run();
  // Thread-safe.
  void RequestStop();

  // Started and listening (tests poll this from another thread).
  int port() const { return server_ ? server_->port() : 0; }
  const storage::Layout& layout() const { return layout_; }
  catalog::Writer& writer() { return *writer_; }
  MetricsRegistry& metrics() { return metrics_; }
  const config::Config& config() const { return cfg_; }
  // The running configuration (HTTP thread only).
  config::LiveConfig& live() { return *live_; }
  // Re-reads the config files off the HTTP thread and applies their live
  // options (what SIGHUP does). Thread-safe.
  void ReloadConfig();

 private:
  App(config::Config cfg, storage::Layout layout);
  void InstallHealthHandlers();
  void Shutdown();

  config::Config cfg_;
  std::string config_path_;
  std::unique_ptr<config::LiveConfig> live_;
  storage::Layout layout_;
  MetricsRegistry metrics_;
  std::unique_ptr<catalog::Writer> writer_;
  std::unique_ptr<http::Server> server_;
  std::vector<std::unique_ptr<Component>> components_;
  glib::MainLoopPtr loop_;
  GMainContext* ctx_ = nullptr;
  glib::SourcePtr watchdog_;
  // Reads the config files for a SIGHUP reload (file I/O stays off the HTTP
  // thread and out of the writer's transactions); one at a time.
  std::thread reload_thread_;
  std::atomic<bool> reload_busy_{false};
};

}  // namespace vodd::app
