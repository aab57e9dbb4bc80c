// Split-and-stitch end to end: the built daemon with split forced (sources
// over 10 s, 6 s chunks, 2 s segments, two workers) ingests a generated
// 30 s clip, which becomes 5 chunk jobs, an audio job and a stitch job; the
// published video is then
//  - complete: ffprobe counts every frame through master.m3u8;
//  - playable across every join: hls.js and dash.js in Chromium play it
//    from start to end with no stall and no error (play_joins.mjs).
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <regex>

#include "support/test_util.h"

using namespace vodd::test;

namespace {

constexpr int kSeconds = 30;
constexpr int kFps = 25;

std::string Run(const std::string& cmd, int* status) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int rc = pclose(p);
  *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

struct Env {
  TempDir dir;
  int port = FreePort();
  std::string base, video, log;
  std::unique_ptr<Daemon> daemon;
  bool ok = false;

  Env() {
    base = "http://127.0.0.1:" + std::to_string(port);
    log = dir / "vodd.log";
    WriteFile(dir / "vodd.conf",
              "[server]\nlisten = 127.0.0.1:" + std::to_string(port) +
                  "\n[storage]\ndata_dir = " + dir.path() +
                  "/data\nmin_free_mib = 0\n[pipeline]\nworkers = 2\n"
                  "ladder = 360:700,240:300\nsegment_seconds = 2\n"
                  "split_threshold_s = 10\nchunk_seconds = 6\n");
    int status = 0;
    // B-frames (veryfast) and a 2.5 s source GOP: chunk starts fall between
    // source keyframes and the source has an edit list.
    std::string out = Run(
        "ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=640x360:"
        "rate=" +
            std::to_string(kFps) +
            " -f lavfi -i sine=frequency=440:sample_rate=48000 -t " +
            std::to_string(kSeconds) +
            " -c:v libx264 -preset veryfast -g 62 -pix_fmt yuv420p -c:a aac "
            "-shortest " +
            dir / "clip.mp4",
        &status);
    if (status != 0) {
      FAIL_CHECK("ffmpeg: " << out);
      return;
    }
    daemon = std::make_unique<Daemon>(
        std::vector<std::string>{"serve", "--config", dir / "vodd.conf"}, log);
    if (!daemon->WaitHealthy(base + "/healthz")) {
      FAIL_CHECK("daemon did not start: " << ReadFile(log));
      return;
    }
    out = Run(std::string(VODD_BINARY) + " ingest -c " + dir / "vodd.conf" +
                  " " + dir / "clip.mp4",
              &status);
    std::smatch m;
    if (status != 0 ||
        !std::regex_search(out, m, std::regex("video ([0-9a-f]{32})"))) {
      FAIL_CHECK("ingest: " << out);
      return;
    }
    video = m[1];
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(300);
    while (std::chrono::steady_clock::now() < end) {
      if (Http("GET", Url("master.m3u8")).status == 200) {
        ok = true;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    FAIL_CHECK("video never published: " << ReadFile(log));
  }
  std::string Url(const std::string& rest) const {
    return base + "/v/" + video + "/" + rest;
  }
};

Env& Shared() {
  static Env env;
  return env;
}

}  // namespace

TEST_CASE("a split video is published complete: every frame, in 5 chunks",
          "[e2e][split]") {
  Env& env = Shared();
  REQUIRE(env.ok);
  const std::string log = ReadFile(env.log);
  INFO(log);
  CHECK(log.find("split into 5 chunk(s), audio and a stitch") !=
        std::string::npos);
  // Every job of the group ran once: no chunk needed a retry.
  CHECK(log.find(", attempt 1/") != std::string::npos);
  CHECK(log.find(", attempt 2/") == std::string::npos);
  int status = 0;
  std::string out =
      Run("ffprobe -v error -select_streams v:0 -count_frames -show_entries "
          "stream=nb_read_frames -of csv=p=0 '" +
              env.Url("master.m3u8") + "'",
          &status);
  INFO(out);
  CHECK(status == 0);
  CHECK(std::atoi(out.c_str()) == kSeconds * kFps);
}

TEST_CASE("hls.js and dash.js play a split video across every join",
          "[e2e][split][browser]") {
  Env& env = Shared();
  REQUIRE(env.ok);
  int status = 0;
  std::string out = Run("node " + std::string(VODD_SOURCE_DIR) +
                            "/test/e2e/split/play_joins.mjs " + env.base +
                            "/v/" + env.video + " " + std::to_string(kSeconds),
                        &status);
  INFO(out);
  CHECK(status == 0);
  CHECK(std::count(out.begin(), out.end(), '\n') == 2);
  CHECK(out.find("\"ok\":false") == std::string::npos);
}
