// Split planning and the split-and-stitch job payloads (pure).
#include <catch2/catch.hpp>

#include "vodd/pipeline/split.h"
#include "vodd/pipeline/worker_protocol.h"

namespace vodd::pipeline {
namespace {

ProbeResult Source(int64_t duration_ms, int fps_num = 30, int fps_den = 1,
                   bool audio = true) {
  ProbeResult p;
  p.duration_ms = duration_ms;
  p.container = "Quicktime";
  p.video = VideoStreamInfo{};
  p.video->width = 1280;
  p.video->height = 720;
  p.video->fps_num = fps_num;
  p.video->fps_den = fps_den;
  p.video->codec = "H.264";
  if (audio) p.audio = AudioStreamInfo{48000, 2, "AAC", "eng"};
  return p;
}

config::PipelineConfig Split(int threshold_s, int chunk_s, int segment_s = 2) {
  config::PipelineConfig c;
  c.split_threshold_s = threshold_s;
  c.chunk_seconds = chunk_s;
  c.segment_seconds = segment_s;
  return c;
}

std::optional<SplitPlan> Make(const ProbeResult& p,
                              const config::PipelineConfig& c) {
  return MakeSplitPlan(p, PlanLadder(p, c).value(), c);
}

TEST_CASE("split plan: off, short, audio-only and one-chunk sources stay whole",
          "[split]") {
  CHECK(!Make(Source(600'000), Split(0, 60)));  // off by default
  CHECK(!Make(Source(30'000), Split(30, 10)));  // not longer
  CHECK(!Make(Source(11'000), Split(10, 10)));  // tail merged: one chunk
  ProbeResult audio_only = Source(600'000);
  audio_only.video.reset();
  CHECK(!MakeSplitPlan(audio_only, PlanLadder(audio_only, Split(1, 10)).value(),
                       Split(1, 10)));
}

TEST_CASE("split plan: contiguous whole-segment chunks, remainder chunk last",
          "[split]") {
  auto s = Make(Source(64'000), Split(1, 10)).value();
  REQUIRE(s.chunks.size() == 7);
  CHECK(s.audio);
  CHECK(s.duration_ms == 64'000);
  for (size_t i = 0; i < s.chunks.size(); ++i) {
    CHECK(s.chunks[i].index == int(i));
    CHECK(s.chunks[i].start_ms == int64_t(i) * 10'000);
    CHECK(s.chunks[i].first_segment == int64_t(i) * 5 + 1);
    if (i > 0) CHECK(s.chunks[i].start_ms == s.chunks[i - 1].end_ms);
  }
  CHECK(s.chunks.back().end_ms == 64'000);
}

TEST_CASE("split plan: a tail shorter than a segment joins the last chunk",
          "[split]") {
  auto s = Make(Source(61'000, 30, 1, false), Split(1, 10)).value();
  REQUIRE(s.chunks.size() == 6);
  CHECK(!s.audio);
  CHECK(s.chunks.back().start_ms == 50'000);
  CHECK(s.chunks.back().end_ms == 61'000);
}

TEST_CASE("split plan: chunks round to whole segments at 29.97 fps",
          "[split]") {
  // 2 s segments are 60 frames (2.002 s); 7 s rounds to 3 segments.
  auto s = Make(Source(21'000, 30000, 1001), Split(1, 7)).value();
  REQUIRE(s.chunks.size() == 4);
  CHECK(s.chunks[1].start_ms == 6006);
  CHECK(s.chunks[1].first_segment == 4);
  CHECK(FrameAtMs(s.chunks[1].start_ms, 30000, 1001) == 180);
  CHECK(FrameAtMs(s.chunks[2].start_ms, 30000, 1001) == 360);
  CHECK(MsOfFrame(180, 30000, 1001) == 6006);
}

TEST_CASE("split payloads round-trip and carry the frozen plan", "[split]") {
  auto s = Make(Source(64'000), Split(1, 10)).value();
  auto ctx = DecodeSplitContext(s.plan_json).value();
  CHECK(ctx.plan.video.size() == 3);  // 720, 480, 360
  CHECK(ctx.plan.segment_frames == 60);
  CHECK(ctx.probe.audio->language == "eng");

  CHECK(PayloadPlan(AudioPayload(s)).value() == s);
  CHECK(PayloadPlan(StitchPayload(s)).value() == s);
  CHECK(PayloadChunk(ChunkPayload(s, 3)).value() == s.chunks[3]);
  CHECK(!PayloadChunk(AudioPayload(s)));
  CHECK(!PayloadPlan("{}"));

  auto msg = DecodeMsg(EncodeMsg(SplitMsg{s})).value();
  REQUIRE(std::holds_alternative<SplitMsg>(msg));
  CHECK(std::get<SplitMsg>(msg).plan == s);

  WorkerJob job;
  job.kind = "stitch";
  job.payload = StitchPayload(s);
  job.inputs = {"/a", "/b"};
  job.pipeline.split_threshold_s = 300;
  auto back = DecodeJob(EncodeJob(job)).value();
  CHECK(back.kind == "stitch");
  CHECK(back.payload == job.payload);
  CHECK(back.inputs == job.inputs);
  CHECK(back.pipeline.split_threshold_s == 300);
  job.kind = "bogus";
  CHECK(!DecodeJob(EncodeJob(job)));
}

}  // namespace
}  // namespace vodd::pipeline
