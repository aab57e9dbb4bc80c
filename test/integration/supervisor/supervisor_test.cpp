// Supervisor + queue + publish against a real catalog and data folder, with
// /bin/sh scripts as workers speaking the worker protocol.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include <catch2/catch.hpp>

#include "fixture.h"
#include "support/test_util.h"
#include "vodd/catalog/deletion.h"
#include "vodd/catalog/jobs.h"
#include "vodd/catalog/media.h"
#include "vodd/catalog/videos.h"
#include "vodd/core/clock.h"
#include "vodd/core/ids.h"
#include "vodd/pipeline/publish.h"
#include "vodd/pipeline/supervisor.h"

using namespace vodd;
namespace fs = std::filesystem;

namespace {

constexpr const char* kSucceed = pipeline::testing::kPublishOne;

struct Fixture : pipeline::testing::SupervisorFixture {
  size_t StagingEntries() { return Entries(layout->StagingDir()); }
};

}  // namespace

TEST_CASE("a successful worker's output is published atomically",
          "[supervisor]") {
  Fixture f;
  f.Script(kSucceed);
  auto [video, job] = f.AddVideo();
  f.Start();
  REQUIRE(f.WaitFor([&] { return f.JobIn(job, "done"); }));
  auto v = f.Video(video);
  CHECK(v.state == "ready");
  CHECK(v.version == 1);
  CHECK(v.duration_ms == 2000);
  CHECK(test::ReadFile(f.layout->MediaDir(video, 1) + "/a0/1.m4s") == "yy");
  CHECK(f.StagingEntries() == 0);
  auto published = f.writer->Call<std::optional<catalog::PublishedVersion>>(
      [&](catalog::Db& db) { return catalog::LoadPublished(db, video, 0); });
  REQUIRE(published);
  REQUIRE(*published);
  REQUIRE((*published)->renditions.size() == 1);
  CHECK((*published)->renditions[0].segments.size() == 1);
  std::string text = f.metrics.Render();
  CHECK(text.find("vodd_jobs_completed_total 1") != std::string::npos);
  CHECK(text.find("vodd_job_duration_seconds_count 1") != std::string::npos);
  CHECK(text.find("vodd_transcode_realtime_ratio_count 1") !=
        std::string::npos);
}

TEST_CASE("a crashing worker is retried, then dead-lettered with the signal",
          "[supervisor]") {
  Fixture f;
  f.Script("progress 0.1\nkill -SEGV $$\n");
  auto [video, job] = f.AddVideo(/*max_attempts=*/2);
  f.Start();
  REQUIRE(f.WaitFor([&] { return f.JobIn(job, "dead"); }));
  auto j = f.Job(job);
  CHECK(j.attempts == 2);
  CHECK(j.last_error == "worker killed by signal 11 (SIGSEGV)");
  auto v = f.Video(video);
  CHECK(v.state == "failed");
  CHECK(v.error == "worker killed by signal 11 (SIGSEGV)");
  CHECK(f.StagingEntries() == 0);
  std::string text = f.metrics.Render();
  CHECK(text.find("vodd_worker_crashes_total{signal=\"SIGSEGV\"} 2") !=
        std::string::npos);
  CHECK(text.find("vodd_jobs_failed_total{reason=\"crash\"} 2") !=
        std::string::npos);
}

TEST_CASE("a job whose first worker crashes completes on the retry",
          "[supervisor]") {
  Fixture f;
  f.Script(std::string("if [ ! -e \"") + (f.dir / "crashed") +
           "\" ]; then touch \"" + (f.dir / "crashed") +
           "\"; kill -KILL $$; fi\n" + kSucceed);
  auto [video, job] = f.AddVideo();
  f.Start();
  REQUIRE(f.WaitFor([&] { return f.JobIn(job, "done"); }));
  CHECK(f.Job(job).attempts == 2);
  CHECK(f.Video(video).state == "ready");
}

TEST_CASE("the stall watchdog kills a worker that stops reporting",
          "[supervisor]") {
  Fixture f;
  f.opts.retry = {60'000, 60'000};  // keep it queued after the first failure
  f.Script("progress 0.2\nexec sleep 60\n");
  auto [video, job] = f.AddVideo();
  f.Start();
  REQUIRE(f.WaitFor([&] {
    auto j = f.Job(job);
    return j.state == "queued" && j.attempts == 1;
  }));
  CHECK(f.Job(job).last_error == "stalled: no progress for 1 s");
  CHECK(f.StagingEntries() == 0);
  (void)video;
}

TEST_CASE("a media error from the worker dead-letters at once with its reason",
          "[supervisor]") {
  Fixture f;
  f.Script(
      "printf '{\"type\":\"error\",\"code\":\"media\",\"message\":\"This "
      "appears "
      "to be a text file\"}\\n'\nexit 1\n");
  auto [video, job] = f.AddVideo();
  f.Start();
  REQUIRE(f.WaitFor([&] { return f.JobIn(job, "dead"); }));
  CHECK(f.Job(job).attempts == 1);
  CHECK(f.Video(video).error == "This appears to be a text file");
}

TEST_CASE("progress is persisted and cancel stops the running worker",
          "[supervisor]") {
  Fixture f;
  f.Script("while :; do progress 0.5; sleep 0.05; done\n");
  auto [video, job] = f.AddVideo();
  f.Start();
  REQUIRE(f.WaitFor([&] { return f.Job(job).progress > 0.4; }));
  CHECK(f.Job(job).fps == Approx(30.0));
  CHECK(f.Job(job).eta_ms == 1000);
  REQUIRE(f.writer->Call<bool>([&](catalog::Db& db) -> Result<bool> {
    TRY(catalog::CancelJob(db, job, SystemClock::Get().NowUnixMs()));
    return true;
  }));
  // The slot notices at its next heartbeat, kills the worker, cleans up and
  // is free for the next job.
  REQUIRE(f.WaitFor([&] { return f.StagingEntries() == 0; }));
  f.Script(kSucceed);
  f.supervisor->Stop();
  f.Start();
  auto [video2, job2] = f.AddVideo();
  REQUIRE(f.WaitFor([&] { return f.JobIn(job2, "done"); }));
  CHECK(f.Job(job).state == "cancelled");
  CHECK(f.Video(video).state == "failed");
  (void)video2;
}

TEST_CASE("Stop gives the lease back without counting the attempt",
          "[supervisor]") {
  Fixture f;
  f.Script("while :; do progress 0.3; sleep 0.05; done\n");
  auto [video, job] = f.AddVideo();
  f.Start();
  REQUIRE(f.WaitFor([&] { return f.JobIn(job, "leased"); }));
  f.supervisor->Stop();
  auto j = f.Job(job);
  CHECK(j.state == "queued");
  CHECK(j.attempts == 0);
  CHECK(f.StagingEntries() == 0);
  (void)video;
}

TEST_CASE(
    "startup sweeps staging and unreferenced media, releases stale leases",
    "[supervisor]") {
  Fixture f;
  f.Script(kSucceed);
  auto [video, job] = f.AddVideo();
  // A previous run of this node claimed the job and died mid-publish: its
  // staging and a renamed-but-uncommitted version folder are left behind.
  auto claimed =
      f.writer->Call<std::optional<catalog::Job>>([&](catalog::Db& db) {
        return catalog::ClaimJob(
            db, {"test-node", SystemClock::Get().NowUnixMs(), 600'000});
      });
  REQUIRE(claimed);
  REQUIRE(*claimed);
  REQUIRE(storage::MakeDirs(f.layout->JobStagingDir(job, 1) + "/a0"));
  REQUIRE(storage::MakeDirs(f.layout->MediaDir(video, 1) + "/a0"));
  std::string stranger = RandomHex(16);
  REQUIRE(storage::MakeDirs(f.layout->MediaDir(stranger, 3)));
  f.Start();
  REQUIRE(f.WaitFor([&] { return f.JobIn(job, "done"); }));
  CHECK(f.Job(job).attempts == 2);
  CHECK_FALSE(fs::exists(f.layout->VideoDir(stranger)));
  CHECK(fs::exists(f.layout->MediaDir(video, 1) + "/a0/init.mp4"));
  CHECK(f.StagingEntries() == 0);
}

TEST_CASE("deleting a video removes rows, media and source and a crash resumes",
          "[supervisor]") {
  Fixture f;
  f.Script(kSucceed);
  auto [video, job] = f.AddVideo();
  auto [video2, job2] = f.AddVideo();
  f.Start();
  REQUIRE(
      f.WaitFor([&] { return f.JobIn(job, "done") && f.JobIn(job2, "done"); }));
  f.supervisor->Stop();

  REQUIRE(pipeline::DeleteVideo(*f.writer, *f.layout, video,
                                SystemClock::Get().NowUnixMs()));
  CHECK_FALSE(fs::exists(f.layout->VideoDir(video)));
  CHECK_FALSE(fs::exists(f.layout->SourcePath(video)));
  auto gone = f.writer->Call<std::optional<catalog::Video>>(
      [&](catalog::Db& db) { return catalog::GetVideo(db, video); });
  REQUIRE(gone);
  CHECK_FALSE(*gone);
  auto missing = pipeline::DeleteVideo(*f.writer, *f.layout, video, 0);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == ErrorCode::kNotFound);

  // Crash after the first step: the sweep at the next start finishes it.
  REQUIRE(f.writer->Call<std::string>([&](catalog::Db& db) {
    return catalog::MarkVideoDeleting(db, video2,
                                      SystemClock::Get().NowUnixMs());
  }));
  REQUIRE(pipeline::RecoverStorage(*f.writer, *f.layout));
  CHECK_FALSE(fs::exists(f.layout->VideoDir(video2)));
  auto gone2 = f.writer->Call<std::optional<catalog::Video>>(
      [&](catalog::Db& db) { return catalog::GetVideo(db, video2); });
  REQUIRE(gone2);
  CHECK_FALSE(*gone2);
}

TEST_CASE("a result whose files do not match the index is not published",
          "[supervisor]") {
  Fixture f;
  f.opts.retry = {60'000, 60'000};
  std::string lying = kSucceed;
  lying.replace(lying.find("printf 'yy'"), 11, "printf 'yyy'");
  f.Script(lying);
  auto [video, job] = f.AddVideo();
  f.Start();
  REQUIRE(f.WaitFor([&] {
    auto j = f.Job(job);
    return j.state == "queued" && j.attempts == 1;
  }));
  CHECK(f.Job(job).last_error->find("has 3 bytes, the index says 2") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(f.layout->VideoDir(video)));
  CHECK(f.Video(video).state == "processing");
}

// ---- split-and-stitch groups ------------------------------------------------

namespace {

// A worker for every job kind: the transcode job splits into three 2 s
// chunks with audio; a chunk writes segment <index+1> of "v0"; audio writes
// "a0"; the stitch copies its inputs together (and records them). $MARK
// collects what ran; CRASH_ONCE=<i> kills chunk i's first attempt.
std::string SplitWorker(const std::string& mark, int crash_once = -1) {
  return "MARK='" + mark + "'\nCRASH_ONCE=" + std::to_string(crash_once) +
         "\n" +
         R"sh(kind=$(printf '%s' "$line" | sed 's/.*"kind":"\([^"]*\)".*/\1/')
rend() {
  printf '{"name":"%s","kind":"audio","codecs":"mp4a.40.2","sample_rate":48000,"channels":2,"timescale":48000,"bandwidth_peak":8,"bandwidth_avg":8,"init_size":1,"init_hash":"aa","segments":[%s]}' "$1" "$2"
}
seg() { printf '{"number":%s,"start_time":%s,"duration":96000,"size":2,"hash":"bb"}' "$1" "$(( ($1 - 1) * 96000 ))"; }
echo "$kind" >> "$MARK/ran"
case "$kind" in
transcode)
  printf '{"type":"split","plan":{"plan_json":"{}","chunks":[{"index":0,"start_ms":0,"end_ms":2000,"first_segment":1},{"index":1,"start_ms":2000,"end_ms":4000,"first_segment":2},{"index":2,"start_ms":4000,"end_ms":6000,"first_segment":3}],"duration_ms":6000,"audio":true}}\n'
  exit 0;;
chunk)
  i=$(printf '%s' "$line" | sed 's/.*\\"chunk\\":{[^}]*\\"index\\":\([0-9]*\).*/\1/')
  if [ "$i" = "$CRASH_ONCE" ] && [ ! -e "$MARK/crashed" ]; then
    touch "$MARK/crashed"; progress 0.5; kill -KILL $$
  fi
  n=$((i + 1))
  mkdir -p "$out/v0"; printf 'x' > "$out/v0/init.mp4"; printf 'yy' > "$out/v0/$n.m4s"
  echo "chunk$i" >> "$MARK/ran"
  progress 1
  printf '{"type":"result","published":{"duration_ms":2000,"renditions":[%s]}}\n' "$(rend v0 "$(seg $n)")"
  exit 0;;
audio)
  mkdir -p "$out/a0"; printf 'x' > "$out/a0/init.mp4"; printf 'yy' > "$out/a0/1.m4s"
  printf '{"type":"result","published":{"duration_ms":6000,"renditions":[%s]}}\n' "$(rend a0 "$(seg 1)")"
  exit 0;;
stitch)
  ins=$(printf '%s' "$line" | sed 's/.*"inputs":\[\([^]]*\)\].*/\1/' | tr ',' ' ' | tr -d '"')
  echo "$ins" > "$MARK/inputs"
  for d in $ins; do cp -r "$d"/. "$out"/ || exit 3; done
  printf '{"type":"result","published":{"duration_ms":6000,"renditions":[%s,%s]}}\n' "$(rend v0 "$(seg 1),$(seg 2),$(seg 3)")" "$(rend a0 "$(seg 1)")"
  exit 0;;
esac
exit 4
)sh";
}

std::vector<catalog::GroupMember> Group(Fixture& f, int64_t parent) {
  auto g = f.writer->Call<std::vector<catalog::GroupMember>>(
      [parent](catalog::Db& db) { return catalog::ListGroup(db, parent); });
  REQUIRE(g);
  return *g;
}

size_t Entries(const std::string& dir) {
  size_t n = 0;
  for (auto& e : fs::directory_iterator(dir)) {
    (void)e;
    n++;
  }
  return n;
}

}  // namespace

TEST_CASE(
    "a split video runs through chunks and audio and stitch to one version",
    "[supervisor][split]") {
  Fixture f;
  f.opts.workers = 2;
  std::string mark = f.dir / "mark";
  fs::create_directories(mark);
  f.Script(SplitWorker(mark));
  auto [video, job] = f.AddVideo();
  f.Start();
  REQUIRE(f.WaitFor([&] { return f.Video(video).state == "ready"; }));
  CHECK(f.Job(job).state == "done");
  auto group = Group(f, job);
  REQUIRE(group.size() == 5);
  for (const auto& m : group) {
    INFO(m.kind << m.index);
    CHECK(m.state == "done");
    CHECK(f.Job(m.id).attempts == 1);
  }
  auto v = f.Video(video);
  CHECK(v.version == 1);
  std::string media = f.layout->MediaDir(video, 1);
  for (int n = 1; n <= 3; ++n) {
    CHECK(test::ReadFile(media + "/v0/" + std::to_string(n) + ".m4s") == "yy");
  }
  CHECK(test::ReadFile(media + "/a0/1.m4s") == "yy");
  // The stitch got the chunk folders in order, then audio.
  std::string w = f.layout->GroupWorkDir(job);
  CHECK(test::ReadFile(mark + "/inputs") ==
        w + "/chunk-0 " + w + "/chunk-1 " + w + "/chunk-2 " + w + "/audio\n");
  // Right after the commit: the group's work folder goes, and one publish is
  // counted (parts are not).
  CHECK(f.WaitFor([&] {
    return f.metrics.Render().find("vodd_jobs_completed_total 1") !=
           std::string::npos;
  }));
  CHECK_FALSE(fs::exists(w));
  CHECK(Entries(f.layout->WorkRoot()) == 0);
  CHECK(f.StagingEntries() == 0);
}

TEST_CASE("killing a chunk's worker retries only that chunk",
          "[supervisor][split]") {
  Fixture f;
  std::string mark = f.dir / "mark";
  fs::create_directories(mark);
  f.Script(SplitWorker(mark, /*crash_once=*/1));
  auto [video, job] = f.AddVideo();
  f.Start();
  REQUIRE(f.WaitFor([&] { return f.Video(video).state == "ready"; }));
  CHECK(f.Job(job).attempts == 1);
  for (const auto& m : Group(f, job)) {
    INFO(m.kind << m.index);
    CHECK(m.state == "done");
    auto j = f.Job(m.id);
    CHECK(j.attempts == (m.kind == "chunk" && m.index == 1 ? 2 : 1));
  }
  // Each chunk produced its output exactly once; the transcode ran once.
  std::string ran = test::ReadFile(mark + "/ran");
  auto count = [&](const std::string& what) {
    size_t n = 0;
    for (size_t p = ran.find(what + "\n"); p != std::string::npos;
         p = ran.find(what + "\n", p + 1)) {
      if (p == 0 || ran[p - 1] == '\n') n++;
    }
    return n;
  };
  CHECK(count("transcode") == 1);
  CHECK(count("chunk0") == 1);
  CHECK(count("chunk1") == 1);
  CHECK(count("chunk2") == 1);
  CHECK(count("stitch") == 1);
  CHECK(count("chunk") == 4);  // chunk 1 started twice
  CHECK(f.metrics.Render().find(
            "vodd_worker_crashes_total{signal=\"SIGKILL\"} 1") !=
        std::string::npos);
}

TEST_CASE("startup keeps the work of unfinished groups and removes the rest",
          "[supervisor][split]") {
  Fixture f;
  auto now = [] { return SystemClock::Get().NowUnixMs(); };
  // Claims the next job on the writer; returns its kind.
  auto claim = [&](bool split) {
    auto r = f.writer->Call<std::string>([&](catalog::Db& db)
                                             -> Result<std::string> {
      TRY_ASSIGN(auto j, catalog::ClaimJob(db, {"test-node", now(), 60'000}));
      if (!j) return MakeError(ErrorCode::kNotFound, "nothing queued");
      catalog::LeaseRef lease{j->id, j->lease_token};
      if (split) {
        TRY(catalog::SplitJob(db, lease,
                              {{"chunk", 0, "{}", 1},
                               {"chunk", 1, "{}", 2},
                               {"audio", 0, "{}", 1},
                               {"stitch", 0, "{}", 3}},
                              now()));
      } else {
        TRY(catalog::CompleteJob(db, lease, now()));
      }
      return j->kind;
    });
    REQUIRE(r);
    return *r;
  };
  auto [v2, finished] = f.AddVideo();
  CHECK(claim(true) == "transcode");
  for (const char* k : {"chunk", "audio", "chunk", "stitch"})
    CHECK(claim(false) == k);
  auto [v1, running] = f.AddVideo();
  CHECK(claim(true) == "transcode");
  CHECK(claim(false) == "chunk");  // chunk 0 done; chunk 1, audio queued
  auto g1 = Group(f, running);
  REQUIRE(g1[0].state == "done");
  REQUIRE(g1[1].state == "queued");
  REQUIRE(Group(f, finished)[3].state == "done");

  for (const auto& d :
       {f.layout->ChunkWorkDir(running, 0), f.layout->ChunkWorkDir(running, 1),
        f.layout->AudioWorkDir(running), f.layout->ChunkWorkDir(finished, 0),
        f.layout->GroupWorkDir(987654), f.layout->WorkRoot() + "/junk"}) {
    fs::create_directories(d);
    test::WriteFile(d + "/x", "x");
  }
  REQUIRE(pipeline::RecoverStorage(*f.writer, *f.layout));
  CHECK(fs::exists(f.layout->ChunkWorkDir(running, 0) + "/x"));
  CHECK_FALSE(fs::exists(f.layout->ChunkWorkDir(running, 1)));
  CHECK_FALSE(fs::exists(f.layout->AudioWorkDir(running)));
  CHECK_FALSE(fs::exists(f.layout->GroupWorkDir(finished)));
  CHECK_FALSE(fs::exists(f.layout->GroupWorkDir(987654)));
  CHECK_FALSE(fs::exists(f.layout->WorkRoot() + "/junk"));

  // Deleting the video removes its group's work too.
  REQUIRE(pipeline::DeleteVideo(*f.writer, *f.layout, v1, now()));
  CHECK_FALSE(fs::exists(f.layout->GroupWorkDir(running)));
  (void)v2;
}
