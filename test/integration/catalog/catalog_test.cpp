#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "support/media_fixture.h"
#include "support/test_util.h"
#include "vodd/catalog/media.h"
#include "vodd/catalog/schema.h"
#include "vodd/catalog/videos.h"
#include "vodd/catalog/writer.h"

using namespace vodd;
using namespace vodd::catalog;
using vodd::test::TempDir;

namespace {
std::string Pragma(Db& db, const std::string& name) {
  auto s = db.Prepare("PRAGMA " + name);
  REQUIRE(s);
  auto row = s->Step();
  REQUIRE(row);
  REQUIRE(*row);
  return s->Text(0);
}
}  // namespace

TEST_CASE(
    "migrations run from empty, re-run as no-ops, and refuse newer schemas",
    "[integration]") {
  TempDir dir;
  std::string path = dir / "catalog.db";
  {
    auto db = Db::Open(path, Db::Mode::kReadWrite);
    REQUIRE(db);
    CHECK(UserVersion(**db) == 0);
    REQUIRE(Migrate(**db));
    CHECK(UserVersion(**db) == SchemaVersion());
    REQUIRE(Migrate(**db));  // idempotent
    CHECK(UserVersion(**db) == SchemaVersion());
    CHECK(Pragma(**db, "journal_mode") == "wal");
    CHECK(Pragma(**db, "synchronous") == "2");  // FULL
    CHECK(Pragma(**db, "foreign_keys") == "1");
    CHECK(Pragma(**db, "integrity_check") == "ok");
    for (const char* t :
         {"videos", "uploads", "jobs", "renditions", "segments", "settings",
          "api_tokens", "keyframes", "thumbnails", "retired_versions"}) {
      auto s =
          (*db)->Prepare("SELECT strict FROM pragma_table_list WHERE name=?1");
      REQUIRE(s);
      s->Bind(1, t);
      auto row = s->Step();
      REQUIRE(row);
      INFO(t);
      REQUIRE(*row);
      CHECK(s->Int(0) == 1);  // STRICT
    }
    REQUIRE((*db)->Exec("PRAGMA user_version=" +
                        std::to_string(SchemaVersion() + 1)));
  }
  auto w = Writer::Create(path, nullptr);
  REQUIRE_FALSE(w);
  CHECK(w.error().code == ErrorCode::kFailedPrecondition);
  CHECK(w.error().message.find("newer") != std::string::npos);
}

TEST_CASE("a failed migration leaves the catalog as it was", "[integration]") {
  TempDir dir;
  std::string path = dir / "catalog.db";
  {
    auto db = Db::Open(path, Db::Mode::kReadWrite);
    REQUIRE(db);
    // A table named like one the migration creates makes it fail midway.
    REQUIRE((*db)->Exec("CREATE TABLE jobs(x INTEGER)"));
    auto r = Migrate(**db);
    REQUIRE_FALSE(r);
    CHECK(UserVersion(**db) == 0);
    auto s = (*db)->Prepare(
        "SELECT count(*) FROM sqlite_master WHERE name='videos'");
    REQUIRE(s);
    REQUIRE(*s->Step());
    CHECK(s->Int(0) == 0);  // rolled back as one transaction
  }
}

TEST_CASE("the writer serializes concurrent callers without losing a write",
          "[integration]") {
  TempDir dir;
  auto w = Writer::Create(dir / "catalog.db", nullptr);
  REQUIRE(w);
  Writer& writer = **w;
  REQUIRE(writer.Call<bool>([](Db& db) -> Result<bool> {
    TRY(db.Exec(
        "INSERT INTO settings(key,value,updated_at) VALUES('n','0',0)"));
    return true;
  }));
  constexpr int kThreads = 8, kPerThread = 50;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        // Read-modify-write: lost updates would show if transactions
        // overlapped.
        auto r = writer.Call<int64_t>([](Db& db) -> Result<int64_t> {
          TRY_ASSIGN(Stmt s,
                     db.Prepare("SELECT CAST(value AS INTEGER) FROM settings "
                                "WHERE key='n'"));
          TRY_ASSIGN(bool row, s.Step());
          if (!row) return MakeError(ErrorCode::kNotFound, "n");
          int64_t n = s.Int(0) + 1;
          TRY_ASSIGN(Stmt u,
                     db.Prepare("UPDATE settings SET value=?1 WHERE key='n'"));
          u.Bind(1, std::to_string(n));
          TRY(u.Run());
          return n;
        });
        if (!r) failures++;
      }
    });
  }
  // A reader on its own connection reads while the writer works.
  auto reader = OpenReader(dir / "catalog.db");
  REQUIRE(reader);
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  auto s = (*reader)->Prepare("SELECT value FROM settings WHERE key='n'");
  REQUIRE(s);
  REQUIRE(*s->Step());
  CHECK(s->Text(0) == std::to_string(kThreads * kPerThread));
}

TEST_CASE("an error inside a writer closure rolls the transaction back",
          "[integration]") {
  TempDir dir;
  auto w = Writer::Create(dir / "catalog.db", nullptr);
  REQUIRE(w);
  auto r = (*w)->Call<bool>([](Db& db) -> Result<bool> {
    TRY(db.Exec(
        "INSERT INTO settings(key,value,updated_at) VALUES('a','1',0)"));
    return MakeError(ErrorCode::kConflict, "changed my mind");
  });
  REQUIRE_FALSE(r);
  CHECK(r.error().code == ErrorCode::kConflict);
  auto count = (*w)->Call<int64_t>([](Db& db) -> Result<int64_t> {
    TRY_ASSIGN(Stmt s, db.Prepare("SELECT count(*) FROM settings"));
    TRY(s.Step());
    return s.Int(0);
  });
  REQUIRE(count);
  CHECK(*count == 0);
  (*w)->Stop();
  // After Stop, work is refused with kCancelled instead of hanging.
  auto late = (*w)->Call<bool>([](Db&) -> Result<bool> { return true; });
  REQUIRE_FALSE(late);
  CHECK(late.error().code == ErrorCode::kCancelled);
}

TEST_CASE("STRICT tables and CHECK constraints reject bad rows",
          "[integration]") {
  TempDir dir;
  auto w = Writer::Create(dir / "catalog.db", nullptr);
  REQUIRE(w);
  auto bad_state = (*w)->Call<bool>([](Db& db) -> Result<bool> {
    TRY(db.Exec(
        "INSERT INTO videos(id,state,source_path,created_at,updated_at) "
        "VALUES('x','bogus','p',0,0)"));
    return true;
  });
  CHECK_FALSE(bad_state);
  auto bad_type = (*w)->Call<bool>([](Db& db) -> Result<bool> {
    TRY(db.Exec(
        "INSERT INTO settings(key,value,updated_at) VALUES('k','v','soon')"));
    return true;
  });
  CHECK_FALSE(bad_type);
}

TEST_CASE("CreateVideoWithJob is idempotent and PublishVersion round-trips",
          "[integration]") {
  TempDir dir;
  auto w = Writer::Create(dir / "catalog.db", nullptr);
  REQUIRE(w);
  NewVideo nv;
  nv.id = std::string(32, 'a');
  nv.title = "Title";
  nv.source_path = "uploads/" + nv.id;
  auto j1 = (*w)->Call<int64_t>(
      [&](Db& db) { return CreateVideoWithJob(db, nv, 1000, 3); });
  auto j2 = (*w)->Call<int64_t>(
      [&](Db& db) { return CreateVideoWithJob(db, nv, 2000, 3); });
  INFO((j1 ? std::string() : j1.error().message));
  REQUIRE(j1);
  REQUIRE(j2);
  CHECK(*j1 == *j2);

  PublishedVersion p;
  p.video_id = nv.id;
  p.version = 1;
  p.duration_ms = 8000;
  Rendition v = test::VideoRendition("v720", 1280, 720, 30, 15360, 3'200'000);
  v.bandwidth_avg = 2'900'000;
  v.init_size = 800;
  v.init_hash = "ab";
  v.segments = {{1, 0, 61440, 1000, "h1"}, {2, 61440, 61440, 900, "h2"}};
  v.keyframes = {{1, 0, 0, 500}, {2, 61440, 0, 400}};
  Rendition a;
  a.name = "a0";
  a.kind = "audio";
  a.codecs = "mp4a.40.2";
  a.sample_rate = 48000;
  a.channels = 2;
  a.timescale = 48000;
  a.bandwidth_peak = a.bandwidth_avg = 130000;
  a.init_size = 600;
  a.init_hash = "cd";
  a.segments = {{1, 0, 192000, 64000, "h3"}, {2, 192000, 192000, 64000, "h4"}};
  p.renditions = {v, a};
  REQUIRE((*w)->Call<bool>([&](Db& db) -> Result<bool> {
    TRY(PublishVersion(db, p, 5000));
    return true;
  }));
  auto reader = OpenReader(dir / "catalog.db");
  REQUIRE(reader);
  auto loaded = LoadPublished(**reader, nv.id, 0);
  REQUIRE(loaded);
  REQUIRE(loaded->has_value());
  const auto& got = **loaded;
  CHECK(got.version == 1);
  CHECK(got.published_at == 5000);
  REQUIRE(got.renditions.size() == 2);
  CHECK(got.renditions[0].name == "v720");
  CHECK(got.renditions[0].segments.size() == 2);
  CHECK(got.renditions[0].segments[1].start_time == 61440);
  CHECK(got.renditions[0].keyframes.size() == 2);
  CHECK(got.renditions[1].language == "und");
  auto other = LoadPublished(**reader, nv.id, 2);
  REQUIRE(other);
  CHECK_FALSE(other->has_value());
  auto video = GetVideo(**reader, nv.id);
  REQUIRE(video);
  REQUIRE(video->has_value());
  CHECK((*video)->state == "ready");
  // The library's resolution column: the largest rung.
  CHECK((*video)->width == 1280);
  CHECK((*video)->height == 720);
  CHECK((*video)->duration_ms == 8000);
  reader->reset();
  w->reset();

  // A catalog from before schema 4 (sizes never stored) gets them filled in.
  auto db = Db::Open(dir / "catalog.db", Db::Mode::kReadWrite);
  REQUIRE(db);
  REQUIRE((*db)->Exec("UPDATE videos SET width=NULL, height=NULL"));
  REQUIRE((*db)->Exec("PRAGMA user_version=3"));
  REQUIRE(Migrate(**db));
  auto again = GetVideo(**db, nv.id);
  REQUIRE(again);
  REQUIRE(again->has_value());
  CHECK((*again)->width == 1280);
  CHECK((*again)->height == 720);
}
