// Supervisor + queue + publish against a real catalog and data folder, with
// /bin/sh scripts as workers speaking the worker protocol.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include <catch2/catch.hpp>

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

// Reads the job line, pulls out_dir out of it.
constexpr const char* kPrologue = R"sh(read -r line
out=$(printf '%s' "$line" | sed 's/.*"out_dir":"\([^"]*\)".*/\1/')
progress() { printf '{"type":"progress","fraction":%s,"fps":30,"speed":2,"eta_ms":1000}\n' "$1"; }
)sh";

// Writes a one-rendition output and its index.
constexpr const char* kSucceed = R"sh(mkdir -p "$out/a0"
printf 'x' > "$out/a0/init.mp4"
printf 'yy' > "$out/a0/1.m4s"
progress 1
printf '{"type":"result","published":{"duration_ms":2000,"renditions":[{"name":"a0","kind":"audio","codecs":"mp4a.40.2","sample_rate":48000,"channels":2,"timescale":48000,"bandwidth_peak":8,"bandwidth_avg":8,"init_size":1,"init_hash":"aa","segments":[{"number":1,"start_time":0,"duration":96000,"size":2,"hash":"bb"}]}]}}\n'
exit 0
)sh";

struct Fixture {
  Fixture() {
    layout.emplace(*storage::Layout::Create(dir / "data"));
    writer =
        std::move(*catalog::Writer::Create(layout->CatalogPath(), nullptr));
    opts.workers = 1;
    opts.owner = "test-node";
    opts.lease_ms = 3'000;
    opts.heartbeat_ms = 200;
    opts.stall_timeout_ms = 1'500;
    opts.poll_ms = 50;
    opts.kill_grace_ms = 1'000;
    opts.housekeeping_ms = 200;
    opts.retry = {100, 400};
  }
  ~Fixture() {
    if (supervisor) supervisor->Stop();
    writer->Stop();
  }
  void Script(const std::string& body) {
    test::WriteFile(dir / "worker.sh", std::string(kPrologue) + body);
    opts.worker_argv = {"/bin/sh", dir / "worker.sh"};
  }
  void Start() {
    auto s = pipeline::Supervisor::Create(opts, *layout, *writer, &metrics,
                                          SystemClock::Get());
    REQUIRE(s);
    supervisor = std::move(*s);
    REQUIRE(supervisor->Start());
  }
  // A video with a source file and its queued job.
  std::pair<std::string, int64_t> AddVideo(int max_attempts = 3) {
    catalog::NewVideo v;
    v.id = RandomHex(16);
    v.source_path = "sources/" + v.id;
    test::WriteFile(layout->SourcePath(v.id), "not really media");
    auto job = writer->Call<int64_t>([&](catalog::Db& db) {
      return catalog::CreateVideoWithJob(db, v, SystemClock::Get().NowUnixMs(),
                                         max_attempts);
    });
    REQUIRE(job);
    return {v.id, *job};
  }
  catalog::Job Job(int64_t id) {
    auto j = writer->Call<std::optional<catalog::Job>>(
        [id](catalog::Db& db) { return catalog::GetJob(db, id); });
    REQUIRE(j);
    REQUIRE(*j);
    return **j;
  }
  catalog::Video Video(const std::string& id) {
    auto v = writer->Call<std::optional<catalog::Video>>(
        [id](catalog::Db& db) { return catalog::GetVideo(db, id); });
    REQUIRE(v);
    REQUIRE(*v);
    return **v;
  }
  // Polls until `pred` holds (20 s at most, generous for a loaded CI).
  bool WaitFor(const std::function<bool()>& pred) {
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
  bool JobIn(int64_t id, const std::string& state) {
    return Job(id).state == state;
  }
  size_t StagingEntries() {
    size_t n = 0;
    for (auto& e : fs::directory_iterator(layout->StagingDir())) {
      (void)e;
      n++;
    }
    return n;
  }

  test::TempDir dir;
  std::optional<storage::Layout> layout;
  std::unique_ptr<catalog::Writer> writer;
  MetricsRegistry metrics;
  pipeline::SupervisorOptions opts;
  std::unique_ptr<pipeline::Supervisor> supervisor;
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
