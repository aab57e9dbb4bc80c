// Split-and-stitch end to end: the built daemon with split forced (sources
// over 10 s, 6 s chunks, 2 s segments, two workers) ingests a generated
// 30 s clip, which becomes 5 chunk jobs, an audio job and a stitch job; the
// published video is then
//  - complete: ffprobe counts every frame through master.m3u8;
//  - playable across every join: hls.js and dash.js in Chromium play it
//    from start to end with no stall and no error (play_joins.mjs).
#include <catch2/catch.hpp>

#include "support/e2e_env.h"
#include "support/test_util.h"

using namespace vodd::test;

namespace {

constexpr int kSeconds = 30;
constexpr int kFps = 25;

PublishedClip& Shared() {
  // B-frames (veryfast) and a 2.5 s source GOP: chunk starts fall between
  // source keyframes and the source has an edit list.
  static PublishedClip env(
      "[pipeline]\nworkers = 2\nladder = 360:700,240:300\n"
      "segment_seconds = 2\nsplit_threshold_s = 10\nchunk_seconds = 6\n",
      kSeconds, kFps, "-preset veryfast -g 62", std::chrono::seconds(300));
  return env;
}

}  // namespace

TEST_CASE("a split video is published complete: every frame, in 5 chunks",
          "[e2e][split]") {
  PublishedClip& env = Shared();
  REQUIRE(env.ok());
  const std::string log = ReadFile(env.vodd.log);
  INFO(log);
  CHECK(log.find("split into 5 chunk(s), audio and a stitch") !=
        std::string::npos);
  // Every job of the group ran once: no chunk needed a retry.
  CHECK(log.find(", attempt 1/") != std::string::npos);
  CHECK(log.find(", attempt 2/") == std::string::npos);
  CommandResult r = RunCommand(
      "ffprobe -v error -select_streams v:0 -count_frames -show_entries "
      "stream=nb_read_frames -of csv=p=0 '" +
      env.Url("master.m3u8") + "' 2>&1");
  INFO(r.out);
  CHECK(r.status == 0);
  CHECK(std::atoi(r.out.c_str()) == kSeconds * kFps);
}

TEST_CASE("hls.js and dash.js play a split video across every join",
          "[e2e][split][browser]") {
  PublishedClip& env = Shared();
  REQUIRE(env.ok());
  CommandResult r =
      RunCommand("node " + std::string(VODD_SOURCE_DIR) +
                 "/test/e2e/split/play_joins.mjs " + env.vodd.base + "/v/" +
                 env.video + " " + std::to_string(kSeconds) + " 2>&1");
  const std::string& out = r.out;
  INFO(out);
  CHECK(r.status == 0);
  CHECK(std::count(out.begin(), out.end(), '\n') == 2);
  CHECK(out.find("\"ok\":false") == std::string::npos);
}
