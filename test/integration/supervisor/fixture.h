// The fixture of the supervisor's integration tests (supervisor_test.cpp,
// scaling_test.cpp): a data folder and catalog in a temp dir, a Supervisor
// with short timeouts, and a /bin/sh script standing in for `vodd worker`
// that speaks the worker protocol.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include <catch2/catch.hpp>

#include "support/test_util.h"
#include "vodd/catalog/jobs.h"
#include "vodd/catalog/videos.h"
#include "vodd/catalog/writer.h"
#include "vodd/core/clock.h"
#include "vodd/core/ids.h"
#include "vodd/core/metrics.h"
#include "vodd/pipeline/supervisor.h"
#include "vodd/storage/storage.h"

namespace vodd::pipeline::testing {

// How every fake worker starts: reads the job line into $line, its out_dir
// into $out and its job_id into $id, and defines `progress <fraction>`.
inline constexpr const char* kReadJob = R"sh(read -r line
out=$(printf '%s' "$line" | sed 's/.*"out_dir":"\([^"]*\)".*/\1/')
id=$(printf '%s' "$line" | sed 's/.*"job_id":\([0-9]*\).*/\1/')
progress() { printf '{"type":"progress","fraction":%s,"fps":30,"speed":2,"eta_ms":1000}\n' "$1"; }
)sh";

// How a successful fake worker ends: writes a one-rendition output and its
// index.
inline constexpr const char* kPublishOne = R"sh(mkdir -p "$out/a0"
printf 'x' > "$out/a0/init.mp4"
printf 'yy' > "$out/a0/1.m4s"
progress 1
printf '{"type":"result","published":{"duration_ms":2000,"renditions":[{"name":"a0","kind":"audio","codecs":"mp4a.40.2","sample_rate":48000,"channels":2,"timescale":48000,"bandwidth_peak":8,"bandwidth_avg":8,"init_size":1,"init_hash":"aa","segments":[{"number":1,"start_time":0,"duration":96000,"size":2,"hash":"bb"}]}]}}\n'
exit 0
)sh";

struct SupervisorFixture {
  SupervisorFixture() {
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
  ~SupervisorFixture() {
    if (supervisor) supervisor->Stop();
    writer->Stop();
  }
  SupervisorFixture(const SupervisorFixture&) = delete;
  SupervisorFixture& operator=(const SupervisorFixture&) = delete;

  // The worker: kReadJob, then `body`.
  void Script(const std::string& body) {
    test::WriteFile(dir / "worker.sh", std::string(kReadJob) + body);
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
  bool JobIn(int64_t id, const std::string& state) {
    return Job(id).state == state;
  }
  catalog::Video Video(const std::string& id) {
    auto v = writer->Call<std::optional<catalog::Video>>(
        [id](catalog::Db& db) { return catalog::GetVideo(db, id); });
    REQUIRE(v);
    REQUIRE(*v);
    return **v;
  }
  // Polls until `pred` holds (20 s by default, generous for a loaded CI).
  bool WaitFor(const std::function<bool()>& pred, int seconds = 20) {
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
  // How many entries `folder` holds.
  static size_t Entries(const std::filesystem::path& folder) {
    size_t n = 0;
    for (auto& e : std::filesystem::directory_iterator(folder)) {
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

}  // namespace vodd::pipeline::testing
