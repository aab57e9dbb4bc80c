// The job queue on a real SQLite catalog in a temp folder, with a FakeClock.
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include "vodd/catalog/db.h"
#include "vodd/catalog/deletion.h"
#include "vodd/catalog/jobs.h"
#include "vodd/catalog/media.h"
#include "vodd/catalog/schema.h"
#include "vodd/catalog/videos.h"
#include "vodd/core/clock.h"
#include "vodd/core/ids.h"

using namespace vodd;
using namespace vodd::catalog;

namespace {

struct TempCatalog {
  TempCatalog() {
    char tmpl[] = "/tmp/vodd-jobs-XXXXXX";
    dir = mkdtemp(tmpl);
    path = dir + "/catalog.db";
    db = std::move(*Db::Open(path, Db::Mode::kReadWrite));
    REQUIRE(Migrate(*db));
  }
  ~TempCatalog() {
    db.reset();
    std::filesystem::remove_all(dir);
  }
  // Runs `fn` in a write transaction, as the writer thread would.
  template <typename F>
  auto Tx(F fn) {
    auto txn = Txn::Begin(*db);
    REQUIRE(txn);
    auto r = fn(*db);
    if (r) REQUIRE(txn->Commit());
    return r;
  }
  std::string AddVideo(int64_t now, int64_t priority = 0,
                       int max_attempts = 3) {
    NewVideo v;
    v.id = RandomHex(16);
    v.title = "t";
    v.source_path = "sources/" + v.id;
    v.priority = priority;
    auto id =
        Tx([&](Db& d) { return CreateVideoWithJob(d, v, now, max_attempts); });
    REQUIRE(id);
    job_of[v.id] = *id;
    return v.id;
  }
  std::string VideoState(const std::string& id) {
    auto v = GetVideo(*db, id);
    REQUIRE(v);
    REQUIRE(*v);
    return (*v)->state;
  }
  Job Get(int64_t id) {
    auto j = GetJob(*db, id);
    REQUIRE(j);
    REQUIRE(*j);
    return **j;
  }
  std::optional<Job> Claim(int64_t now, const std::string& owner = "node-a",
                           int64_t lease_ms = 60'000) {
    auto r = Tx([&](Db& d) { return ClaimJob(d, {owner, now, lease_ms}); });
    REQUIRE(r);
    return *r;
  }

  std::string dir, path;
  std::unique_ptr<Db> db;
  std::map<std::string, int64_t> job_of;
};

LeaseRef Ref(const Job& j) { return {j.id, j.lease_token}; }

// Version 1 of `video`: one 3 s audio rendition, one segment.
PublishedVersion AudioVersion(const std::string& video) {
  PublishedVersion p;
  p.video_id = video;
  p.version = 1;
  p.duration_ms = 3000;
  Rendition r;
  r.name = "a0";
  r.kind = "audio";
  r.codecs = "mp4a.40.2";
  r.timescale = 48000;
  r.init_hash = "00";
  r.segments.push_back({1, 0, 48000 * 3, 100, "ab"});
  p.renditions.push_back(r);
  return p;
}

}  // namespace

TEST_CASE("claim order: priority then fair_key then id", "[jobs]") {
  TempCatalog c;
  FakeClock clock;
  int64_t t0 = clock.NowUnixMs();
  auto a = c.AddVideo(t0);
  auto b = c.AddVideo(t0 + 1);
  auto urgent = c.AddVideo(t0 + 2, /*priority=*/5);
  auto j1 = c.Claim(t0 + 10);
  auto j2 = c.Claim(t0 + 10);
  auto j3 = c.Claim(t0 + 10);
  REQUIRE(j1);
  REQUIRE(j2);
  REQUIRE(j3);
  CHECK(j1->video_id == urgent);
  CHECK(j2->video_id == a);
  CHECK(j3->video_id == b);
  CHECK_FALSE(c.Claim(t0 + 10));
  CHECK(j1->state == "leased");
  CHECK(j1->attempts == 1);
  CHECK(j1->lease_owner == "node-a");
  CHECK(j1->lease_until == t0 + 10 + 60'000);
  CHECK(c.VideoState(a) == "processing");
}

TEST_CASE("a job is invisible before run_after", "[jobs]") {
  TempCatalog c;
  int64_t t0 = 1'700'000'000'000;
  auto v = c.AddVideo(t0);
  CHECK_FALSE(c.Claim(t0 - 1));
  CHECK(c.Claim(t0));
  (void)v;
}

TEST_CASE("idempotency key: the same video enqueues one job", "[jobs]") {
  TempCatalog c;
  int64_t t0 = 1'700'000'000'000;
  NewVideo v;
  v.id = RandomHex(16);
  v.source_path = "sources/" + v.id;
  auto first = c.Tx([&](Db& d) { return CreateVideoWithJob(d, v, t0, 3); });
  auto second =
      c.Tx([&](Db& d) { return CreateVideoWithJob(d, v, t0 + 5, 3); });
  REQUIRE(first);
  REQUIRE(second);
  CHECK(*first == *second);
  auto all = ListJobs(*c.db, {});
  REQUIRE(all);
  CHECK(all->size() == 1);
}

TEST_CASE("lease expiry is the visibility timeout and heartbeat extends it",
          "[jobs]") {
  TempCatalog c;
  FakeClock clock;
  RetryPolicy policy;
  auto v = c.AddVideo(clock.NowUnixMs());
  auto j = c.Claim(clock.NowUnixMs(), "node-a", 10'000);
  REQUIRE(j);

  clock.Advance(8'000);
  REQUIRE(c.Tx([&](Db& d) {
    return Heartbeat(d, Ref(*j), clock.NowUnixMs(), 10'000, {0.5, 24.0, 4000});
  }));
  auto hb = c.Get(j->id);
  CHECK(hb.progress == Approx(0.5));
  CHECK(hb.fps == Approx(24.0));
  CHECK(hb.eta_ms == 4000);
  CHECK(hb.lease_until == clock.NowUnixMs() + 10'000);

  // Past the first deadline but within the extended one: still leased.
  clock.Advance(5'000);
  auto expired =
      c.Tx([&](Db& d) { return ExpireLeases(d, clock.NowUnixMs(), policy); });
  REQUIRE(expired);
  CHECK(*expired == 0);

  clock.Advance(6'000);
  expired =
      c.Tx([&](Db& d) { return ExpireLeases(d, clock.NowUnixMs(), policy); });
  REQUIRE(expired);
  CHECK(*expired == 1);
  auto q = c.Get(j->id);
  CHECK(q.state == "queued");
  CHECK(q.last_error == "lease expired (no heartbeat)");
  CHECK(q.run_after == clock.NowUnixMs() + policy.DelayMs(1));
  clock.Advance(policy.DelayMs(1));
  auto again = c.Claim(clock.NowUnixMs(), "node-b");
  REQUIRE(again);
  CHECK(again->id == j->id);
  CHECK(again->attempts == 2);
  CHECK(again->lease_token == j->lease_token + 1);
  (void)v;
}

TEST_CASE("fencing: a late holder's heartbeat and completion are rejected",
          "[jobs]") {
  TempCatalog c;
  FakeClock clock;
  RetryPolicy policy{0, 0};
  c.AddVideo(clock.NowUnixMs());
  auto first = c.Claim(clock.NowUnixMs(), "node-a", 1'000);
  REQUIRE(first);
  clock.Advance(2'000);
  REQUIRE(
      c.Tx([&](Db& d) { return ExpireLeases(d, clock.NowUnixMs(), policy); }));
  auto second = c.Claim(clock.NowUnixMs(), "node-b", 60'000);
  REQUIRE(second);
  CHECK(second->id == first->id);

  auto late_hb = c.Tx([&](Db& d) {
    return Heartbeat(d, Ref(*first), clock.NowUnixMs(), 1'000, {0.9, {}, {}});
  });
  REQUIRE_FALSE(late_hb);
  CHECK(late_hb.error().code == ErrorCode::kConflict);
  auto late_done = c.Tx(
      [&](Db& d) { return CompleteJob(d, Ref(*first), clock.NowUnixMs()); });
  REQUIRE_FALSE(late_done);
  CHECK(late_done.error().code == ErrorCode::kConflict);
  auto late_fail = c.Tx([&](Db& d) {
    return FailJob(d, Ref(*first), {"x", false}, clock.NowUnixMs(), policy);
  });
  REQUIRE_FALSE(late_fail);
  CHECK(c.Get(first->id).state == "leased");

  REQUIRE(c.Tx(
      [&](Db& d) { return CompleteJob(d, Ref(*second), clock.NowUnixMs()); }));
  auto done = c.Get(first->id);
  CHECK(done.state == "done");
  CHECK(done.progress == Approx(1.0));
}

TEST_CASE("completion and publish commit together or not at all", "[jobs]") {
  TempCatalog c;
  FakeClock clock;
  auto v = c.AddVideo(clock.NowUnixMs());
  auto j = c.Claim(clock.NowUnixMs());
  REQUIRE(j);
  PublishedVersion p = AudioVersion(v);
  // A stale token: the whole transaction must roll back, publish included.
  auto stale = c.Tx([&](Db& d) -> Status {
    TRY(CompleteJob(d, {j->id, j->lease_token + 7}, clock.NowUnixMs()));
    return PublishVersion(d, p, clock.NowUnixMs());
  });
  CHECK_FALSE(stale);
  CHECK(c.VideoState(v) == "processing");
  auto ok = c.Tx([&](Db& d) -> Status {
    TRY(CompleteJob(d, Ref(*j), clock.NowUnixMs()));
    return PublishVersion(d, p, clock.NowUnixMs());
  });
  REQUIRE(ok);
  CHECK(c.VideoState(v) == "ready");
  CHECK(c.Get(j->id).state == "done");
}

TEST_CASE("a ready video is processed again as a new job and version",
          "[jobs]") {
  TempCatalog c;
  FakeClock clock;
  auto v = c.AddVideo(clock.NowUnixMs());
  // The source lives under the data folder (here the catalog's folder).
  std::filesystem::create_directories(c.dir + "/sources");
  { std::ofstream(c.dir + "/sources/" + v) << "media"; }
  auto again = [&] {
    return c.Tx([&](Db& d) {
      return ReprocessVideo(d, c.dir, v, clock.NowUnixMs(), 3);
    });
  };
  // Not before the first processing has ended.
  auto early = again();
  REQUIRE_FALSE(early);
  CHECK(early.error().code == ErrorCode::kConflict);
  CHECK(early.error().message.find("uploaded") != std::string::npos);

  auto first = c.Claim(clock.NowUnixMs());
  REQUIRE(first);
  PublishedVersion p = AudioVersion(v);
  REQUIRE(c.Tx([&](Db& d) -> Status {
    TRY(CompleteJob(d, Ref(*first), clock.NowUnixMs()));
    return PublishVersion(d, p, clock.NowUnixMs());
  }));
  REQUIRE(c.VideoState(v) == "ready");

  clock.Advance(1000);
  auto job = again();
  REQUIRE(job);
  CHECK(*job != first->id);
  CHECK(c.Get(*job).kind == "transcode");
  CHECK(c.Get(*job).state == "queued");
  // One at a time: a second request names the job already queued.
  auto twice = again();
  REQUIRE_FALSE(twice);
  CHECK(twice.error().code == ErrorCode::kConflict);
  CHECK(twice.error().message == fmt::format("video has job {} queued", *job));

  // The video keeps serving version 1 while the job runs, and stays ready
  // when the job dies; the reason is kept on the video.
  auto running = c.Claim(clock.NowUnixMs());
  REQUIRE(running);
  CHECK(running->id == *job);
  CHECK(c.VideoState(v) == "ready");
  auto out = c.Tx([&](Db& d) {
    return FailJob(d, Ref(*running), {"decoder gave up", true},
                   clock.NowUnixMs(), RetryPolicy{});
  });
  REQUIRE(out);
  CHECK(out->dead);
  CHECK(c.VideoState(v) == "ready");
  auto video = GetVideo(*c.db, v);
  REQUIRE(video);
  CHECK((*video)->version == 1);
  CHECK((*video)->error.value_or("").find("decoder gave up") !=
        std::string::npos);

  // With no job active it can be asked again; without its source it cannot.
  clock.Advance(1000);
  auto third = again();
  REQUIRE(third);
  CHECK(c.Get(*third).state == "queued");
  REQUIRE(c.Tx([&](Db& d) { return CancelJob(d, *third, clock.NowUnixMs()); }));
  std::filesystem::remove(c.dir + "/sources/" + v);
  auto gone = again();
  REQUIRE_FALSE(gone);
  CHECK(gone.error().code == ErrorCode::kFailedPrecondition);
  auto unknown = c.Tx([&](Db& d) {
    return ReprocessVideo(d, c.dir, std::string(32, 'f'), clock.NowUnixMs(), 3);
  });
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code == ErrorCode::kNotFound);
}

TEST_CASE("failures back off exponentially, then dead-letter with the reason",
          "[jobs]") {
  TempCatalog c;
  FakeClock clock;
  RetryPolicy policy{1'000, 3'000};
  CHECK(policy.DelayMs(1) == 1'000);
  CHECK(policy.DelayMs(2) == 2'000);
  CHECK(policy.DelayMs(3) == 3'000);
  CHECK(policy.DelayMs(40) == 3'000);

  auto v = c.AddVideo(clock.NowUnixMs(), 0, /*max_attempts=*/3);
  for (int attempt = 1; attempt <= 2; ++attempt) {
    auto j = c.Claim(clock.NowUnixMs());
    REQUIRE(j);
    CHECK(j->attempts == attempt);
    auto out = c.Tx([&](Db& d) {
      return FailJob(d, Ref(*j),
                     {"worker killed by signal 11 (SIGSEGV)", false},
                     clock.NowUnixMs(), policy);
    });
    REQUIRE(out);
    CHECK_FALSE(out->dead);
    CHECK(out->run_after == clock.NowUnixMs() + policy.DelayMs(attempt));
    // Not visible during the backoff.
    clock.Advance(policy.DelayMs(attempt) - 1);
    CHECK_FALSE(c.Claim(clock.NowUnixMs()));
    clock.Advance(1);
  }
  auto last = c.Claim(clock.NowUnixMs());
  REQUIRE(last);
  auto out = c.Tx([&](Db& d) {
    return FailJob(d, Ref(*last),
                   {"worker killed by signal 11 (SIGSEGV)", false},
                   clock.NowUnixMs(), policy);
  });
  REQUIRE(out);
  CHECK(out->dead);
  auto dead = c.Get(last->id);
  CHECK(dead.state == "dead");
  CHECK(dead.last_error == "worker killed by signal 11 (SIGSEGV)");
  CHECK(c.VideoState(v) == "failed");
  auto video = GetVideo(*c.db, v);
  CHECK((*video)->error == "worker killed by signal 11 (SIGSEGV)");
  clock.Advance(1'000'000);
  CHECK_FALSE(c.Claim(clock.NowUnixMs()));
}

TEST_CASE("a full disk requeues the job without using an attempt", "[jobs]") {
  TempCatalog c;
  FakeClock clock;
  RetryPolicy policy{1'000, 3'000};
  auto v = c.AddVideo(clock.NowUnixMs(), 0, /*max_attempts=*/2);
  // Far more full-disk failures than attempts: never dead, always the same
  // wait, the attempt count back where it was.
  for (int round = 0; round < 5; ++round) {
    auto j = c.Claim(clock.NowUnixMs());
    REQUIRE(j);
    CHECK(j->attempts == 1);
    auto out = c.Tx([&](Db& d) {
      return FailJob(d, Ref(*j), {"write 3.m4s: No space left", false, true},
                     clock.NowUnixMs(), policy);
    });
    REQUIRE(out);
    CHECK_FALSE(out->dead);
    CHECK(out->run_after == clock.NowUnixMs() + policy.no_space_ms);
    auto row = c.Get(j->id);
    CHECK(row.state == "queued");
    CHECK(row.attempts == 0);
    CHECK(row.last_error == "write 3.m4s: No space left");
    clock.Advance(policy.no_space_ms);
  }
  CHECK(c.VideoState(v) == "processing");
  // Other failures still count.
  auto j = c.Claim(clock.NowUnixMs());
  REQUIRE(j);
  auto out = c.Tx([&](Db& d) {
    return FailJob(d, Ref(*j), {"boom", false}, clock.NowUnixMs(), policy);
  });
  REQUIRE(out);
  CHECK_FALSE(out->dead);
  clock.Advance(policy.DelayMs(1));
  j = c.Claim(clock.NowUnixMs());
  REQUIRE(j);
  CHECK(j->attempts == 2);
  out = c.Tx([&](Db& d) {
    return FailJob(d, Ref(*j), {"boom", false}, clock.NowUnixMs(), policy);
  });
  REQUIRE(out);
  CHECK(out->dead);
}

TEST_CASE("a permanent failure dead-letters at once", "[jobs]") {
  TempCatalog c;
  FakeClock clock;
  auto v = c.AddVideo(clock.NowUnixMs());
  auto j = c.Claim(clock.NowUnixMs());
  REQUIRE(j);
  auto out = c.Tx([&](Db& d) {
    return FailJob(d, Ref(*j), {"This appears to be a text file", true},
                   clock.NowUnixMs(), RetryPolicy{});
  });
  REQUIRE(out);
  CHECK(out->dead);
  CHECK(c.VideoState(v) == "failed");
}

TEST_CASE("cancel and retry", "[jobs]") {
  TempCatalog c;
  FakeClock clock;
  auto v = c.AddVideo(clock.NowUnixMs());
  auto j = c.Claim(clock.NowUnixMs());
  REQUIRE(j);
  REQUIRE(c.Tx([&](Db& d) { return CancelJob(d, j->id, clock.NowUnixMs()); }));
  CHECK(c.Get(j->id).state == "cancelled");
  CHECK(c.VideoState(v) == "failed");
  // The running holder learns at its next heartbeat.
  auto hb = c.Tx([&](Db& d) {
    return Heartbeat(d, Ref(*j), clock.NowUnixMs(), 1000, {0.1, {}, {}});
  });
  REQUIRE_FALSE(hb);
  CHECK(hb.error().code == ErrorCode::kConflict);
  auto again =
      c.Tx([&](Db& d) { return CancelJob(d, j->id, clock.NowUnixMs()); });
  REQUIRE_FALSE(again);
  CHECK(again.error().code == ErrorCode::kConflict);
  auto missing =
      c.Tx([&](Db& d) { return CancelJob(d, 999, clock.NowUnixMs()); });
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == ErrorCode::kNotFound);

  REQUIRE(c.Tx([&](Db& d) { return RetryJob(d, j->id, clock.NowUnixMs()); }));
  auto q = c.Get(j->id);
  CHECK(q.state == "queued");
  CHECK(q.attempts == 0);
  CHECK(c.VideoState(v) == "uploaded");
  auto j2 = c.Claim(clock.NowUnixMs());
  REQUIRE(j2);
  CHECK(j2->id == j->id);
  CHECK(j2->lease_token > j->lease_token);
  auto busy =
      c.Tx([&](Db& d) { return RetryJob(d, j->id, clock.NowUnixMs()); });
  CHECK_FALSE(busy);
}

TEST_CASE("retry makes a job waiting for its backoff visible now", "[jobs]") {
  TempCatalog c;
  FakeClock clock;
  c.AddVideo(clock.NowUnixMs());
  auto j = c.Claim(clock.NowUnixMs());
  REQUIRE(j);
  REQUIRE(c.Tx([&](Db& d) {
    return FailJob(d, Ref(*j), {"boom", false}, clock.NowUnixMs(),
                   RetryPolicy{});
  }));
  CHECK_FALSE(c.Claim(clock.NowUnixMs()));
  REQUIRE(c.Tx([&](Db& d) { return RetryJob(d, j->id, clock.NowUnixMs()); }));
  CHECK(c.Claim(clock.NowUnixMs()));
}

TEST_CASE("startup releases this node's leases only", "[jobs]") {
  TempCatalog c;
  FakeClock clock;
  c.AddVideo(clock.NowUnixMs());
  c.AddVideo(clock.NowUnixMs() + 1);
  clock.Advance(1);
  auto mine = c.Claim(clock.NowUnixMs(), "node-a");
  auto theirs = c.Claim(clock.NowUnixMs(), "node-b");
  REQUIRE(mine);
  REQUIRE(theirs);
  auto n = c.Tx([&](Db& d) {
    return ReleaseNodeLeases(d, "node-a", clock.NowUnixMs(), RetryPolicy{});
  });
  REQUIRE(n);
  CHECK(*n == 1);
  auto released = c.Get(mine->id);
  CHECK(released.state == "queued");
  CHECK(released.run_after == clock.NowUnixMs());  // visible at once
  CHECK(released.attempts == 1);                   // the lost run counts
  CHECK(c.Get(theirs->id).state == "leased");
  auto again = c.Claim(clock.NowUnixMs(), "node-a");
  REQUIRE(again);
  CHECK(again->id == mine->id);
}

TEST_CASE("a graceful release does not count the attempt", "[jobs]") {
  TempCatalog c;
  FakeClock clock;
  c.AddVideo(clock.NowUnixMs());
  auto j = c.Claim(clock.NowUnixMs());
  REQUIRE(j);
  REQUIRE(
      c.Tx([&](Db& d) { return ReleaseLease(d, Ref(*j), clock.NowUnixMs()); }));
  auto q = c.Get(j->id);
  CHECK(q.state == "queued");
  CHECK(q.attempts == 0);
}

TEST_CASE("job counts by state and listing", "[jobs]") {
  TempCatalog c;
  FakeClock clock;
  for (int i = 0; i < 3; ++i) c.AddVideo(clock.NowUnixMs() + i);
  auto j = c.Claim(clock.NowUnixMs() + 5);
  REQUIRE(j);
  auto counts = CountJobs(*c.db);
  REQUIRE(counts);
  CHECK((*counts)["queued"] == 2);
  CHECK((*counts)["leased"] == 1);
  CHECK((*counts)["dead"] == 0);
  auto leased = ListJobs(*c.db, {{"leased"}, 10});
  REQUIRE(leased);
  REQUIRE(leased->size() == 1);
  CHECK(leased->front().id == j->id);
  auto all = ListJobs(*c.db, {{}, 2});
  REQUIRE(all);
  CHECK(all->size() == 2);
}

namespace {
// VM steps of one claim statement, a measure of work that does not depend on
// the machine's speed.
int ClaimSteps(Db& db, int64_t now) {
  auto s = db.Prepare(kClaimJobSql);
  REQUIRE(s);
  s->Bind(1, "node-a").Bind(2, now).Bind(3, int64_t{60'000});
  auto row = s->Step();
  REQUIRE(row);
  REQUIRE(*row);
  int steps = sqlite3_stmt_status(s->get(), SQLITE_STMTSTATUS_VM_STEP, 0);
  int scans = sqlite3_stmt_status(s->get(), SQLITE_STMTSTATUS_FULLSCAN_STEP, 0);
  int sorts = sqlite3_stmt_status(s->get(), SQLITE_STMTSTATUS_SORT, 0);
  CHECK(scans == 0);
  CHECK(sorts == 0);
  return steps;
}
}  // namespace

TEST_CASE("the claim uses the index and stays flat with 10k queued", "[jobs]") {
  TempCatalog c;
  FakeClock clock;
  std::string text;
  {
    auto plan =
        c.db->Prepare(std::string("EXPLAIN QUERY PLAN ") + kClaimJobSql);
    REQUIRE(plan);
    while (true) {
      auto row = plan->Step();
      REQUIRE(row);
      if (!*row) break;
      text += plan->Text(3) + "\n";
    }
  }
  INFO(text);
  CHECK(text.find("INDEX jobs_ready (state=?") != std::string::npos);
  CHECK(text.find("TEMP B-TREE") == std::string::npos);
  CHECK(text.find("SCAN jobs") == std::string::npos);

  auto fill = [&](int n) {
    auto txn = Txn::Begin(*c.db);
    REQUIRE(txn);
    for (int i = 0; i < n; ++i) {
      NewVideo v;
      v.id = RandomHex(16);
      v.source_path = "sources/" + v.id;
      REQUIRE(CreateVideoWithJob(*c.db, v, clock.NowUnixMs() + i, 3));
    }
    auto committed = txn->Commit();
    INFO((committed ? "" : committed.error().message));
    REQUIRE(committed);
  };
  fill(100);
  int small = ClaimSteps(*c.db, clock.NowUnixMs() + 1'000'000);
  fill(10'000);
  int large = ClaimSteps(*c.db, clock.NowUnixMs() + 1'000'000);
  INFO("vm steps: 100 queued " << small << ", 10100 queued " << large);
  CHECK(large < small * 2);
}

TEST_CASE("concurrent claimers on separate connections never share a job",
          "[jobs]") {
  TempCatalog c;
  FakeClock clock;
  constexpr int kJobs = 60;
  for (int i = 0; i < kJobs; ++i) c.AddVideo(clock.NowUnixMs() + i);
  int64_t now = clock.NowUnixMs() + 1'000;
  std::mutex mutex;
  std::vector<std::pair<int64_t, int64_t>> claimed;  // id, token
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto db = Db::Open(c.path, Db::Mode::kReadWrite);
      if (!db) {
        errors++;
        return;
      }
      while (true) {
        auto txn = Txn::Begin(**db);
        if (!txn) {
          errors++;
          return;
        }
        auto j = ClaimJob(**db, {fmt::format("node-{}", t), now, 60'000});
        if (!j || !txn->Commit()) {
          errors++;
          return;
        }
        if (!*j) return;
        std::lock_guard<std::mutex> lock(mutex);
        claimed.emplace_back((*j)->id, (*j)->lease_token);
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(errors == 0);
  std::set<int64_t> ids;
  for (auto& [id, token] : claimed) ids.insert(id);
  CHECK(claimed.size() == kJobs);
  CHECK(ids.size() == kJobs);
}

TEST_CASE("video deletion: deleting state, cancelled jobs, rows removed",
          "[jobs]") {
  TempCatalog c;
  FakeClock clock;
  auto v = c.AddVideo(clock.NowUnixMs());
  auto j = c.Claim(clock.NowUnixMs());
  REQUIRE(j);
  auto src =
      c.Tx([&](Db& d) { return MarkVideoDeleting(d, v, clock.NowUnixMs()); });
  REQUIRE(src);
  CHECK(*src == "sources/" + v);
  CHECK(c.VideoState(v) == "deleting");
  CHECK(c.Get(j->id).state == "cancelled");
  auto ref = ReferencedVersion(*c.db, v);
  REQUIRE(ref);
  CHECK_FALSE(*ref);
  auto pending = ListDeletingVideos(*c.db);
  REQUIRE(pending);
  REQUIRE(pending->size() == 1);
  REQUIRE(c.Tx([&](Db& d) { return DeleteVideoRows(d, v); }));
  auto gone = GetVideo(*c.db, v);
  REQUIRE(gone);
  CHECK_FALSE(*gone);
  auto job = GetJob(*c.db, j->id);
  REQUIRE(job);
  CHECK_FALSE(*job);
}

// ---- split-and-stitch groups and fair order --------------------------------

namespace {

// A video whose source is `media_ms` of media at the estimate's rate, so its
// transcode job's fair_key is now + media_ms.
std::string AddSized(TempCatalog& c, int64_t now, int64_t media_ms,
                     int64_t priority = 0, int max_attempts = 3) {
  NewVideo v;
  v.id = RandomHex(16);
  v.title = "t";
  v.source_path = "sources/" + v.id;
  v.priority = priority;
  v.source_size = media_ms * (5'000'000 / 8 / 1000);
  auto id =
      c.Tx([&](Db& d) { return CreateVideoWithJob(d, v, now, max_attempts); });
  REQUIRE(id);
  c.job_of[v.id] = *id;
  return v.id;
}

// The group the supervisor makes of a plan: `chunks` chunks of `chunk_ms`,
// audio (deadline: the first chunk's end) and the stitch (the duration).
std::vector<ChildJob> Plan(int chunks, int64_t chunk_ms, bool audio = true) {
  std::vector<ChildJob> out;
  for (int i = 0; i < chunks; ++i) {
    out.push_back(
        {"chunk", i, fmt::format("{{\"chunk\":{}}}", i), (i + 1) * chunk_ms});
  }
  if (audio) out.push_back({"audio", 0, "{}", chunk_ms});
  out.push_back({"stitch", 0, "{}", chunks * chunk_ms});
  return out;
}

Status Split(TempCatalog& c, const Job& parent, int chunks, int64_t chunk_ms,
             int64_t now, bool audio = true) {
  auto n = c.Tx([&](Db& d) {
    return SplitJob(d, Ref(parent), Plan(chunks, chunk_ms, audio), now);
  });
  if (!n) return tl::unexpected(n.error());
  return Ok();
}

std::map<std::string, Job> Members(TempCatalog& c, int64_t parent) {
  auto group = ListGroup(*c.db, parent);
  REQUIRE(group);
  std::map<std::string, Job> out;
  for (const auto& m : *group) {
    std::string name =
        m.kind == "chunk" ? fmt::format("chunk{}", m.index) : m.kind;
    out[name] = c.Get(m.id);
    CHECK(out[name].state == m.state);
  }
  return out;
}

Job ClaimOne(TempCatalog& c, int64_t now) {
  auto j = c.Claim(now);
  REQUIRE(j);
  return *j;
}

void Complete(TempCatalog& c, const Job& j, int64_t now) {
  REQUIRE(c.Tx([&](Db& d) { return CompleteJob(d, Ref(j), now); }));
}

}  // namespace

TEST_CASE(
    "split group: members queued and the stitch waiting until the last is done",
    "[jobs][split]") {
  TempCatalog c;
  FakeClock clock;
  int64_t t0 = clock.NowUnixMs();
  auto v = AddSized(c, t0, 30'000, /*priority=*/2, /*max_attempts=*/4);
  Job parent = ClaimOne(c, t0);
  REQUIRE(Split(c, parent, 3, 10'000, t0 + 500));
  CHECK(c.Get(parent.id).state == "done");

  auto m = Members(c, parent.id);
  REQUIRE(m.size() == 5);
  for (const char* k : {"chunk0", "chunk1", "chunk2", "audio"}) {
    INFO(k);
    CHECK(m[k].state == "queued");
    CHECK(m[k].parent_id == parent.id);
    CHECK(m[k].priority == 2);
    CHECK(m[k].max_attempts == 4);
    CHECK(m[k].video_id == v);
  }
  CHECK(m["stitch"].state == "waiting");
  CHECK(m["chunk0"].fair_key == parent.run_after + 10'000);
  CHECK(m["chunk2"].fair_key == parent.run_after + 30'000);
  CHECK(m["stitch"].fair_key == parent.run_after + 30'000);
  CHECK(m["chunk1"].payload == "{\"chunk\":1}");
  auto counts = CountJobs(*c.db);
  REQUIRE(counts);
  CHECK((*counts)["waiting"] == 1);
  CHECK((*counts)["queued"] == 4);

  // Four claims return the chunks and the audio, never the stitch.
  std::vector<Job> running;
  for (int i = 0; i < 4; ++i) {
    running.push_back(ClaimOne(c, t0 + 1000));
    CHECK(running.back().kind != "stitch");
  }
  CHECK_FALSE(c.Claim(t0 + 1000));
  CHECK(c.VideoState(v) == "processing");
  for (size_t i = 0; i < running.size(); ++i) {
    Complete(c, running[i], t0 + 2000 + static_cast<int64_t>(i));
    bool last = i + 1 == running.size();
    INFO(i);
    CHECK(c.Get(m["stitch"].id).state == (last ? "queued" : "waiting"));
  }
  Job stitch = c.Get(m["stitch"].id);
  CHECK(stitch.run_after == t0 + 2003);
  Job claimed = ClaimOne(c, t0 + 3000);
  CHECK(claimed.id == stitch.id);
  CHECK(claimed.kind == "stitch");
  Complete(c, claimed, t0 + 4000);
  CHECK(c.Get(stitch.id).state == "done");
  auto parents = ListGroupParents(*c.db, v);
  REQUIRE(parents);
  CHECK(*parents == std::vector<int64_t>{parent.id});
}

TEST_CASE("a group without audio unblocks its stitch after the chunks",
          "[jobs][split]") {
  TempCatalog c;
  int64_t t0 = 1'700'000'000'000;
  AddSized(c, t0, 20'000);
  Job parent = ClaimOne(c, t0);
  REQUIRE(Split(c, parent, 2, 10'000, t0, /*audio=*/false));
  auto m = Members(c, parent.id);
  CHECK(m.size() == 3);
  CHECK_FALSE(m.count("audio"));
  Complete(c, ClaimOne(c, t0), t0);
  CHECK(c.Get(m["stitch"].id).state == "waiting");
  Complete(c, ClaimOne(c, t0), t0);
  CHECK(c.Get(m["stitch"].id).state == "queued");
}

TEST_CASE("a split needs the lease and is idempotent per member",
          "[jobs][split]") {
  TempCatalog c;
  int64_t t0 = 1'700'000'000'000;
  AddSized(c, t0, 20'000);
  Job parent = ClaimOne(c, t0);
  Job stale = parent;
  stale.lease_token += 7;
  auto lost = Split(c, stale, 2, 10'000, t0);
  REQUIRE_FALSE(lost);
  CHECK(lost.error().code == ErrorCode::kConflict);
  auto bad = c.Tx([&](Db& d) {
    return SplitJob(d, Ref(parent), {{"chunk", 0, "{}", 1}}, t0);
  });
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == ErrorCode::kInvalidArgument);
  CHECK(c.Get(parent.id).state == "leased");

  auto first = c.Tx(
      [&](Db& d) { return SplitJob(d, Ref(parent), Plan(2, 10'000), t0); });
  REQUIRE(first);
  CHECK(*first == 4);
  // The same plan again (a repeated answer): the lease is gone …
  auto again = c.Tx(
      [&](Db& d) { return SplitJob(d, Ref(parent), Plan(2, 10'000), t0); });
  REQUIRE_FALSE(again);
  CHECK(again.error().code == ErrorCode::kConflict);
  // … and even a holder that had it again would insert no member twice.
  REQUIRE(c.db->Exec(
      fmt::format("UPDATE jobs SET state='leased' WHERE id={}", parent.id)));
  auto repeat = c.Tx(
      [&](Db& d) { return SplitJob(d, Ref(parent), Plan(2, 10'000), t0); });
  REQUIRE(repeat);
  CHECK(*repeat == 0);
  CHECK(Members(c, parent.id).size() == 4);
}

TEST_CASE(
    "a dead chunk fails the video and its retry alone completes the group",
    "[jobs][split]") {
  TempCatalog c;
  FakeClock clock;
  int64_t t0 = clock.NowUnixMs();
  auto v = AddSized(c, t0, 30'000, 0, /*max_attempts=*/1);
  Job parent = ClaimOne(c, t0);
  REQUIRE(Split(c, parent, 3, 10'000, t0));
  auto m = Members(c, parent.id);

  Job first = ClaimOne(c, t0);
  REQUIRE(first.kind == "chunk");
  auto out = c.Tx([&](Db& d) {
    return FailJob(d, Ref(first), {"encoder crashed", false}, t0, {});
  });
  REQUIRE(out);
  CHECK(out->dead);
  CHECK(c.VideoState(v) == "failed");

  // The siblings still run and finish; the video stays failed, the stitch
  // waits.
  for (int i = 0; i < 3; ++i) {
    Job j = ClaimOne(c, t0 + 10);
    CHECK(j.id != first.id);
    CHECK(c.VideoState(v) == "failed");
    Complete(c, j, t0 + 20);
  }
  CHECK_FALSE(c.Claim(t0 + 30));
  CHECK(c.Get(m["stitch"].id).state == "waiting");
  auto stitch_retry =
      c.Tx([&](Db& d) { return RetryJob(d, m["stitch"].id, t0 + 30); });
  REQUIRE_FALSE(stitch_retry);
  CHECK(stitch_retry.error().code == ErrorCode::kConflict);

  // The operator retries the dead chunk: only it runs again, and the video
  // is processing again (its other chunks are done).
  REQUIRE(c.Tx([&](Db& d) { return RetryJob(d, first.id, t0 + 40); }));
  CHECK(c.VideoState(v) == "processing");
  Job again = ClaimOne(c, t0 + 40);
  CHECK(again.id == first.id);
  CHECK(again.attempts == 1);
  CHECK(c.VideoState(v) == "processing");
  CHECK_FALSE(c.Claim(t0 + 40));
  Complete(c, again, t0 + 50);
  Job stitch = ClaimOne(c, t0 + 60);
  CHECK(stitch.id == m["stitch"].id);
  for (const auto& [name, job] : Members(c, parent.id)) {
    INFO(name);
    if (name != "stitch") CHECK(job.attempts <= 1);
  }
}

TEST_CASE(
    "retrying one of two dead chunks keeps the video failed until both are "
    "retried",
    "[jobs][split]") {
  TempCatalog c;
  int64_t t0 = 1'700'000'000'000;
  auto v = AddSized(c, t0, 30'000, 0, /*max_attempts=*/1);
  Job parent = ClaimOne(c, t0);
  REQUIRE(Split(c, parent, 3, 10'000, t0));
  Job a = ClaimOne(c, t0 + 1);
  Job b = ClaimOne(c, t0 + 1);
  REQUIRE(a.kind == "chunk");
  REQUIRE(b.kind == "audio");
  for (const Job& j : {a, b}) {
    auto out = c.Tx([&](Db& d) {
      return FailJob(d, Ref(j), {"encoder crashed", false}, t0 + 2, {});
    });
    REQUIRE(out);
    CHECK(out->dead);
  }
  CHECK(c.VideoState(v) == "failed");

  // One retried, the other still dead: the video stays failed, with its
  // reason, even when the retried chunk is claimed and completes.
  REQUIRE(c.Tx([&](Db& d) { return RetryJob(d, a.id, t0 + 3); }));
  CHECK(c.VideoState(v) == "failed");
  auto video = GetVideo(*c.db, v);
  REQUIRE(video);
  REQUIRE(*video);
  CHECK((*video)->error == std::optional<std::string>("encoder crashed"));
  Job again = ClaimOne(c, t0 + 4);
  CHECK(again.id == a.id);
  CHECK(c.VideoState(v) == "failed");
  Complete(c, again, t0 + 5);
  CHECK(c.VideoState(v) == "failed");

  // The last dead member retried: the group is whole again.
  REQUIRE(c.Tx([&](Db& d) { return RetryJob(d, b.id, t0 + 6); }));
  CHECK(c.VideoState(v) == "processing");
  video = GetVideo(*c.db, v);
  REQUIRE(video);
  REQUIRE(*video);
  CHECK_FALSE((*video)->error.has_value());

  // A lone transcode job retried goes back to 'uploaded' (nothing ran).
  TempCatalog d;
  auto lone = AddSized(d, t0, 1'000, 0, /*max_attempts=*/1);
  Job j = ClaimOne(d, t0);
  REQUIRE(d.Tx([&](Db& db) {
    return FailJob(db, Ref(j), {"encoder crashed", false}, t0, {});
  }));
  CHECK(d.VideoState(lone) == "failed");
  REQUIRE(d.Tx([&](Db& db) { return RetryJob(db, j.id, t0 + 1); }));
  CHECK(d.VideoState(lone) == "uploaded");
}

TEST_CASE("a group's priority reaches children made later and retried members",
          "[jobs][split][fair]") {
  TempCatalog c;
  int64_t t0 = 1'700'000'000'000;
  auto film = AddSized(c, t0, 60'000, /*priority=*/0, /*max_attempts=*/1);
  // Raised while the transcode job still runs (before it splits) …
  Job parent = ClaimOne(c, t0);
  REQUIRE(parent.video_id == film);
  auto clip = AddSized(c, t0 + 1, 3'000);
  REQUIRE(c.Tx([&](Db& d) { return SetJobPriority(d, parent.id, 7, t0); }));
  CHECK(c.Get(parent.id).priority == 7);
  {
    auto video = GetVideo(*c.db, film);
    REQUIRE(video);
    REQUIRE(*video);
    CHECK((*video)->priority == 7);
  }
  // … the children it splits into inherit it and run before the clip.
  REQUIRE(Split(c, parent, 3, 20'000, t0 + 1));
  for (const auto& [name, job] : Members(c, parent.id)) {
    INFO(name);
    CHECK(job.priority == 7);
  }
  Job dead = ClaimOne(c, t0 + 2);
  REQUIRE(dead.video_id == film);
  REQUIRE(c.Tx([&](Db& d) {
    return FailJob(d, Ref(dead), {"encoder crashed", false}, t0 + 2, {});
  }));
  REQUIRE(c.Get(dead.id).state == "dead");
  // Lowered while a member is dead: the dead one takes it too, and runs
  // after the clip once retried, like its siblings.
  REQUIRE(c.Tx([&](Db& d) { return SetJobPriority(d, dead.id, -2, t0 + 3); }));
  for (const auto& [name, job] : Members(c, parent.id)) {
    INFO(name);
    CHECK(job.priority == -2);
  }
  REQUIRE(c.Tx([&](Db& d) { return RetryJob(d, dead.id, t0 + 4); }));
  CHECK(c.Get(dead.id).priority == -2);
  CHECK(ClaimOne(c, t0 + 5).video_id == clip);
  CHECK(ClaimOne(c, t0 + 5).video_id == film);
}

TEST_CASE("cancelling one member cancels the group and retry brings it back",
          "[jobs][split]") {
  TempCatalog c;
  int64_t t0 = 1'700'000'000'000;
  auto v = AddSized(c, t0, 30'000);
  Job parent = ClaimOne(c, t0);
  REQUIRE(Split(c, parent, 3, 10'000, t0));
  Job running = ClaimOne(c, t0);
  Complete(c, ClaimOne(c, t0), t0);  // one chunk done before the cancel
  auto m = Members(c, parent.id);
  REQUIRE(c.Tx([&](Db& d) { return CancelJob(d, m["stitch"].id, t0 + 5); }));
  CHECK(c.VideoState(v) == "failed");
  int done = 0;
  for (const auto& [name, job] : Members(c, parent.id)) {
    INFO(name);
    if (job.state == "done") {
      done++;
    } else {
      CHECK(job.state == "cancelled");
    }
  }
  CHECK(done == 1);
  CHECK_FALSE(c.Claim(t0 + 10));
  // The running worker learns at its next heartbeat.
  auto hb = c.Tx([&](Db& d) {
    return Heartbeat(d, Ref(running), t0 + 10, 1000, {0.5, {}, {}});
  });
  REQUIRE_FALSE(hb);
  CHECK(hb.error().code == ErrorCode::kConflict);
  // The transcode parent is done: nothing to cancel there.
  auto parent_cancel =
      c.Tx([&](Db& d) { return CancelJob(d, parent.id, t0 + 10); });
  REQUIRE_FALSE(parent_cancel);
  CHECK(parent_cancel.error().code == ErrorCode::kConflict);

  REQUIRE(c.Tx([&](Db& d) { return RetryJob(d, running.id, t0 + 20); }));
  auto back = Members(c, parent.id);
  CHECK(back["stitch"].state == "waiting");
  int queued = 0;
  for (const auto& [name, job] : back) queued += job.state == "queued";
  CHECK(queued == 3);
  for (int i = 0; i < 3; ++i) Complete(c, ClaimOne(c, t0 + 30), t0 + 30);
  CHECK(ClaimOne(c, t0 + 40).kind == "stitch");
}

TEST_CASE(
    "fair order: clips queued after a long film run before its later chunks",
    "[jobs][split][fair]") {
  TempCatalog c;
  int64_t t0 = 1'700'000'000'000;
  auto film = AddSized(c, t0, 60'000);
  Job parent = ClaimOne(c, t0);
  REQUIRE(Split(c, parent, 6, 10'000, t0 + 1'000));
  // Three 3 s clips uploaded while the film's first chunks run.
  std::vector<std::string> clips;
  for (int i = 0; i < 3; ++i)
    clips.push_back(AddSized(c, t0 + 8'000 + i, 3'000));

  std::vector<std::string> order;
  for (int i = 0; i < 10; ++i) {
    Job j = ClaimOne(c, t0 + 9'000);
    order.push_back(j.video_id == film ? j.kind : "clip");
  }
  CHECK_FALSE(c.Claim(t0 + 9'000));  // the stitch waits
  // Deadlines: film chunk i at t0 + 10 s × (i+1), audio at t0 + 10 s, clips
  // at t0 + 11 s: the clips come right after the film's first 10 s.
  CHECK(order == std::vector<std::string>{"chunk", "audio", "clip", "clip",
                                          "clip", "chunk", "chunk", "chunk",
                                          "chunk", "chunk"});

  // A clip queued long after still waits for the work whose deadline is
  // earlier: nothing starves.
  TempCatalog d;
  auto film2 = AddSized(d, t0, 60'000);
  Job p2 = ClaimOne(d, t0);
  REQUIRE(Split(d, p2, 6, 10'000, t0));
  auto late = AddSized(d, t0 + 45'000, 3'000);
  std::vector<std::string> order2;
  for (int i = 0; i < 8; ++i) {
    Job j = ClaimOne(d, t0 + 45'000);
    order2.push_back(j.video_id == film2 ? j.kind : "clip");
  }
  CHECK(order2 == std::vector<std::string>{"chunk", "audio", "chunk", "chunk",
                                           "chunk", "clip", "chunk", "chunk"});
  (void)late;
}

TEST_CASE("admin priority overrides fair order and moves a group together",
          "[jobs][split][fair]") {
  TempCatalog c;
  int64_t t0 = 1'700'000'000'000;
  auto film = AddSized(c, t0, 60'000);
  Job parent = ClaimOne(c, t0);
  REQUIRE(Split(c, parent, 3, 20'000, t0));
  auto clip = AddSized(c, t0 + 1, 3'000);
  auto m = Members(c, parent.id);

  // Raising any member raises the queued and waiting rest of the group.
  REQUIRE(
      c.Tx([&](Db& d) { return SetJobPriority(d, m["chunk2"].id, 10, t0); }));
  for (const auto& [name, job] : Members(c, parent.id)) {
    INFO(name);
    CHECK(job.priority == 10);
  }
  CHECK(c.Get(parent.id).priority == 10);  // done, but it names the group
  CHECK(c.Get(c.job_of[clip]).priority == 0);
  for (int i = 0; i < 4; ++i) CHECK(ClaimOne(c, t0 + 2).video_id == film);
  CHECK(ClaimOne(c, t0 + 2).video_id == clip);

  auto out_of_range =
      c.Tx([&](Db& d) { return SetJobPriority(d, parent.id, 5000, t0); });
  REQUIRE_FALSE(out_of_range);
  CHECK(out_of_range.error().code == ErrorCode::kInvalidArgument);
  auto missing = c.Tx([&](Db& d) { return SetJobPriority(d, 999, 1, t0); });
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == ErrorCode::kNotFound);
  // The clip's job is leased now, the film's members all leased: the parent
  // (done) names a group with nothing queued or waiting left but the stitch.
  REQUIRE(c.Tx([&](Db& d) { return SetJobPriority(d, parent.id, -3, t0); }));
  CHECK(c.Get(m["stitch"].id).priority == -3);

  // A standalone job that is done has nothing left to reprioritise.
  TempCatalog d;
  AddSized(d, t0, 1'000);
  Job only = ClaimOne(d, t0);
  Complete(d, only, t0);
  auto finished =
      d.Tx([&](Db& db) { return SetJobPriority(db, only.id, 1, t0); });
  REQUIRE_FALSE(finished);
  CHECK(finished.error().code == ErrorCode::kConflict);
}

TEST_CASE("queue order survives a restart: it is all in rows",
          "[jobs][split][fair]") {
  int64_t t0 = 1'700'000'000'000;
  std::vector<int64_t> before, after;
  TempCatalog c;
  auto film = AddSized(c, t0, 40'000);
  Job parent = ClaimOne(c, t0);
  REQUIRE(Split(c, parent, 4, 10'000, t0));
  AddSized(c, t0 + 5'000, 2'000);
  auto urgent = AddSized(c, t0 + 6'000, 50'000);
  REQUIRE(c.Tx([&](Db& d) {
    return SetJobPriority(d, c.job_of[urgent], 1, t0 + 6'000);
  }));
  // The order a claimer would see, read without claiming.
  auto peek = [](Db& db) {
    auto s = db.Prepare(
        "SELECT id FROM jobs WHERE state='queued' ORDER BY priority DESC, "
        "fair_key, id");
    REQUIRE(s);
    std::vector<int64_t> ids;
    while (*s->Step()) ids.push_back(s->Int(0));
    return ids;
  };
  before = peek(*c.db);
  REQUIRE(before.size() == 7);
  CHECK(before.front() == c.job_of[urgent]);

  // "Restart": close the catalog, open it again, claim everything.
  c.db.reset();
  c.db = std::move(*Db::Open(c.path, Db::Mode::kReadWrite));
  REQUIRE(Migrate(*c.db));
  CHECK(peek(*c.db) == before);
  for (size_t i = 0; i < before.size(); ++i) {
    after.push_back(ClaimOne(c, t0 + 7'000).id);
  }
  CHECK(after == before);
  (void)film;
}

TEST_CASE("deleting a split video cancels its waiting stitch",
          "[jobs][split]") {
  TempCatalog c;
  int64_t t0 = 1'700'000'000'000;
  auto v = AddSized(c, t0, 20'000);
  Job parent = ClaimOne(c, t0);
  REQUIRE(Split(c, parent, 2, 10'000, t0));
  auto m = Members(c, parent.id);
  REQUIRE(c.Tx([&](Db& d) { return MarkVideoDeleting(d, v, t0 + 1); }));
  for (const auto& [name, job] : Members(c, parent.id)) {
    INFO(name);
    CHECK(job.state == "cancelled");
  }
  REQUIRE(c.Tx([&](Db& d) { return DeleteVideoRows(d, v); }));
  auto group = ListGroup(*c.db, parent.id);
  REQUIRE(group);
  CHECK(group->empty());
}
