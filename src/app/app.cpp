#include "vodd/app/app.h"
#include "vodd/app/wiring.h"

#include <glib-unix.h>
#include <gst/gst.h>
#include <sqlite3.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "vodd/admin/settings.h"
#include "vodd/catalog/admin.h"
#include "vodd/core/log.h"
#include "vodd/core/version.h"
#include "vodd/glib/main_context.h"

namespace vodd::app {

App::App(config::Config cfg, storage::Layout layout)
    : cfg_(std::move(cfg)), layout_(std::move(layout)) {}

Result<std::unique_ptr<App>> App::Create(config::Config cfg,
                                         std::string config_path) {
  SetLogLevel(cfg.server.log_level);
  TRY_ASSIGN(auto layout, storage::Layout::Create(cfg.storage.data_dir));
  std::unique_ptr<App> app(new App(std::move(cfg), std::move(layout)));
  app->config_path_ = std::move(config_path);
  app->ctx_ = g_main_context_ref_thread_default();
  app->loop_.reset(g_main_loop_new(app->ctx_, FALSE));

  TRY_ASSIGN(app->writer_, catalog::Writer::Create(app->layout_.CatalogPath(),
                                                   &app->metrics_));
  // Settings saved on the admin page (catalog table `settings`) lie over the
  // config file; values that no longer validate are skipped with a warning.
  const config::Config file_cfg = app->cfg_;
  {
    using Stored = std::map<std::string, std::string>;
    TRY_ASSIGN(auto stored, app->writer_->Call<Stored>([](catalog::Db& db) {
      return catalog::LoadSettings(db);
    }));
    admin::SettingsStore settings(app->cfg_);
    settings.Load(stored);
    app->cfg_ = settings.effective();
  }
  app->live_ = std::make_unique<config::LiveConfig>(file_cfg, app->cfg_);
  app->live_->Subscribe([](const config::Config& next, const config::Config&) {
    SetLogLevel(next.server.log_level);
  });
  TRY_ASSIGN(app->server_, http::Server::Create({app->cfg_.server.listen_host,
                                                 app->cfg_.server.listen_port},
                                                &app->metrics_));
  app->metrics_
      .GetGauge("vodd_build_info", "Build information.",
                {{"version", kVersion},
                 {"gstreamer",
                  gst_version_string() + std::string_view("GStreamer ").size()},
                 {"sqlite", sqlite3_libversion()}})
      ->Set(1);
  app->InstallHealthHandlers();

  Context wctx{app->cfg_,     app->layout_, *app->writer_, app->metrics_,
               *app->server_, app->ctx_,    *app->live_};
  wctx.file_cfg = &file_cfg;
  for (auto wire : {WireUpload, WirePipeline, WireOrigin, WireAdmin}) {
    TRY_ASSIGN(auto component, wire(wctx));
    if (component) app->components_.push_back(std::move(component));
  }
  return app;
}

App::~App() {
  Shutdown();
  if (ctx_) g_main_context_unref(ctx_);
}

void App::InstallHealthHandlers() {
  server_->Handle("/healthz", [](SoupServerMessage* msg, const std::string&) {
    http::SetHeader(msg, "Cache-Control", "no-store");
    http::Respond(msg, 200, "text/plain", "ok\n");
  });
  server_->Handle(
      "/metrics", [this](SoupServerMessage* msg, const std::string&) {
        http::SetHeader(msg, "Cache-Control", "no-store");
        http::Respond(msg, 200, "text/plain; version=0.0.4; charset=utf-8",
                      metrics_.Render());
      });
  // Readiness runs on the writer thread: an empty BEGIN IMMEDIATE/COMMIT
  // proves the catalog writable; a probe file proves the data folder
  // writable; statvfs checks the free-space floor. The answer is posted back.
  server_->Handle("/readyz", [this](SoupServerMessage* msg,
                                    const std::string&) {
    auto paused = std::make_shared<http::PausedMessage>(msg);
    std::string tmp = layout_.TmpDir();
    std::string root = layout_.root();
    int64_t floor = live_->current().storage.min_free_mib * 1024 * 1024;
    GMainContext* ctx = ctx_;
    writer_->Post<nlohmann::json>(
        [tmp, root, floor](catalog::Db&) -> Result<nlohmann::json> {
          nlohmann::json checks;
          checks["catalog"] = "ok";
          std::string probe = tmp + "/.readyz-probe";
          {
            std::ofstream f(probe);
            f << "ok";
            checks["data_dir"] = f.good() ? "ok" : "not writable";
          }
          unlink(probe.c_str());
          auto free_bytes = storage::FreeBytes(root);
          if (!free_bytes) {
            checks["disk"] = free_bytes.error().message;
          } else if (*free_bytes < floor) {
            checks["disk"] = fmt::format(
                "{} bytes free, below the {} byte floor", *free_bytes, floor);
          } else {
            checks["disk"] = "ok";
          }
          return checks;
        },
        [paused, ctx](Result<nlohmann::json> r) {
          glib::Post(ctx, [paused, r = std::move(r)] {
            nlohmann::json checks =
                r ? *r : nlohmann::json{{"catalog", r.error().message}};
            bool ok = true;
            for (auto& [k, v] : checks.items()) ok = ok && v == "ok";
            http::SetHeader(paused->get(), "Cache-Control", "no-store");
            http::Respond(
                paused->get(), ok ? 200 : 503, "application/json",
                nlohmann::json{{"ready", ok}, {"checks", checks}}.dump());
            paused->Resume();
          });
        });
  });
}

namespace {
gboolean OnSignal(gpointer self) noexcept {
  LOG_INFO("app", "signal received, shutting down");
  static_cast<App*>(self)->RequestStop();
  return G_SOURCE_CONTINUE;
}
gboolean OnHangup(gpointer self) noexcept {
  LOG_INFO("app", "SIGHUP: reloading the configuration");
  static_cast<App*>(self)->ReloadConfig();
  return G_SOURCE_CONTINUE;
}
}  // namespace

int App::Run() {
  if (auto s = server_->Start(); !s) {
    LOG_ERROR("app", "{}", s.error().message);
    return 1;
  }
  for (auto& c : components_) {
    if (auto s = c->Start(); !s) {
      LOG_ERROR("app", "start failed: {}", s.error().message);
      Shutdown();
      return 1;
    }
  }
  guint sigterm = g_unix_signal_add(SIGTERM, OnSignal, this);
  guint sigint = g_unix_signal_add(SIGINT, OnSignal, this);
  guint sighup = g_unix_signal_add(SIGHUP, OnHangup, this);

  std::string base = cfg_.server.public_url.empty() ? server_->BaseUrl()
                                                    : cfg_.server.public_url;
  LOG_INFO("app", "vodd {} serving {} (data in {})", kVersion, base,
           layout_.root());
  LOG_INFO("app", "  health   {}/healthz  {}/readyz  {}/metrics", base, base,
           base);
  LOG_INFO("app", "  uploads  {}/files/   origin {}/v/   admin {}/admin/", base,
           base, base);

  sd_notify(0, "READY=1\nSTATUS=serving");
  uint64_t watchdog_usec = 0;
  if (sd_watchdog_enabled(0, &watchdog_usec) > 0) {
    watchdog_ = glib::AddTimer(
        ctx_, std::chrono::milliseconds(watchdog_usec / 2000), [] {
          sd_notify(0, "WATCHDOG=1");
          return true;
        });
  }
  g_main_loop_run(loop_.get());
  sd_notify(0, "STOPPING=1");
  g_source_remove(sigterm);
  g_source_remove(sigint);
  g_source_remove(sighup);
  Shutdown();
  LOG_INFO("app", "stopped cleanly");
  return 0;
}

void App::ReloadConfig() {
  // The files are read on a plain thread (never file I/O on the HTTP loop,
  // nor inside one of the writer's transactions); the result is applied on
  // the HTTP thread, where the subscribers live.
  if (reload_busy_.exchange(true)) {
    LOG_WARN("app", "SIGHUP: a reload is still reading the files; ignored");
    return;
  }
  if (reload_thread_.joinable()) reload_thread_.join();  // finished already
  reload_thread_ = std::thread([this, path = config_path_, ctx = ctx_] {
    Result<config::Config> r = config::Load(path);
    glib::Post(ctx, [this, r = std::move(r)] {
      reload_busy_ = false;
      if (!r) {
        LOG_ERROR("app", "reload refused, the running config stays: {}",
                  r.error().message);
        return;
      }
      live_->ReloadFiles(*r);
    });
  });
}

void App::RequestStop() {
  glib::Post(ctx_, [this] {
    if (server_) server_->Stop();
    g_main_loop_quit(loop_.get());
  });
}

void App::Shutdown() {
  watchdog_.reset();
  if (reload_thread_.joinable()) reload_thread_.join();
  if (server_) server_->Stop();
  for (auto it = components_.rbegin(); it != components_.rend(); ++it)
    (*it)->Stop();
  components_.clear();
  server_.reset();
  if (writer_) writer_->Stop();
}

}  // namespace vodd::app
