// Live scaling of the worker pool (Supervisor::SetWorkers,
// SetPipelineConfig) with /bin/sh workers that record when each job starts
// and ends, and the claim's cost as the queue grows (statement counters and
// query plans, never wall-clock time).
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>

#include "fixture.h"
#include "support/test_util.h"
#include "vodd/catalog/jobs.h"
#include "vodd/catalog/videos.h"
#include "vodd/core/clock.h"
#include "vodd/core/ids.h"
#include "vodd/pipeline/supervisor.h"

using namespace vodd;
namespace fs = std::filesystem;

namespace {

// The fake worker after kReadJob: records its job line, "start <id>" and
// "end <id>" in $D/log (one short O_APPEND write each, so lines never
// interleave), and a marker folder while it runs: mkdir fails if the same job
// is already running somewhere, which is recorded in $D/dup. `wait_body` runs
// between start and end; then it publishes a one-rendition output.
std::string WorkerBody(const fs::path& d, const std::string& wait_body) {
  return "D='" + d.string() + R"sh('
printf '%s\n' "$line" > "$D/job-$id.json"
mkdir "$D/running/$id" 2>/dev/null || echo "$id" >> "$D/dup"
echo "start $id" >> "$D/log"
)sh" + wait_body +
         R"sh(
rmdir "$D/running/$id"
echo "end $id" >> "$D/log"
)sh" + pipeline::testing::kPublishOne;
}

// Runs until $D/go exists (or $D/go-<id>), reporting progress so the stall
// watchdog stays quiet.
constexpr const char* kGated =
    R"sh(while [ ! -e "$D/go" ] && [ ! -e "$D/go-$id" ]; do progress 0.5; sleep 0.05; done)sh";
constexpr const char* kQuick = "progress 0.5\nsleep 0.05";

struct ScalingFixture : pipeline::testing::SupervisorFixture {
  ScalingFixture() { fs::create_directories(W() / "running"); }
  fs::path W() const { return fs::path(dir / "w"); }
  void Script(const std::string& wait_body) {
    SupervisorFixture::Script(WorkerBody(W(), wait_body));
  }
  std::vector<int64_t> AddVideos(int n) {
    std::vector<int64_t> jobs;
    for (int i = 0; i < n; ++i) jobs.push_back(AddVideo().second);
    return jobs;
  }
  bool AllIn(const std::vector<int64_t>& jobs, const std::string& state) {
    for (int64_t id : jobs) {
      if (!JobIn(id, state)) return false;
    }
    return true;
  }
  // Workers running right now (their marker folders).
  size_t Running() { return Entries(W() / "running"); }
  void Mark(const std::string& line) {
    std::ofstream(W() / "log", std::ios::app) << line << "\n";
  }
  std::vector<std::pair<std::string, int64_t>> Log() {
    std::vector<std::pair<std::string, int64_t>> events;
    std::istringstream in(test::ReadFile(W() / "log"));
    std::string what;
    while (in >> what) {
      int64_t id = 0;
      if (what == "start" || what == "end") in >> id;
      events.emplace_back(what, id);
    }
    return events;
  }
  bool MetricIs(const std::string& series, int value) {
    std::string text = metrics.Render();
    return text.find("\n" + series + " " + std::to_string(value) + "\n") !=
           std::string::npos;
  }
};

}  // namespace

TEST_CASE("growing the pool claims at once and shrinking lets jobs finish",
          "[supervisor][scaling]") {
  ScalingFixture f;
  // Idle slots would look for work only once a minute: whatever claims below
  // does so because it was started or woken, not because it polled.
  f.opts.poll_ms = 60'000;
  f.Script(kGated);
  auto jobs = f.AddVideos(6);
  f.Start();
  REQUIRE(f.WaitFor([&] { return f.Running() == 1; }));
  CHECK(f.supervisor->Workers().target == 1);
  CHECK(f.MetricIs("vodd_workers_target", 1));

  f.supervisor->SetWorkers(3);
  REQUIRE(f.WaitFor([&] { return f.Running() == 3; }));
  auto grown = f.supervisor->Workers();
  CHECK(grown.target == 3);
  CHECK(grown.busy == 3);
  CHECK(grown.threads == 3);
  CHECK(f.MetricIs("vodd_workers_target", 3));
  CHECK(f.MetricIs("vodd_workers_busy", 3));

  f.supervisor->SetWorkers(1);
  f.Mark("shrink");
  CHECK(f.MetricIs("vodd_workers_target", 1));
  // The three running jobs are not interrupted: they keep their leases and
  // workers for several heartbeats after the shrink.
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  CHECK(f.Running() == 3);
  CHECK(f.supervisor->Workers().busy == 3);
  std::ofstream(f.W() / "go") << "";
  REQUIRE(f.WaitFor([&] { return f.AllIn(jobs, "done"); }, 60));

  for (int64_t id : jobs) CHECK(f.Job(id).attempts == 1);
  CHECK_FALSE(fs::exists(f.W() / "dup"));
  // After the shrink one slot is left: jobs that started after it never
  // overlap one another (the three that were running may still be ending
  // when the first of them starts).
  bool after_shrink = false;
  std::set<int64_t> running_new, started_new;
  for (auto& [what, id] : f.Log()) {
    if (what == "shrink") after_shrink = true;
    if (!after_shrink) continue;
    if (what == "start") {
      CHECK(running_new.empty());
      running_new.insert(id);
      started_new.insert(id);
    } else if (what == "end") {
      running_new.erase(id);
    }
  }
  CHECK(started_new.size() == 3);
  REQUIRE(f.WaitFor([&] {
    auto w = f.supervisor->Workers();
    return w.busy == 0 && w.threads == 1;
  }));
  CHECK(f.MetricIs("vodd_workers_busy", 0));
}

TEST_CASE("growing and shrinking under load runs every job exactly once",
          "[supervisor][scaling]") {
  ScalingFixture f;
  f.Script(kQuick);
  auto jobs = f.AddVideos(24);
  f.Start();
  const int sizes[] = {3, 1, 4, 0, 2, 5, 1, 6};
  size_t step = 0;
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  while (!f.AllIn(jobs, "done") && std::chrono::steady_clock::now() < end) {
    f.supervisor->SetWorkers(sizes[step++ % std::size(sizes)]);
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
  }
  REQUIRE(f.AllIn(jobs, "done"));
  for (int64_t id : jobs) CHECK(f.Job(id).attempts == 1);
  CHECK_FALSE(fs::exists(f.W() / "dup"));
  std::map<int64_t, int> starts;
  for (auto& [what, id] : f.Log()) {
    if (what == "start") starts[id]++;
  }
  CHECK(starts.size() == jobs.size());
  for (auto& [id, n] : starts) {
    INFO("job " << id);
    CHECK(n == 1);
  }
  // workers = 0 derives the count from the CPUs, as pipeline.workers does.
  f.supervisor->SetWorkers(0);
  config::PipelineConfig derived;
  CHECK(f.supervisor->Workers().target == config::EffectiveWorkers(derived));
  f.supervisor->SetWorkers(2);
  REQUIRE(f.WaitFor([&] {
    auto w = f.supervisor->Workers();
    return w.busy == 0 && w.threads == 2;
  }));
  CHECK(f.MetricIs("vodd_workers_target", 2));
  // Stop joins everything, retired or not; SetWorkers afterwards is ignored.
  f.supervisor->Stop();
  f.supervisor->SetWorkers(4);
  CHECK(f.supervisor->Workers().threads == 0);
}

TEST_CASE("SetPipelineConfig applies to jobs claimed after it",
          "[supervisor][scaling]") {
  ScalingFixture f;
  f.opts.pipeline.segment_seconds = 4;
  f.Script(kGated);
  auto jobs = f.AddVideos(2);
  f.Start();
  REQUIRE(f.WaitFor([&] { return f.Running() == 1; }));
  int64_t first = f.Job(jobs[0]).state == "leased" ? jobs[0] : jobs[1];
  int64_t second = first == jobs[0] ? jobs[1] : jobs[0];

  config::PipelineConfig next = f.opts.pipeline;
  next.segment_seconds = 6;
  next.lease_seconds = 10;
  next.stall_timeout_s = 30;
  f.supervisor->SetPipelineConfig(next);
  // The running job keeps the lease it was claimed with: its heartbeats
  // still extend it by 3 s.
  int64_t beat = f.Job(first).updated_at;
  REQUIRE(f.WaitFor([&] { return f.Job(first).updated_at > beat; }));
  auto running = f.Job(first);
  CHECK(*running.lease_until - running.updated_at == 3'000);

  std::ofstream(f.W() / ("go-" + std::to_string(first))) << "";
  REQUIRE(f.WaitFor([&] { return f.Job(second).state == "leased"; }));
  auto claimed = f.Job(second);
  CHECK(*claimed.lease_until - claimed.updated_at == 10'000);
  // What each worker was handed (written by the worker once it has started).
  auto job_line = [&](int64_t id) {
    std::string path = f.W() / ("job-" + std::to_string(id) + ".json");
    std::string text;
    f.WaitFor([&] {
      text = fs::exists(path) ? test::ReadFile(path) : "";
      return text.find('\n') != std::string::npos;
    });
    return text;
  };
  CHECK(job_line(first).find("\"segment_seconds\":4") != std::string::npos);
  CHECK(job_line(second).find("\"segment_seconds\":6") != std::string::npos);
  std::ofstream(f.W() / "go") << "";
  REQUIRE(f.WaitFor([&] { return f.AllIn(jobs, "done"); }));
}

namespace {

struct StmtCost {
  std::string sql;
  int64_t vm_steps = 0;
  int64_t fullscan_steps = 0;
};

int TraceProfile(unsigned type, void* ctx, void* p, void* /*x*/) {
  if (type == SQLITE_TRACE_PROFILE) {
    auto* stmt = static_cast<sqlite3_stmt*>(p);
    static_cast<std::vector<StmtCost>*>(ctx)->push_back(
        {sqlite3_sql(stmt),
         sqlite3_stmt_status(stmt, SQLITE_STMTSTATUS_VM_STEP, 0),
         sqlite3_stmt_status(stmt, SQLITE_STMTSTATUS_FULLSCAN_STEP, 0)});
  }
  return 0;
}

struct ClaimCost {
  int64_t vm_steps = 0, fullscan_steps = 0;
  std::vector<std::string> plans;  // EXPLAIN QUERY PLAN details, all stmts
};

// A catalog with `queued` visible jobs and two running (leased) ones, as the
// supervisor sees it; measures one claim: ExpireLeases + ClaimJob, as the
// slot runs them on the writer.
ClaimCost MeasureClaim(int queued) {
  test::TempDir dir;
  auto writer =
      std::move(*catalog::Writer::Create(dir / "catalog.db", nullptr));
  const int64_t now = 1'800'000'000'000;
  REQUIRE(writer->Call<bool>([&](catalog::Db& db) -> Result<bool> {
    for (int i = 0; i < queued + 2; ++i) {
      catalog::NewVideo v;
      v.id = RandomHex(16);
      v.source_path = "sources/" + v.id;
      TRY(catalog::CreateVideoWithJob(db, v, now - 60'000, 3));
    }
    for (int i = 0; i < 2; ++i) {
      TRY_ASSIGN(auto job,
                 catalog::ClaimJob(db, {"other-node", now - 1'000, 600'000}));
      if (!job) return MakeError(ErrorCode::kInternal, "nothing claimed");
    }
    return true;
  }));
  std::vector<StmtCost> stmts;
  auto claimed = writer->Call<bool>([&](catalog::Db& db) -> Result<bool> {
    sqlite3_trace_v2(db.raw(), SQLITE_TRACE_PROFILE, TraceProfile, &stmts);
    auto expired = catalog::ExpireLeases(db, now, catalog::RetryPolicy{});
    auto job = catalog::ClaimJob(db, {"test-node", now, 60'000});
    sqlite3_trace_v2(db.raw(), 0, nullptr, nullptr);
    TRY(expired);
    TRY(job);
    return job->has_value();
  });
  REQUIRE(claimed);
  REQUIRE(*claimed);
  ClaimCost cost;
  for (const auto& s : stmts) {
    cost.vm_steps += s.vm_steps;
    cost.fullscan_steps += s.fullscan_steps;
    auto plan = writer->Call<std::vector<std::string>>(
        [&](catalog::Db& db) -> Result<std::vector<std::string>> {
          TRY_ASSIGN(auto q, db.Prepare("EXPLAIN QUERY PLAN " + s.sql));
          std::vector<std::string> rows;
          while (true) {
            TRY_ASSIGN(bool row, q.Step());
            if (!row) break;
            rows.push_back(q.Text(3));
          }
          return rows;
        });
    REQUIRE(plan);
    for (auto& row : *plan) cost.plans.push_back(row);
  }
  writer->Stop();
  return cost;
}

}  // namespace

TEST_CASE("a claim visits as many rows at 1000 queued as at 10",
          "[supervisor][scaling]") {
  ClaimCost small = MeasureClaim(10);
  ClaimCost large = MeasureClaim(1000);
  INFO("vm steps at 10 queued: " << small.vm_steps
                                 << ", at 1000: " << large.vm_steps);
  // Both statements are index lookups: jobs_ready(state, …) finds the
  // leased rows to expire and the first visible queued row; nothing scans
  // the jobs or videos tables.
  for (const auto& row : large.plans) {
    INFO(row);
    CHECK(row.rfind("SCAN jobs", 0) != 0);
    CHECK(row.rfind("SCAN videos", 0) != 0);
  }
  CHECK(small.fullscan_steps == 0);
  CHECK(large.fullscan_steps == 0);
  CHECK(small.vm_steps > 0);
  // Deeper B-trees may cost a few more steps; 100× the rows must not.
  CHECK(large.vm_steps <= small.vm_steps * 3 / 2);
}
