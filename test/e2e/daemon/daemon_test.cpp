// The built vodd binary, as an operator runs it.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include "support/test_util.h"

using namespace vodd::test;

namespace {
std::string Run(const std::string& cmd, int* status) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  *status = pclose(p);
  return out;
}

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
  int status = 0;
  std::string out = Run(std::string(VODD_BINARY) + " check-config --config " +
                            (dir / "vodd.conf"),
                        &status);
  CHECK(WEXITSTATUS(status) != 0);
  CHECK(out.find(dir / "vodd.conf" + ":5: [upload] expiry_hours:") !=
        std::string::npos);

  WriteFile(dir / "vodd.conf", "[server]\nlisten = 127.0.0.1:8080\n");
  out = Run(std::string(VODD_BINARY) + " check-config --config " +
                (dir / "vodd.conf"),
            &status);
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(out.find(": ok") != std::string::npos);

  // The shipped sample is valid.
  out = Run(std::string(VODD_BINARY) + " check-config --config " VODD_SOURCE_DIR
                                       "/config/vodd.conf",
            &status);
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("serve refuses a broken config before touching anything", "[e2e]") {
  TempDir dir;
  WriteFile(dir / "vodd.conf",
            "[storage]\ndata_dir = " + dir.path() + "/data\nbogus = 1\n");
  int status = 0;
  std::string out =
      Run(std::string(VODD_BINARY) + " serve --config " + (dir / "vodd.conf"),
          &status);
  CHECK(WEXITSTATUS(status) == 2);
  CHECK(out.find(":3: [storage] bogus: unknown key") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "data"));
}

TEST_CASE("version and print-config work without a config", "[e2e]") {
  int status = 0;
  std::string out = Run(std::string(VODD_BINARY) + " version", &status);
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(out.find("vodd ") == 0);
  CHECK(out.find("GStreamer 1.22") != std::string::npos);
  out = Run(std::string(VODD_BINARY) + " print-config", &status);
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(out.find("[server]\nlisten = 127.0.0.1:8080\n") == 0);
}
