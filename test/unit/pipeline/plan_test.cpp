#include <catch2/catch.hpp>

#include "vodd/pipeline/media.h"

namespace vodd::pipeline {
namespace {

ProbeResult Video(int w, int h, int fps_num = 30, int fps_den = 1,
                  int rotation = 0) {
  ProbeResult p;
  p.duration_ms = 10000;
  p.video = VideoStreamInfo{};
  p.video->width = w;
  p.video->height = h;
  p.video->fps_num = fps_num;
  p.video->fps_den = fps_den;
  p.video->rotation = rotation;
  p.audio = AudioStreamInfo{48000, 2, "AAC", "und"};
  return p;
}

std::vector<std::string> Sizes(const LadderPlan& plan) {
  std::vector<std::string> out;
  for (const auto& r : plan.video) {
    out.push_back(r.name + ":" + std::to_string(r.width) + "x" +
                  std::to_string(r.height) + "@" +
                  std::to_string(r.bitrate_kbps));
  }
  return out;
}

const config::PipelineConfig kDefaults;

TEST_CASE("plan: landscape 1080p30 gets the whole default ladder", "[plan]") {
  auto plan = PlanLadder(Video(1920, 1080), kDefaults).value();
  CHECK(Sizes(plan) ==
        std::vector<std::string>{"v1080:1920x1080@5000", "v720:1280x720@3000",
                                 "v480:854x480@1200", "v360:640x360@700"});
  CHECK(plan.audio);
  CHECK(plan.audio_bitrate_kbps == 128);
  CHECK(plan.fps_num == 30);
  CHECK(plan.fps_den == 1);
  CHECK(plan.segment_seconds == 4);
  CHECK(plan.segment_frames == 120);
  CHECK(plan.gop_frames == 60);
}

TEST_CASE("plan: never upscale, a 720p source starts at 720", "[plan]") {
  auto plan = PlanLadder(Video(1280, 720), kDefaults).value();
  CHECK(Sizes(plan) == std::vector<std::string>{"v720:1280x720@3000",
                                                "v480:854x480@1200",
                                                "v360:640x360@700"});
}

TEST_CASE("plan: portrait sources get a portrait ladder", "[plan]") {
  auto plan = PlanLadder(Video(1080, 1920), kDefaults).value();
  CHECK(Sizes(plan) ==
        std::vector<std::string>{"v1080:1080x1920@5000", "v720:720x1280@3000",
                                 "v480:480x854@1200", "v360:360x640@700"});
}

TEST_CASE("plan: rotation tags turn a coded landscape phone video portrait",
          "[plan]") {
  auto plan = PlanLadder(Video(1920, 1080, 30, 1, 90), kDefaults).value();
  REQUIRE(!plan.video.empty());
  CHECK(plan.video.front().width == 1080);
  CHECK(plan.video.front().height == 1920);
  plan = PlanLadder(Video(1920, 1080, 30, 1, 180), kDefaults).value();
  CHECK(plan.video.front().width == 1920);
}

TEST_CASE("plan: odd and tiny sources get one even rung at their own size",
          "[plan]") {
  auto plan = PlanLadder(Video(321, 241, 25), kDefaults).value();
  REQUIRE(plan.video.size() == 1);
  CHECK(plan.video[0].width == 320);
  CHECK(plan.video[0].height == 240);
  CHECK(plan.video[0].name == "v240");
  CHECK(plan.video[0].bitrate_kbps > 100);
  CHECK(plan.video[0].bitrate_kbps < 700);
  // Odd sizes between rungs: scaled rungs stay even.
  plan = PlanLadder(Video(1001, 563), kDefaults).value();
  for (const auto& r : plan.video) {
    CHECK(r.width % 2 == 0);
    CHECK(r.height % 2 == 0);
  }
}

TEST_CASE("plan: anamorphic pixels widen the display size", "[plan]") {
  auto p = Video(1440, 1080);
  p.video->par_num = 4;
  p.video->par_den = 3;
  auto plan = PlanLadder(p, kDefaults).value();
  CHECK(plan.video.front().width == 1920);
  CHECK(plan.video.front().height == 1080);
}

TEST_CASE("plan: a source between two rungs keeps its own size on top",
          "[plan]") {
  // PAL SD, 16:9 anamorphic: 576 lines between the 720 and 480 rungs.
  auto pal = Video(720, 576, 25);
  pal.video->par_num = 64;
  pal.video->par_den = 45;
  auto plan = PlanLadder(pal, kDefaults).value();
  // 1200 + (576² − 480²) / (720² − 480²) × (3000 − 1200) kb/s
  CHECK(Sizes(plan) == std::vector<std::string>{"v576:1024x576@1834",
                                                "v480:854x480@1200",
                                                "v360:640x360@700"});
  // Within 10 % of the rung below: that rung is the top.
  CHECK(PlanLadder(Video(1280, 740), kDefaults).value().video.front().name ==
        "v720");
  // Above the largest rung: the operator's ladder caps it, no 4K rung.
  CHECK(Sizes(PlanLadder(Video(3840, 2160), kDefaults).value()).front() ==
        "v1080:1920x1080@5000");
}

TEST_CASE(
    "plan: frame rates kept, capped by whole divisors, GOP divides a segment",
    "[plan]") {
  auto plan = PlanLadder(Video(1280, 720, 25), kDefaults).value();
  CHECK(plan.segment_frames == 100);
  CHECK(plan.gop_frames == 50);

  plan = PlanLadder(Video(1280, 720, 60), kDefaults).value();
  CHECK(plan.fps_num == 60);
  CHECK(plan.segment_frames == 240);
  CHECK(plan.gop_frames == 120);

  plan = PlanLadder(Video(1280, 720, 120), kDefaults).value();
  CHECK(plan.fps_num == 60);
  CHECK(plan.fps_den == 1);

  plan = PlanLadder(Video(1280, 720, 90), kDefaults).value();
  CHECK(plan.fps_num == 45);

  plan = PlanLadder(Video(1280, 720, 30000, 1001), kDefaults).value();
  CHECK(plan.fps_num == 30000);
  CHECK(plan.fps_den == 1001);
  CHECK(plan.segment_frames == 120);
  CHECK(plan.gop_frames == 60);

  // Variable frame rate (reported as 0/1) becomes 30.
  plan = PlanLadder(Video(1280, 720, 0, 1), kDefaults).value();
  CHECK(plan.fps_num == 30);

  config::PipelineConfig five = kDefaults;
  five.segment_seconds = 5;
  plan = PlanLadder(Video(1280, 720, 25), five).value();
  CHECK(plan.segment_frames == 125);
  CHECK(plan.gop_frames == 25);  // largest divisor of 125 within 2 s
  for (auto [fps, seconds] :
       std::vector<std::pair<int, int>>{{24, 3}, {30, 5}, {60, 6}, {50, 2}}) {
    config::PipelineConfig c = kDefaults;
    c.segment_seconds = seconds;
    plan = PlanLadder(Video(1280, 720, fps), c).value();
    CHECK(plan.segment_frames == fps * seconds);
    CHECK(plan.segment_frames % plan.gop_frames == 0);
    CHECK(plan.gop_frames <= 2 * fps);
  }
}

TEST_CASE("plan: segment length is clamped to 2–6 s", "[plan]") {
  config::PipelineConfig c = kDefaults;
  c.segment_seconds = 10;
  CHECK(PlanLadder(Video(1280, 720), c).value().segment_seconds == 6);
  c.segment_seconds = 1;
  CHECK(PlanLadder(Video(1280, 720), c).value().segment_seconds == 2);
}

TEST_CASE("plan: audio only, video only, nothing", "[plan]") {
  ProbeResult audio_only;
  audio_only.duration_ms = 5000;
  audio_only.audio = AudioStreamInfo{44100, 1, "AAC", "eng"};
  auto plan = PlanLadder(audio_only, kDefaults).value();
  CHECK(plan.video.empty());
  CHECK(plan.audio);

  auto video_only = Video(640, 360);
  video_only.audio.reset();
  plan = PlanLadder(video_only, kDefaults).value();
  CHECK(!plan.audio);
  CHECK(Sizes(plan) == std::vector<std::string>{"v360:640x360@700"});

  ProbeResult nothing;
  CHECK(PlanLadder(nothing, kDefaults).error().code == ErrorCode::kMedia);

  auto no_size = Video(0, 0);
  CHECK(PlanLadder(no_size, kDefaults).error().code == ErrorCode::kMedia);
}

}  // namespace
}  // namespace vodd::pipeline
