#include <catch2/catch.hpp>

#include <vector>

#include "vodd/origin/path.h"

namespace vodd::origin {
namespace {

const std::string kVideo = "0123456789abcdef0123456789abcdef";

ObjectPath Parse(const std::string& p) {
  auto r = ParseObjectPath(p);
  REQUIRE(r.object);
  return *r.object;
}

PathError Error(const std::string& p) {
  auto r = ParseObjectPath(p);
  REQUIRE_FALSE(r.object);
  return r.error;
}

TEST_CASE("every object of the URL scheme parses", "[unit][origin][path]") {
  auto m = Parse("/v/" + kVideo + "/master.m3u8");
  CHECK(m.kind == ObjectKind::kMaster);
  CHECK(m.version == 0);
  CHECK(m.video == kVideo);
  CHECK(Parse("/v/" + kVideo + "/manifest.mpd").kind == ObjectKind::kMpd);
  auto vm = Parse("/v/" + kVideo + "/12/master.m3u8");
  CHECK(vm.version == 12);
  CHECK(Parse("/v/" + kVideo + "/1/manifest.mpd").kind == ObjectKind::kMpd);
  CHECK(Parse("/v/" + kVideo + "/1/thumbs.vtt").kind == ObjectKind::kThumbsVtt);
  CHECK(Parse("/v/" + kVideo + "/1/sprite.jpg").kind == ObjectKind::kSprite);
  CHECK(Parse("/v/" + kVideo + "/1/poster.jpg").kind == ObjectKind::kPoster);
  auto stable_poster = Parse("/v/" + kVideo + "/poster.jpg");
  CHECK(stable_poster.kind == ObjectKind::kPoster);
  CHECK(stable_poster.version == 0);
  auto media = Parse("/v/" + kVideo + "/1/v720/index.m3u8");
  CHECK(media.kind == ObjectKind::kMedia);
  CHECK(media.rendition == "v720");
  CHECK(Parse("/v/" + kVideo + "/1/v720/iframes.m3u8").kind ==
        ObjectKind::kIFrames);
  CHECK(Parse("/v/" + kVideo + "/1/a0/init.mp4").kind == ObjectKind::kInit);
  auto seg = Parse("/v/" + kVideo + "/1/v_720/123.m4s");
  CHECK(seg.kind == ObjectKind::kSegment);
  CHECK(seg.segment == 123);
  CHECK(MediaFileName(seg) == "v_720/123.m4s");
  CHECK(MediaFileName(Parse("/v/" + kVideo + "/1/a0/init.mp4")) ==
        "a0/init.mp4");
  CHECK(MediaFileName(Parse("/v/" + kVideo + "/1/poster.jpg")) == "poster.jpg");
  CHECK(MediaFileName(m).empty());
}

TEST_CASE("escapes of allowed characters decode once", "[unit][origin][path]") {
  CHECK(Parse("/v/" + kVideo + "/1/v720/%31.m4s").segment == 1);
}

TEST_CASE("names outside the grammar are 404", "[unit][origin][path]") {
  for (const std::string& p : std::vector<std::string>{
           "/v/",
           "/v/" + kVideo,
           "/v/" + kVideo + "/",
           "/x/" + kVideo + "/master.m3u8",
           "/v/0123456789ABCDEF0123456789ABCDEF/master.m3u8",  // upper case
           "/v/0123456789abcdef/master.m3u8",                  // short id
           "/v/" + kVideo + "/0/master.m3u8",                  // version 0
           "/v/" + kVideo + "/01/master.m3u8",                 // leading zero
           "/v/" + kVideo + "/1234567890/master.m3u8",         // too long
           "/v/" + kVideo + "/-1/master.m3u8",
           "/v/" + kVideo + "/1/index.m3u8",
           "/v/" + kVideo + "/1/V720/index.m3u8",  // upper case
           "/v/" + kVideo + "/1/" + std::string(33, 'a') + "/index.m3u8",
           "/v/" + kVideo + "/1/v720/0.m4s",
           "/v/" + kVideo + "/1/v720/01.m4s",
           "/v/" + kVideo + "/1/v720/1.mp4",
           "/v/" + kVideo + "/1/v720/1.m4s.bak",
           "/v/" + kVideo + "/1/v720/.m4s",
           "/v/" + kVideo + "/1/v720/init.mp4/x",
           "/v/" + kVideo + "/1/v720/x/1.m4s",
           "/v/" + kVideo + "/1/catalog.db",
           "/v/" + kVideo + "/1/v720/",
       }) {
    INFO(p);
    CHECK(Error(p) == PathError::kNotFound);
  }
}

TEST_CASE("traversal attempts are 400", "[unit][origin][path]") {
  for (const std::string& p : std::vector<std::string>{
           "/v/" + kVideo + "/1/../../db/catalog.db",
           "/v/" + kVideo + "/1/%2e%2e/%2e%2e/db/catalog.db",
           "/v/" + kVideo + "/1/%2E%2E/x",
           "/v/" + kVideo + "/1/v720%2f..%2f..%2fx/1.m4s",
           "/v/" + kVideo + "/1/v720%2F1.m4s",
           "/v/" + kVideo + "/1/v720%5c1.m4s",
           "/v/" + kVideo + "/1/v720/1.m4s%00.jpg",
           "/v/" + kVideo + "/1/v720/%252e%252e",  // double encoding stays '%'
           "/v/" + kVideo + "/1/v720/%zz.m4s",     // bad escape
           "/v/" + kVideo + "/1/v720/%4",
           "/v/" + kVideo + "/./master.m3u8",
           "/v/" + kVideo + "/1/v720/1.m4s\xff",
       }) {
    INFO(p);
    CHECK(Error(p) == PathError::kBad);
  }
}

TEST_CASE("paths a server already decoded are not decoded again",
          "[unit][origin][path]") {
  auto ok = ParseObjectPath("/v/" + kVideo + "/1/v720/1.m4s",
                            Escapes::kAlreadyDecoded);
  REQUIRE(ok.object);
  CHECK(ok.object->segment == 1);
  // "%2e%2e" here was "%252e%252e" on the wire: a second layer of escaping.
  for (const std::string& p :
       std::vector<std::string>{"/v/" + kVideo + "/1/v720/%2e%2e",
                                "/v/" + kVideo + "/1/v720/%31.m4s",
                                "/v/" + kVideo + "/1/v720\\1.m4s",
                                "/v/" + kVideo + "/1/../master.m3u8"}) {
    INFO(p);
    auto r = ParseObjectPath(p, Escapes::kAlreadyDecoded);
    CHECK_FALSE(r.object);
    CHECK(r.error == PathError::kBad);
  }
}

TEST_CASE("percent decoding", "[unit][origin][path]") {
  CHECK(PercentDecode("a%2Fb%2f") == "a/b/");
  CHECK(PercentDecode("%41%7e") == "A~");
  CHECK_FALSE(PercentDecode("%"));
  CHECK_FALSE(PercentDecode("%a"));
  CHECK_FALSE(PercentDecode("%g0"));
  CHECK(PercentDecode("").value().empty());
}

}  // namespace
}  // namespace vodd::origin
