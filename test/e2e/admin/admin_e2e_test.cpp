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

#include "support/e2e_env.h"
#include "support/test_util.h"

using namespace vodd::test;

namespace {

// Runs admin.mjs in `browser` against a fresh daemon and checks every step.
void RunAdminPage(const std::string& browser, const std::string& artifacts) {
  E2eVodd vodd;
  vodd.Configure(
      "[pipeline]\nworkers = 1\nladder = 360:700,240:300\n"
      "sprite_interval_s = 1\n");
  std::string clip = vodd.FfmpegClip("clip.mp4", 6, 25, "-preset ultrafast");
  REQUIRE(!clip.empty());
  // Three tus chunks at the page's 16 MiB chunk size.
  std::string big = vodd.dir / "resume-test.bin";
  REQUIRE(
      RunCommand("head -c 41943040 /dev/urandom > " + big + " 2>&1").status ==
      0);

  REQUIRE(vodd.Start());
  // First start prints the one-time setup link.
  std::smatch m;
  std::string text = ReadFile(vodd.log);
  REQUIRE(std::regex_search(text, m,
                            std::regex("(http://\\S+/admin/#setup=\\S+)")));
  std::string link = m[1];
  INFO(text);

  CommandResult r = RunCommand(
      "node " + std::string(VODD_SOURCE_DIR) + "/test/e2e/admin/admin.mjs " +
      browser + " " + vodd.base + " '" + link + "' " + clip + " " + big + " " +
      vodd.dir / "data" + " " + std::string(VODD_SOURCE_DIR) +
      "/test/artifacts/" + artifacts + " 2>&1");
  const std::string& out = r.out;
  std::cout << out << std::flush;  // the step log, for ctest -V
  INFO(out);
  INFO(ReadFile(vodd.log));
  CHECK(r.status == 0);
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
    "the admin page in Chromium: setup, upload to ready, play, process again, "
    "resume after reload, settings, tokens, logout",
    "[e2e]") {
  RunAdminPage("chromium", "admin");
}

TEST_CASE(
    "the admin page in Firefox: setup, upload to ready, play, process again, "
    "resume after reload, settings, tokens, logout",
    "[e2e]") {
  RunAdminPage("firefox", "admin-firefox");
}
