// Over HTTP: a video published again (version 2, queued by `vodd video
// reprocess` while the daemon runs) keeps answering its version 1 URLs with
// the same bytes during the grace period, and a daemon started with the
// grace over removes version 1 (rows, then media).
#include <chrono>
#include <filesystem>
#include <thread>

#include <catch2/catch.hpp>

#include "support/e2e_env.h"
#include "support/test_util.h"
#include "vodd/catalog/db.h"
#include "vodd/catalog/media.h"
#include "vodd/catalog/videos.h"

using namespace vodd;
using namespace vodd::test;
namespace fs = std::filesystem;

namespace {

constexpr auto kTranscode = std::chrono::seconds(240);
constexpr auto kPoll = std::chrono::milliseconds(200);

struct GraceEnv : E2eVodd {
  GraceEnv() { ConfigureGrace(90000); }
  void ConfigureGrace(int grace_s) {
    Configure(
        "[pipeline]\nworkers = 1\nladder = 240:300\nsegment_seconds = 2\n"
        "x264_preset = ultrafast\n[origin]\nversion_grace_s = " +
        std::to_string(grace_s) + "\n");
  }
  std::unique_ptr<catalog::Db> Db(catalog::Db::Mode mode) {
    auto db = catalog::Db::Open(dir / "data/db/catalog.db", mode);
    REQUIRE(db);
    return std::move(*db);
  }
  int64_t Version(const std::string& id) {
    auto db = Db(catalog::Db::Mode::kReadOnly);
    auto v = catalog::GetVideo(*db, id);
    REQUIRE(v);
    REQUIRE(*v);
    return (*v)->version;
  }
};

}  // namespace

TEST_CASE("version 1 URLs keep their bytes after version 2 is published",
          "[e2e][pipeline]") {
  GraceEnv env;
  std::string clip = env.GstClip("clip.mp4", 2, 320, 240, /*audio=*/false);
  REQUIRE(!clip.empty());
  auto ingested = env.Ingest(clip);
  REQUIRE(ingested);
  std::string id = *ingested;

  REQUIRE(env.Start());
  REQUIRE(WaitFor([&] { return env.Version(id) == 1; }, kTranscode, kPoll));
  std::string v1 = env.base + "/v/" + id + "/1/";
  auto seg1 = Http("GET", v1 + "v240/1.m4s", {}, "", 10);
  REQUIRE(seg1.status == 200);
  REQUIRE(!seg1.body.empty());
  auto playlist1 = Http("GET", v1 + "v240/index.m3u8", {}, "", 10);
  REQUIRE(playlist1.status == 200);

  // Publish again: `vodd video reprocess` queues a second transcode job; a
  // second request while it is queued or running is refused.
  std::string reprocess = std::string(VODD_BINARY) + " video reprocess -c " +
                          env.conf + " " + id + " 2>&1";
  CommandResult queued = RunCommand(reprocess);
  INFO(queued.out);
  REQUIRE(queued.status == 0);
  CHECK(queued.out.find("queued for processing again as job") !=
        std::string::npos);
  CommandResult twice = RunCommand(reprocess);
  CHECK(twice.status != 0);
  CHECK(twice.out.find("video has job") != std::string::npos);
  REQUIRE(WaitFor([&] { return env.Version(id) == 2; }, kTranscode, kPoll));
  auto stable = Http("GET", env.base + "/v/" + id + "/master.m3u8", {}, "", 10);
  REQUIRE(stable.status == 200);
  CHECK(stable.body.find("2/v240/index.m3u8") != std::string::npos);

  // Version 1: same bytes, from disk and from the catalog (the origin
  // re-reads a cached version within seconds; give it time to have).
  std::this_thread::sleep_for(std::chrono::seconds(3));
  auto again = Http("GET", v1 + "v240/1.m4s", {}, "", 10);
  CHECK(again.status == 200);
  CHECK(again.body == seg1.body);
  auto playlist = Http("GET", v1 + "v240/index.m3u8", {}, "", 10);
  CHECK(playlist.status == 200);
  CHECK(playlist.body == playlist1.body);
  CHECK(Http("GET", v1 + "master.m3u8", {}, "", 10).status == 200);
  CHECK(fs::exists(env.dir / ("data/media/" + id + "/1/v240/1.m4s")));

  // A restart with the grace over collects version 1; version 2 stays.
  env.Kill();
  env.ConfigureGrace(0);
  REQUIRE(env.Start());
  CHECK_FALSE(fs::exists(env.dir / ("data/media/" + id + "/1")));
  CHECK(Http("GET", v1 + "v240/1.m4s", {}, "", 10).status == 404);
  CHECK(
      Http("GET", env.base + "/v/" + id + "/2/v240/1.m4s", {}, "", 10).status ==
      200);
  auto db = env.Db(catalog::Db::Mode::kReadOnly);
  auto gone = catalog::LoadPublished(*db, id, 1);
  REQUIRE(gone);
  CHECK_FALSE(*gone);
}
