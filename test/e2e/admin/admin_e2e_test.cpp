// The admin page end to end: the built vodd binary with a generated config,
// a short ffmpeg clip, a 40 MiB file of random bytes, and admin.mjs driving a
// browser through first-run setup, upload, preview playback, an upload
// resumed after a page reload, settings, tokens and logout. Once in Debian's
// Chromium (playwright-core) and once in Debian's Firefox ESR (puppeteer-core
// over WebDriver BiDi). Screenshots are kept in test/artifacts/admin/ and
// test/artifacts/admin-firefox/.
#include <catch2/catch.hpp>

#include <iostream>
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

// Runs admin.mjs in `browser` against a fresh daemon and checks every step.
void RunAdminPage(const std::string& browser, const std::string& artifacts) {
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
  // Three tus chunks at the page's 16 MiB chunk size.
  out = Run("head -c 41943040 /dev/urandom > " + dir / "resume-test.bin",
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

  out = Run("node " + std::string(VODD_SOURCE_DIR) +
                "/test/e2e/admin/admin.mjs " + browser + " " + base + " '" +
                link + "' " + dir / "clip.mp4" + " " + dir / "resume-test.bin" +
                " " + dir / "data" + " " + std::string(VODD_SOURCE_DIR) +
                "/test/artifacts/" + artifacts,
            &status);
  std::cout << out << std::flush;  // the step log, for ctest -V
  INFO(out);
  INFO(ReadFile(log));
  CHECK(status == 0);
  CHECK(out.find("ok   upload a clip through the page and watch it reach "
                 "ready") != std::string::npos);
  CHECK(out.find("ok   the library lists it and the preview plays") !=
        std::string::npos);
  CHECK(out.find("ok   an upload resumes after a page reload") !=
        std::string::npos);
  CHECK(out.find("ok   log out") != std::string::npos);
}

}  // namespace

TEST_CASE(
    "the admin page in Chromium: setup, upload to ready, play, resume after "
    "reload, settings, tokens, logout",
    "[e2e]") {
  RunAdminPage("chromium", "admin");
}

TEST_CASE(
    "the admin page in Firefox: setup, upload to ready, play, resume after "
    "reload, settings, tokens, logout",
    "[e2e]") {
  RunAdminPage("firefox", "admin-firefox");
}
