// The built vodd binary, as an operator runs it.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sqlite3.h>

#include <chrono>
#include <thread>

#include "support/test_util.h"

using namespace vodd::test;

namespace {
std::string Config(const TempDir& dir, int port) {
  return "[server]\nlisten = 127.0.0.1:" + std::to_string(port) +
         "\n[storage]\ndata_dir = " + dir.path() + "/data\nmin_free_mib = 0\n";
}
}  // namespace

TEST_CASE("SIGTERM stops the daemon with exit 0 and the catalog intact",
          "[e2e]") {
  TempDir dir;
  int port = FreePort();
  WriteFile(dir / "vodd.conf", Config(dir, port));
  Daemon d({"serve", "--config", dir / "vodd.conf"}, dir / "vodd.log");
  std::string base = "http://127.0.0.1:" + std::to_string(port);
  REQUIRE(d.WaitHealthy(base + "/healthz"));
  CHECK(Http("GET", base + "/readyz").status == 200);
  int status = d.Signal(SIGTERM);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  std::string log = ReadFile(dir / "vodd.log");
  CHECK(log.find("serving " + base) != std::string::npos);
  CHECK(log.find("stopped cleanly") != std::string::npos);

  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2((dir / "data/db/catalog.db").c_str(), &db,
                          SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, nullptr) ==
          SQLITE_OK);
  REQUIRE(sqlite3_step(s) == SQLITE_ROW);
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, 0))) ==
        "ok");
  sqlite3_finalize(s);
  sqlite3_close(db);
  // The checkpoint on shutdown leaves no WAL content behind.
  std::error_code ec;
  auto wal = std::filesystem::file_size(dir / "data/db/catalog.db-wal", ec);
  CHECK((ec || wal == 0));
}

TEST_CASE("SIGINT also shuts down cleanly, and a restart reopens the catalog",
          "[e2e]") {
  TempDir dir;
  int port = FreePort();
  WriteFile(dir / "vodd.conf", Config(dir, port));
  std::string base = "http://127.0.0.1:" + std::to_string(port);
  for (int round = 0; round < 2; ++round) {
    Daemon d({"serve", "--config", dir / "vodd.conf"}, dir / "vodd.log");
    REQUIRE(d.WaitHealthy(base + "/healthz"));
    int status = d.Signal(SIGINT);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
}

TEST_CASE("check-config names the file, line and key of an error", "[e2e]") {
  TempDir dir;
  WriteFile(
      dir / "vodd.conf",
      "[server]\nlisten = 127.0.0.1:8080\n\n[upload]\nexpiry_hours = soon\n");
  const std::string check =
      std::string(VODD_BINARY) + " check-config 2>&1 --config ";
  CommandResult res = RunCommand(check + (dir / "vodd.conf"));
  CHECK(res.status != 0);
  CHECK(res.out.find(dir / "vodd.conf" + ":5: [upload] expiry_hours:") !=
        std::string::npos);

  WriteFile(dir / "vodd.conf", "[server]\nlisten = 127.0.0.1:8080\n");
  res = RunCommand(check + (dir / "vodd.conf"));
  CHECK(res.status == 0);
  CHECK(res.out.find(": ok") != std::string::npos);

  // The shipped sample is valid.
  res = RunCommand(check + VODD_SOURCE_DIR "/config/vodd.conf");
  CHECK(res.status == 0);
}

TEST_CASE("serve refuses a broken config before touching anything", "[e2e]") {
  TempDir dir;
  WriteFile(dir / "vodd.conf",
            "[storage]\ndata_dir = " + dir.path() + "/data\nbogus = 1\n");
  CommandResult res = RunCommand(std::string(VODD_BINARY) +
                                 " serve 2>&1 --config " + (dir / "vodd.conf"));
  CHECK(res.status == 2);
  CHECK(res.out.find(":3: [storage] bogus: unknown key") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "data"));
}

TEST_CASE("version and print-config work without a config", "[e2e]") {
  CommandResult res = RunCommand(std::string(VODD_BINARY) + " version 2>&1");
  CHECK(res.status == 0);
  CHECK(res.out.find("vodd ") == 0);
  CHECK(res.out.find("GStreamer 1.22") != std::string::npos);
  res = RunCommand(std::string(VODD_BINARY) + " print-config 2>&1");
  CHECK(res.status == 0);
  CHECK(res.out.find("[server]\nlisten = 127.0.0.1:8080\n") == 0);
}

namespace {
// Polls `probe` (10 s at most) until it returns true.
template <typename Fn>
bool Eventually(Fn probe) {
  for (int i = 0; i < 200; ++i) {
    if (probe()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}
}  // namespace

TEST_CASE("SIGHUP re-reads the config: live options apply, others wait",
          "[e2e]") {
  TempDir dir;
  int port = FreePort();
  std::string base_cfg = Config(dir, port);
  WriteFile(
      dir / "vodd.conf",
      base_cfg + "[upload]\nmax_size_mib = 100\n[pipeline]\nworkers = 1\n");
  Daemon d({"serve", "--config", dir / "vodd.conf"}, dir / "vodd.log");
  std::string base = "http://127.0.0.1:" + std::to_string(port);
  REQUIRE(d.WaitHealthy(base + "/healthz"));
  auto max_size = [&] {
    return Http("OPTIONS", base + "/files/").headers["tus-max-size"];
  };
  auto target = [&] {
    return Http("GET", base + "/metrics").body.find("vodd_workers_target 3") !=
           std::string::npos;
  };
  CHECK(max_size() == std::to_string(100LL << 20));

  // Live options (upload limit, worker count) apply; the listen address is
  // restart-only: logged, and the daemon keeps serving where it was.
  int other_port = FreePort();
  std::string changed = base_cfg;
  changed.replace(changed.find(std::to_string(port)),
                  std::to_string(port).size(), std::to_string(other_port));
  WriteFile(
      dir / "vodd.conf",
      changed + "[upload]\nmax_size_mib = 200\n[pipeline]\nworkers = 3\n");
  kill(d.pid(), SIGHUP);
  CHECK(Eventually([&] { return max_size() == std::to_string(200LL << 20); }));
  CHECK(Eventually(target));
  CHECK(Eventually([&] {
    return ReadFile(dir / "vodd.log")
               .find("server.listen changed: takes effect after a restart") !=
           std::string::npos;
  }));
  CHECK(Http("GET", base + "/healthz").status == 200);

  // A broken file is refused as a whole; the running values stay.
  WriteFile(dir / "vodd.conf", base_cfg + "[upload]\nmax_size_mib = lots\n");
  kill(d.pid(), SIGHUP);
  CHECK(Eventually([&] {
    return ReadFile(dir / "vodd.log").find("reload refused") !=
           std::string::npos;
  }));
  CHECK(max_size() == std::to_string(200LL << 20));
  CHECK(target());
  int status = d.Signal(SIGTERM);
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
}
