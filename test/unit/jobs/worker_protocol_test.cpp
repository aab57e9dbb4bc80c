// The daemon ↔ worker protocol (pure JSON) and the worker main loop driven
// through pipes with a fake engine.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "vodd/catalog/jobs.h"
#include "vodd/pipeline/worker.h"
#include "vodd/pipeline/worker_protocol.h"

using namespace vodd;
using namespace vodd::pipeline;

namespace {

catalog::PublishedVersion Sample() {
  catalog::PublishedVersion p;
  p.duration_ms = 4004;
  catalog::Rendition v;
  v.name = "v360";
  v.kind = "video";
  v.codecs = "avc1.64001e";
  v.width = 640;
  v.height = 360;
  v.frame_rate_num = 30000;
  v.frame_rate_den = 1001;
  v.timescale = 30000;
  v.bandwidth_peak = 900'000;
  v.bandwidth_avg = 700'000;
  v.init_size = 812;
  v.init_hash = "ab";
  v.segments = {{1, 0, 60060, 1000, "h1"}, {2, 60060, 60060, 900, "h2"}};
  v.keyframes = {{1, 0, 0, 500}, {2, 60060, 0, 480}};
  p.renditions.push_back(v);
  catalog::Thumbnails t{"ph", 10, "sh", 20, 10'000, 160, 90, 10, 1};
  p.thumbnails = t;
  return p;
}

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0, nl;
  while ((nl = s.find('\n', start)) != std::string::npos) {
    out.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

// Runs RunWorker with `input` on its stdin; returns exit code and stdout.
std::pair<int, std::string> Drive(const std::string& input,
                                  const Engine& engine) {
  int in[2], out[2];
  REQUIRE(pipe(in) == 0);
  REQUIRE(pipe(out) == 0);
  REQUIRE(write(in[1], input.data(), input.size()) ==
          static_cast<ssize_t>(input.size()));
  close(in[1]);
  int rc = RunWorker(in[0], out[1], engine);
  close(in[0]);
  close(out[1]);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0)
    text.append(buf, static_cast<size_t>(n));
  close(out[0]);
  return {rc, text};
}

}  // namespace

TEST_CASE("a worker job survives encoding", "[jobs]") {
  WorkerJob job;
  job.job_id = 7;
  job.lease_token = 3;
  job.source = "/data/sources/x";
  job.out_dir = "/data/staging/7-3";
  job.pipeline.ladder = {{720, 3000}, {360, 700}};
  job.pipeline.segment_seconds = 2;
  job.pipeline.x264_preset = "ultrafast";
  job.log_level = LogLevel::kWarn;
  auto back = DecodeJob(EncodeJob(job));
  REQUIRE(back);
  CHECK(back->job_id == 7);
  CHECK(back->lease_token == 3);
  CHECK(back->source == job.source);
  CHECK(back->out_dir == job.out_dir);
  CHECK(back->pipeline == job.pipeline);
  CHECK(back->log_level == LogLevel::kWarn);
  CHECK(EncodeJob(job).find('\n') == std::string::npos);
  CHECK_FALSE(DecodeJob("{\"job_id\":1}"));
  CHECK_FALSE(DecodeJob("not json"));
}

TEST_CASE("worker messages survive encoding", "[jobs]") {
  auto progress = DecodeMsg(EncodeMsg(ProgressMsg{0.25, 60, 2.5, 3000}));
  REQUIRE(progress);
  auto& p = std::get<ProgressMsg>(*progress);
  CHECK(p.fraction == Approx(0.25));
  CHECK(p.eta_ms == 3000);

  auto result = DecodeMsg(EncodeMsg(ResultMsg{Sample()}));
  REQUIRE(result);
  const auto& pub = std::get<ResultMsg>(*result).published;
  REQUIRE(pub.renditions.size() == 1);
  const auto& r = pub.renditions[0];
  CHECK(pub.duration_ms == 4004);
  CHECK(r.codecs == "avc1.64001e");
  CHECK(r.frame_rate_den == 1001);
  REQUIRE(r.segments.size() == 2);
  CHECK(r.segments[1].start_time == 60060);
  CHECK(r.segments[1].hash == "h2");
  REQUIRE(r.keyframes.size() == 2);
  CHECK(r.keyframes[1].length == 480);
  REQUIRE(pub.thumbnails);
  CHECK(pub.thumbnails->sprite_size == 20);

  auto err =
      DecodeMsg(EncodeMsg(ErrorMsg{{ErrorCode::kMedia, "not media \xff"}}));
  REQUIRE(err);
  CHECK(std::get<ErrorMsg>(*err).error.code == ErrorCode::kMedia);
  CHECK_FALSE(DecodeMsg("{\"type\":\"bogus\"}"));
  CHECK_FALSE(DecodeMsg("{\"type\":\"result\"}"));
  CHECK(ErrorCodeFromName("timeout") == ErrorCode::kTimeout);
  CHECK(ErrorCodeFromName("no such code") == ErrorCode::kInternal);
}

TEST_CASE("the worker loop reports progress, then the result", "[jobs]") {
  WorkerJob job;
  job.job_id = 1;
  job.out_dir = "/nonexistent";
  auto [rc, out] =
      Drive(EncodeJob(job) + "\n",
            [](const WorkerJob& j, const auto& progress, const auto*) {
              CHECK(j.job_id == 1);
              progress(ProgressMsg{0.5, 30, 1, 10});
              usleep(700'000);  // one 500 ms forwarding tick
              return Result<catalog::PublishedVersion>(Sample());
            });
  CHECK(rc == 0);
  auto lines = Lines(out);
  REQUIRE(lines.size() >= 2);
  auto first = DecodeMsg(lines.front());
  REQUIRE(first);
  CHECK(std::holds_alternative<ProgressMsg>(*first));
  auto last = DecodeMsg(lines.back());
  REQUIRE(last);
  REQUIRE(std::holds_alternative<ResultMsg>(*last));
}

TEST_CASE("the worker loop reports an engine error and a bad job", "[jobs]") {
  auto [rc, out] = Drive(EncodeJob(WorkerJob{}) + "\n",
                         [](const WorkerJob&, const auto&, const auto*) {
                           return Result<catalog::PublishedVersion>(MakeError(
                               ErrorCode::kMedia, "This is a text file"));
                         });
  CHECK(rc == 1);
  auto lines = Lines(out);
  REQUIRE(lines.size() == 1);
  auto msg = DecodeMsg(lines[0]);
  REQUIRE(msg);
  CHECK(std::get<ErrorMsg>(*msg).error.message == "This is a text file");

  bool ran = false;
  auto [rc2, out2] =
      Drive("garbage\n", [&](const WorkerJob&, const auto&, const auto*) {
        ran = true;
        return Result<catalog::PublishedVersion>(Sample());
      });
  CHECK(rc2 == 2);
  CHECK_FALSE(ran);
}
