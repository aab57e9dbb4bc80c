// Retired versions in the catalog: PublishVersion retires the version it
// replaces, LoadPublished serves it during the grace period, the collector's
// queries find and delete it after, and migration 3 retires the rows older
// catalogs kept forever.
#include <catch2/catch.hpp>

#include "support/media_fixture.h"
#include "support/test_util.h"
#include "vodd/catalog/deletion.h"
#include "vodd/catalog/media.h"
#include "vodd/catalog/schema.h"
#include "vodd/catalog/videos.h"
#include "vodd/catalog/writer.h"

using namespace vodd;
using namespace vodd::catalog;
using vodd::test::TempDir;

namespace {

constexpr int64_t kHour = 3'600'000;

PublishedVersion Version(const std::string& video, int64_t version,
                         const std::string& hash) {
  PublishedVersion p;
  p.video_id = video;
  p.version = version;
  p.duration_ms = 4000 * version;
  Rendition v = test::VideoRendition("v360", 640, 360, 25, 12800, 800'000);
  v.init_hash = "init" + hash;
  v.segments = {{1, 0, 51200, 1000, hash}};
  v.keyframes = {{1, 0, 0, 300}};
  p.renditions = {v};
  p.thumbnails =
      Thumbnails{"p" + hash, 10, "s" + hash, 20, 2000, 160, 90, 5, 1};
  return p;
}

struct Catalog {
  TempDir dir;
  std::unique_ptr<Writer> writer;
  std::unique_ptr<Db> reader;
  std::string video = std::string(32, 'b');

  Catalog() {
    auto w = Writer::Create(dir / "catalog.db", nullptr);
    REQUIRE(w);
    writer = std::move(*w);
    NewVideo nv;
    nv.id = video;
    nv.source_path = "uploads/" + video;
    REQUIRE(writer->Call<int64_t>(
        [&](Db& db) { return CreateVideoWithJob(db, nv, 1000, 3); }));
    auto r = OpenReader(dir / "catalog.db");
    REQUIRE(r);
    reader = std::move(*r);
  }
  void Publish(int64_t version, int64_t now_ms) {
    auto p = Version(video, version, "h" + std::to_string(version));
    REQUIRE(writer->Call<bool>([&](Db& db) -> Result<bool> {
      TRY(PublishVersion(db, p, now_ms));
      return true;
    }));
  }
  // The version LoadPublished returns for `version` (0 = none), with the
  // grace check at `now_ms` when `grace_ms` >= 0.
  int64_t Loaded(int64_t version, int64_t now_ms = 0, int64_t grace_ms = -1) {
    auto r = grace_ms < 0
                 ? LoadPublished(*reader, video, version)
                 : LoadPublished(*reader, video, version, now_ms, grace_ms);
    REQUIRE(r);
    return *r ? (*r)->version : 0;
  }
  int64_t Count(const std::string& sql) {
    auto s = reader->Prepare(sql);
    REQUIRE(s);
    auto row = s->Step();
    REQUIRE(row);
    REQUIRE(*row);
    return s->Int(0);
  }
};

}  // namespace

TEST_CASE("a replaced version stays loadable during its grace period only",
          "[integration]") {
  Catalog c;
  const int64_t t1 = 10 * kHour, t2 = 20 * kHour, grace = 24 * kHour;
  c.Publish(1, t1);
  CHECK(c.Loaded(0) == 1);
  CHECK(c.Loaded(1) == 1);
  c.Publish(2, t2);

  CHECK(c.Loaded(0) == 2);  // the stable URL moves on
  CHECK(c.Loaded(2) == 2);
  CHECK(c.Loaded(1) == 1);  // rows present: servable
  CHECK(c.Loaded(1, t2 + grace - 1, grace) == 1);
  CHECK(c.Loaded(1, t2 + grace, grace) == 0);
  CHECK(c.Loaded(2, t2 + 100 * grace, grace) == 2);  // current: no grace
  CHECK(c.Loaded(3) == 0);

  // The retired version is itself, not the current one relabelled.
  auto v1 = LoadPublished(*c.reader, c.video, 1);
  REQUIRE(v1);
  REQUIRE(*v1);
  CHECK((*v1)->published_at == t1);
  CHECK((*v1)->duration_ms == 4000);
  REQUIRE((*v1)->renditions.size() == 1);
  CHECK((*v1)->renditions[0].segments.at(0).hash == "h1");
  CHECK((*v1)->renditions[0].keyframes.size() == 1);
  REQUIRE((*v1)->thumbnails);
  CHECK((*v1)->thumbnails->poster_hash == "ph1");
  auto v2 = LoadPublished(*c.reader, c.video, 0);
  REQUIRE(v2);
  REQUIRE(*v2);
  CHECK((*v2)->published_at == t2);
  CHECK((*v2)->renditions[0].segments.at(0).hash == "h2");
}

TEST_CASE("expired versions are listed and their rows deleted, not the current",
          "[integration]") {
  Catalog c;
  const int64_t grace = 24 * kHour;
  c.Publish(1, 1 * kHour);
  c.Publish(2, 2 * kHour);  // retires 1 at 2 h
  c.Publish(3, 5 * kHour);  // retires 2 at 5 h

  auto none = ListExpiredVersions(*c.reader, 2 * kHour + grace - 1, grace, 10);
  REQUIRE(none);
  CHECK(none->empty());
  auto one = ListExpiredVersions(*c.reader, 2 * kHour + grace, grace, 10);
  REQUIRE(one);
  REQUIRE(one->size() == 1);
  CHECK(one->at(0) == VersionRef{c.video, 1});
  auto both = ListExpiredVersions(*c.reader, 5 * kHour + grace, grace, 10);
  REQUIRE(both);
  CHECK(both->size() == 2);

  auto retained = RetainedVersions(*c.reader, c.video);
  REQUIRE(retained);
  REQUIRE(*retained);
  CHECK(**retained == std::vector<int64_t>{3, 1, 2});

  auto deleted = c.writer->Call<bool>([&](Db& db) {
    return DeleteRetiredVersion(db, {c.video, 1});
  });
  REQUIRE(deleted);
  CHECK(*deleted);
  // The current version is never collected, even if asked.
  auto current = c.writer->Call<bool>([&](Db& db) {
    return DeleteRetiredVersion(db, {c.video, 3});
  });
  REQUIRE(current);
  CHECK_FALSE(*current);

  CHECK(c.Loaded(1) == 0);
  CHECK(c.Loaded(2) == 2);
  CHECK(c.Loaded(3) == 3);
  CHECK(c.Count("SELECT count(*) FROM renditions WHERE version=1") == 0);
  CHECK(c.Count("SELECT count(*) FROM thumbnails WHERE version=1") == 0);
  CHECK(c.Count("SELECT count(*) FROM segments s JOIN renditions r ON "
                "r.id=s.rendition_id") == 2);
  CHECK(c.Count("SELECT count(*) FROM keyframes") == 2);
  CHECK(c.Count("SELECT count(*) FROM retired_versions") == 1);
  retained = RetainedVersions(*c.reader, c.video);
  REQUIRE(retained);
  REQUIRE(*retained);
  CHECK(**retained == std::vector<int64_t>{3, 2});
}

TEST_CASE("retired versions of a video being deleted are not served",
          "[integration]") {
  Catalog c;
  c.Publish(1, 1000);
  c.Publish(2, 2000);
  REQUIRE(c.Loaded(1) == 1);
  REQUIRE(c.writer->Call<std::string>(
      [&](Db& db) { return MarkVideoDeleting(db, c.video, 3000); }));
  CHECK(c.Loaded(1) == 0);
  CHECK(c.Loaded(0) == 0);
  auto retained = RetainedVersions(*c.reader, c.video);
  REQUIRE(retained);
  CHECK_FALSE(*retained);
  REQUIRE(c.writer->Call<bool>([&](Db& db) -> Result<bool> {
    TRY(DeleteVideoRows(db, c.video));
    return true;
  }));
  CHECK(c.Count("SELECT count(*) FROM renditions") == 0);
  CHECK(c.Count("SELECT count(*) FROM thumbnails") == 0);
  CHECK(c.Count("SELECT count(*) FROM retired_versions") == 0);
}

TEST_CASE("migration 3 retires the rows of old versions a catalog kept",
          "[integration]") {
  TempDir dir;
  std::string path = dir / "catalog.db";
  std::string video = std::string(32, 'c');
  {
    auto db = Db::Open(path, Db::Mode::kReadWrite);
    REQUIRE(db);
    REQUIRE(Migrate(**db));
    REQUIRE(SchemaVersion() >= 3);
    NewVideo nv;
    nv.id = video;
    nv.source_path = "uploads/" + video;
    REQUIRE(CreateVideoWithJob(**db, nv, 1000, 3));
    REQUIRE(PublishVersion(**db, Version(video, 1, "h1"), 2000));
    REQUIRE(PublishVersion(**db, Version(video, 2, "h2"), 3000));
    // As a catalog of schema 2 looks: version 1's rows left behind by
    // publishing version 2, no retired_versions.
    REQUIRE((*db)->Exec("DROP TABLE retired_versions; PRAGMA user_version=2"));
    REQUIRE(UserVersion(**db) == 2);
  }
  auto w = Writer::Create(path, nullptr);  // migrates
  REQUIRE(w);
  auto reader = OpenReader(path);
  REQUIRE(reader);
  auto v = UserVersion(**reader);
  REQUIRE(v);
  CHECK(*v == SchemaVersion());
  auto expired = ListExpiredVersions(**reader, 0, 0, 10);
  REQUIRE(expired);
  REQUIRE(expired->size() == 1);
  CHECK(expired->at(0) == VersionRef{video, 1});
  auto current = LoadPublished(**reader, video, 0);
  REQUIRE(current);
  REQUIRE(*current);
  CHECK((*current)->version == 2);
}
