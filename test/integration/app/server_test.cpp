// The daemon's App on 127.0.0.1:0 in a thread with its own main context,
// answered by a libcurl client.
#include <catch2/catch.hpp>

#include <gst/gst.h>

#include <thread>

#include "support/test_util.h"
#include "vodd/app/app.h"

using namespace vodd;
using vodd::test::Http;
using vodd::test::TempDir;

namespace {
struct RunningApp {
  explicit RunningApp(config::Config cfg) {
    thread = std::thread([this, cfg]() mutable {
      GMainContext* ctx = g_main_context_new();
      g_main_context_push_thread_default(ctx);
      auto created = app::App::Create(std::move(cfg));
      if (created) {
        app = std::move(*created);
        ready = true;
        exit_code = app->Run();
      } else {
        error = created.error().message;
        ready = true;
      }
      app.reset();
      g_main_context_pop_thread_default(ctx);
      g_main_context_unref(ctx);
    });
    vodd::test::HangGuard guard("App::Create", std::chrono::seconds(120));
    while (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    for (int i = 0; i < 500 && app && app->port() == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~RunningApp() {
    // CI once waited 15 minutes here; a hang now shows its stacks.
    vodd::test::HangGuard guard("App::Run returning after RequestStop",
                                std::chrono::seconds(120));
    if (app) app->RequestStop();
    thread.join();
  }
  std::string Url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(app->port()) + path;
  }
  std::unique_ptr<app::App> app;
  std::atomic<bool> ready{false};
  std::string error;
  int exit_code = -1;
  std::thread thread;
};

config::Config TestConfig(const TempDir& dir) {
  config::Config c = config::Defaults();
  c.server.listen_port = 0;
  c.server.log_level = LogLevel::kWarn;
  c.storage.data_dir = dir / "data";
  c.storage.min_free_mib = 0;
  return c;
}
}  // namespace

TEST_CASE("the server answers /healthz, /readyz and /metrics",
          "[integration]") {
  gst_init(nullptr, nullptr);
  TempDir dir;
  RunningApp run(TestConfig(dir));
  REQUIRE(run.error.empty());
  REQUIRE(run.app->port() > 0);

  auto h = Http("GET", run.Url("/healthz"));
  CHECK(h.status == 200);
  CHECK(h.body == "ok\n");
  CHECK(h.headers["cache-control"] == "no-store");

  auto r = Http("GET", run.Url("/readyz"));
  CHECK(r.status == 200);
  CHECK(r.body.find("\"ready\":true") != std::string::npos);

  auto m = Http("GET", run.Url("/metrics"));
  CHECK(m.status == 200);
  CHECK(m.headers["content-type"].find("text/plain; version=0.0.4") == 0);
  CHECK(m.body.find("vodd_build_info{version=\"") != std::string::npos);
  CHECK(m.body.find("process_cpu_seconds_total ") != std::string::npos);
  CHECK(m.body.find("process_resident_memory_bytes ") != std::string::npos);
  // Requests are counted by handler and code.
  CHECK(m.body.find("vodd_http_requests_total{handler=\"healthz\",method="
                    "\"GET\",code=\"200\"} 1") != std::string::npos);

  auto missing = Http("GET", run.Url("/no/such/thing"));
  CHECK(missing.status == 404);
  CHECK(missing.body.find("\"code\":\"not_found\"") != std::string::npos);
}

TEST_CASE("/readyz fails when free space is below the floor", "[integration]") {
  gst_init(nullptr, nullptr);
  TempDir dir;
  auto cfg = TestConfig(dir);
  cfg.storage.min_free_mib = int64_t{1} << 30;  // 1 PiB: never available
  RunningApp run(cfg);
  REQUIRE(run.error.empty());
  auto r = Http("GET", run.Url("/readyz"));
  CHECK(r.status == 503);
  CHECK(r.body.find("below the") != std::string::npos);
  CHECK(Http("GET", run.Url("/healthz")).status == 200);  // alive, not ready
}

TEST_CASE("a second server on a taken port fails to start with a clear error",
          "[integration]") {
  gst_init(nullptr, nullptr);
  TempDir d1, d2;
  RunningApp first(TestConfig(d1));
  REQUIRE(first.error.empty());
  auto cfg = TestConfig(d2);
  cfg.server.listen_port = first.app->port();
  auto created = app::App::Create(cfg);
  REQUIRE(created);
  CHECK((*created)->Run() == 1);
}
