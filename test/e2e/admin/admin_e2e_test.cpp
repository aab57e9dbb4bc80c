// The admin page end to end: the built vodd binary with a generated config,
// a short ffmpeg clip, and admin.mjs driving Debian's Chromium through
// first-run setup, upload, preview playback, settings, tokens and logout.
// Screenshots are kept in test/artifacts/admin/.
#include <catch2/catch.hpp>

#include <regex>

#include "support/test_util.h"

using namespace vodd::test;

namespace {

std::string Run(const std::string& cmd, int* status) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int rc = pclose(p);
  *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

}  // namespace

TEST_CASE(
    "the admin page in Chromium: setup, upload to ready, play, "
    "settings, tokens, logout",
    "[e2e]") {
  TempDir dir;
  int port = FreePort();
  std::string base = "http://127.0.0.1:" + std::to_string(port);
  WriteFile(dir / "vodd.conf",
            "[server]\nlisten = 127.0.0.1:" + std::to_string(port) +
                "\n[storage]\ndata_dir = " + dir.path() +
                "/data\nmin_free_mib = 0\n[pipeline]\nworkers = 1\n"
                "ladder = 360:700,240:300\nsprite_interval_s = 1\n");
  int status = 0;
  std::string out =
      Run("ffmpeg -nostdin -loglevel error -y -f lavfi -i "
          "testsrc2=size=640x360:rate=25 -f lavfi -i "
          "sine=frequency=440:sample_rate=48000 -t 6 -c:v libx264 -preset "
          "ultrafast -pix_fmt yuv420p -c:a aac -shortest " +
              dir / "clip.mp4",
          &status);
  REQUIRE(status == 0);

  std::string log = dir / "vodd.log";
  Daemon daemon({"serve", "--config", dir / "vodd.conf"}, log);
  REQUIRE(daemon.WaitHealthy(base + "/healthz"));
  // First start prints the one-time setup link.
  std::smatch m;
  std::string text = ReadFile(log);
  REQUIRE(std::regex_search(text, m,
                            std::regex("(http://\\S+/admin/#setup=\\S+)")));
  std::string link = m[1];
  INFO(text);

  std::string artifacts =
      std::string(VODD_SOURCE_DIR) + "/test/artifacts/admin";
  out = Run("node " + std::string(VODD_SOURCE_DIR) +
                "/test/e2e/admin/admin.mjs " + base + " '" + link + "' " +
                dir / "clip.mp4" + " " + artifacts,
            &status);
  INFO(out);
  INFO(ReadFile(log));
  CHECK(status == 0);
  CHECK(out.find("ok   upload a clip through the page and watch it reach "
                 "ready") != std::string::npos);
  CHECK(out.find("ok   the library lists it and the preview plays") !=
        std::string::npos);
}
