// The file side of retired versions, on a real catalog and data folder:
// CollectRetiredVersions removes rows then media once the grace is over,
// the startup sweep keeps the folders of versions still in grace, the
// supervisor's housekeeping runs the collector, and deleting a video removes
// every version.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <thread>

#include "support/media_fixture.h"
#include "support/test_util.h"
#include "vodd/catalog/media.h"
#include "vodd/catalog/videos.h"
#include "vodd/catalog/writer.h"
#include "vodd/core/clock.h"
#include "vodd/pipeline/publish.h"
#include "vodd/pipeline/supervisor.h"
#include "vodd/storage/storage.h"

using namespace vodd;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kGrace = 25 * 3'600'000;

struct Fixture {
  test::TempDir dir;
  std::unique_ptr<storage::Layout> layout;
  std::unique_ptr<catalog::Writer> writer;
  FakeClock clock;
  std::string video = std::string(32, 'd');

  Fixture() {
    auto l = storage::Layout::Create(dir.path());
    REQUIRE(l);
    layout = std::make_unique<storage::Layout>(*l);
    auto w = catalog::Writer::Create(layout->CatalogPath(), nullptr);
    REQUIRE(w);
    writer = std::move(*w);
    catalog::NewVideo nv;
    nv.id = video;
    nv.source_path = "uploads/" + video;
    REQUIRE(writer->Call<int64_t>([&](catalog::Db& db) {
      return catalog::CreateVideoWithJob(db, nv, clock.NowUnixMs(), 3);
    }));
  }

  // Writes version `n`'s folder (one rendition, one segment whose bytes
  // name the version) and publishes it at the fake clock's time.
  void Publish(int64_t n) {
    std::string d = layout->MediaDir(video, n) + "/v360";
    fs::create_directories(d);
    std::string seg = "segment of version " + std::to_string(n);
    test::WriteFile(d + "/init.mp4", "init");
    test::WriteFile(d + "/1.m4s", seg);
    catalog::PublishedVersion p;
    p.video_id = video;
    p.version = n;
    p.duration_ms = 2000;
    catalog::Rendition r =
        test::VideoRendition("v360", 640, 360, 25, 12800, 100'000);
    r.init_size = 4;
    r.init_hash = "i";
    r.segments = {{1, 0, 25600, static_cast<int64_t>(seg.size()), "s"}};
    p.renditions = {r};
    REQUIRE(writer->Call<bool>([&](catalog::Db& db) -> Result<bool> {
      TRY(catalog::PublishVersion(db, p, clock.NowUnixMs()));
      return true;
    }));
  }

  // What a reader (the origin's loader) gets for `version`, with the grace
  // check at the fake clock's time.
  int64_t Served(int64_t version) {
    auto reader = catalog::OpenReader(layout->CatalogPath());
    REQUIRE(reader);
    auto p = catalog::LoadPublished(**reader, video, version, clock.NowUnixMs(),
                                    kGrace);
    REQUIRE(p);
    return *p ? (*p)->version : 0;
  }
  int64_t Rows(int64_t version) {
    auto n = writer->Call<int64_t>([&](catalog::Db& db) -> Result<int64_t> {
      TRY_ASSIGN(catalog::Stmt s,
                 db.Prepare("SELECT count(*) FROM renditions WHERE "
                            "video_id=?1 AND version=?2"));
      s.Bind(1, video).Bind(2, version);
      TRY(s.Step());
      return s.Int(0);
    });
    REQUIRE(n);
    return *n;
  }
  bool Files(int64_t version) {
    return fs::exists(layout->MediaDir(video, version) + "/v360/1.m4s");
  }
};

}  // namespace

TEST_CASE("publishing v2 keeps v1 servable until the collector removes it",
          "[integration]") {
  Fixture f;
  f.Publish(1);
  f.clock.Advance(60'000);
  f.Publish(2);
  CHECK(f.Served(0) == 2);
  CHECK(f.Served(1) == 1);
  CHECK(f.Files(1));
  CHECK(test::ReadFile(f.layout->MediaDir(f.video, 1) + "/v360/1.m4s") ==
        "segment of version 1");

  // One millisecond before the end of the grace: nothing to collect.
  f.clock.Advance(kGrace - 1);
  CHECK(f.Served(1) == 1);
  auto none = pipeline::CollectRetiredVersions(*f.writer, *f.layout,
                                               f.clock.NowUnixMs(), kGrace);
  REQUIRE(none);
  CHECK(*none == 0);
  CHECK(f.Rows(1) == 1);
  CHECK(f.Files(1));

  f.clock.Advance(1);
  CHECK(f.Served(1) == 0);  // over, even before the collector ran
  auto one = pipeline::CollectRetiredVersions(*f.writer, *f.layout,
                                              f.clock.NowUnixMs(), kGrace);
  REQUIRE(one);
  CHECK(*one == 1);
  CHECK(f.Rows(1) == 0);
  CHECK_FALSE(fs::exists(f.layout->MediaDir(f.video, 1)));
  CHECK(f.Rows(2) == 1);
  CHECK(f.Files(2));
  CHECK(f.Served(0) == 2);
  auto again = pipeline::CollectRetiredVersions(*f.writer, *f.layout,
                                                f.clock.NowUnixMs(), kGrace);
  REQUIRE(again);
  CHECK(*again == 0);
}

TEST_CASE("the startup sweep keeps versions in grace and removes older ones",
          "[integration]") {
  Fixture f;
  f.Publish(1);
  f.clock.Advance(1000);
  f.Publish(2);  // retires 1
  f.clock.Advance(kGrace / 2);
  f.Publish(3);  // retires 2
  // A folder the catalog never referenced (a crash before a COMMIT).
  fs::create_directories(f.layout->MediaDir(f.video, 9));
  f.clock.Advance(kGrace / 2);  // 1 is past its grace, 2 is not

  REQUIRE(pipeline::RecoverStorage(*f.writer, *f.layout, f.clock.NowUnixMs(),
                                   kGrace));
  CHECK_FALSE(fs::exists(f.layout->MediaDir(f.video, 1)));
  CHECK(f.Rows(1) == 0);
  CHECK(f.Files(2));
  CHECK(f.Rows(2) == 1);
  CHECK(f.Served(2) == 2);
  CHECK(f.Files(3));
  CHECK_FALSE(fs::exists(f.layout->MediaDir(f.video, 9)));

  // A crash after the collector's COMMIT and before the files went: the
  // rows are gone, the folder is an orphan the sweep removes.
  f.clock.Advance(kGrace);
  REQUIRE(f.writer->Call<bool>([&](catalog::Db& db) {
    return catalog::DeleteRetiredVersion(db, {f.video, 2});
  }));
  REQUIRE(f.Files(2));
  REQUIRE(pipeline::RecoverStorage(*f.writer, *f.layout));  // no collection
  CHECK_FALSE(fs::exists(f.layout->MediaDir(f.video, 2)));
  CHECK(f.Files(3));
  CHECK(f.Served(0) == 3);
}

TEST_CASE("deleting a video removes its current and retired versions",
          "[integration]") {
  Fixture f;
  f.Publish(1);
  f.Publish(2);
  REQUIRE(f.Files(1));
  REQUIRE(f.Files(2));
  REQUIRE(pipeline::DeleteVideo(*f.writer, *f.layout, f.video,
                                f.clock.NowUnixMs()));
  CHECK_FALSE(fs::exists(f.layout->VideoDir(f.video)));
  CHECK(f.Rows(1) == 0);
  CHECK(f.Rows(2) == 0);
  CHECK(f.Served(1) == 0);
  auto left = f.writer->Call<int64_t>([](catalog::Db& db) -> Result<int64_t> {
    TRY_ASSIGN(catalog::Stmt s,
               db.Prepare("SELECT count(*) FROM retired_versions"));
    TRY(s.Step());
    return s.Int(0);
  });
  REQUIRE(left);
  CHECK(*left == 0);
}

TEST_CASE("the supervisor's housekeeping collects versions past their grace",
          "[integration]") {
  Fixture f;
  // No job to run: the housekeeping thread is the one under test.
  REQUIRE(f.writer->Call<bool>([](catalog::Db& db) -> Result<bool> {
    TRY(db.Exec("UPDATE jobs SET state='done'"));
    return true;
  }));
  f.Publish(1);
  f.Publish(2);
  f.clock.Advance(kGrace);  // 1 is due

  pipeline::SupervisorOptions opts;
  opts.owner = "test";
  opts.worker_argv = {"/bin/false"};
  opts.recover_at_start = false;  // not the startup sweep
  opts.housekeeping_ms = 10;
  opts.version_gc_ms = 0;
  opts.version_grace_ms = kGrace;
  auto s = pipeline::Supervisor::Create(opts, *f.layout, *f.writer, nullptr,
                                        f.clock);
  REQUIRE(s);
  REQUIRE((*s)->Start());
  bool gone = false;
  for (int i = 0; i < 1000 && !gone; ++i) {
    gone = !fs::exists(f.layout->MediaDir(f.video, 1));
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  (*s)->Stop();
  CHECK(gone);
  CHECK(f.Rows(1) == 0);
  CHECK(f.Files(2));
  CHECK(f.Rows(2) == 1);
}
