// Every HTTP rule of the origin, over a real socket: content types, cache
// headers, validators and 304, ranges and 416, If-Range, gzip and its ETag,
// CORS and OPTIONS, HEAD, 404 caching, traversal, tokens (query and
// cookie), the origin secret, and the metrics they leave behind.
#include <unistd.h>

#include <thread>

#include <catch2/catch.hpp>

#include "integration/origin/harness.h"
#include "vodd/core/clock.h"
#include "vodd/origin/dash.h"
#include "vodd/origin/edgeauth.h"
#include "vodd/origin/hls.h"

namespace vodd::origin::testing {
namespace {

const std::string kVideo = "0123456789abcdef0123456789abcdef";
const std::string kSigned = "fedcba9876543210fedcba9876543210";
const std::string kKey = std::string(64, 'a');
const std::string kOldKey = std::string(64, 'b');
constexpr const char* kImmutable = "public, max-age=31536000, immutable";
constexpr const char* kManifestCc =
    "public, max-age=60, s-maxage=86400, stale-while-revalidate=60, "
    "stale-if-error=86400";

std::string V(const std::string& rest) { return "/v/" + kVideo + "/" + rest; }

void CheckCommon(const Response& r) {
  CHECK(r.Header("access-control-allow-origin") == "*");
  CHECK(r.Header("access-control-expose-headers") ==
        "Content-Length, Content-Range, ETag, Last-Modified, Date, Age");
  CHECK(r.Header("timing-allow-origin") == "*");
  CHECK(r.Header("x-content-type-options") == "nosniff");
  CHECK(r.Has("date"));
  CHECK_FALSE(r.Has("set-cookie"));
}

double CounterValue(MetricsRegistry& m, const std::string& series) {
  std::string text = m.Render();
  auto pos = text.find("\n" + series + " ");
  if (pos == std::string::npos) return 0;
  return std::stod(text.substr(pos + series.size() + 2));
}

TEST_CASE("manifests: content, headers, gzip, 304", "[integration][origin]") {
  OriginHarness h;
  auto v = h.Publish(kVideo, 3);
  std::string lm = HttpDate(v.published_at / 1000);

  SECTION("versioned multivariant playlist") {
    auto r = Fetch(h.Url(V("3/master.m3u8")));
    REQUIRE(r.status == 200);
    CheckCommon(r);
    CHECK(r.body == RenderMultivariant(v));
    CHECK(r.Header("content-type") == "application/vnd.apple.mpegurl");
    CHECK(r.Header("cache-control") == kManifestCc);
    CHECK(r.Header("vary") == "Accept-Encoding");
    CHECK(r.Header("last-modified") == lm);
    CHECK(r.Header("content-length") == std::to_string(r.body.size()));
    CHECK_FALSE(r.Has("content-encoding"));
    std::string etag = r.Header("etag");
    CHECK(etag.size() == 34);
    CHECK(etag.front() == '"');

    auto nm = Fetch(h.Url(V("3/master.m3u8")), {"If-None-Match: " + etag});
    CHECK(nm.status == 304);
    CHECK(nm.body.empty());
    CHECK(nm.Header("etag") == etag);
    CHECK(nm.Header("cache-control") == kManifestCc);

    auto ims = Fetch(h.Url(V("3/master.m3u8")), {"If-Modified-Since: " + lm});
    CHECK(ims.status == 304);
    auto old =
        Fetch(h.Url(V("3/master.m3u8")),
              {"If-Modified-Since: " + HttpDate(v.published_at / 1000 - 10)});
    CHECK(old.status == 200);

    SECTION("gzip has its own ETag") {
      auto gz = Fetch(h.Url(V("3/master.m3u8")), {"Accept-Encoding: gzip, br"});
      REQUIRE(gz.status == 200);
      CHECK(gz.Header("content-encoding") == "gzip");
      CHECK(gz.Header("vary") == "Accept-Encoding");
      CHECK(gz.Header("etag") == etag.substr(0, etag.size() - 1) + "-gz\"");
      CHECK(gz.Header("content-length") == std::to_string(gz.body.size()));
      CHECK(Gunzip(gz.body) == RenderMultivariant(v));
      auto gz304 = Fetch(
          h.Url(V("3/master.m3u8")),
          {"Accept-Encoding: gzip", "If-None-Match: " + gz.Header("etag")});
      CHECK(gz304.status == 304);
      // The identity tag does not validate the gzip representation.
      auto mismatch =
          Fetch(h.Url(V("3/master.m3u8")),
                {"Accept-Encoding: gzip", "If-None-Match: " + etag});
      CHECK(mismatch.status == 200);
      auto refused =
          Fetch(h.Url(V("3/master.m3u8")), {"Accept-Encoding: gzip;q=0"});
      CHECK_FALSE(refused.Has("content-encoding"));
    }
  }

  SECTION("every manifest kind") {
    auto media = Fetch(h.Url(V("3/v720/index.m3u8")));
    CHECK(media.status == 200);
    CHECK(media.body == RenderMediaPlaylist(v, v.renditions[0]));
    CHECK(media.Header("cache-control") == kManifestCc);
    auto iframes = Fetch(h.Url(V("3/v720/iframes.m3u8")));
    CHECK(iframes.status == 200);
    CHECK(iframes.body == RenderIFramePlaylist(v.renditions[0]));
    auto mpd = Fetch(h.Url(V("3/manifest.mpd")));
    CHECK(mpd.status == 200);
    CHECK(mpd.Header("content-type") == "application/dash+xml");
    CHECK(mpd.body == RenderMpd(v));
    auto vtt = Fetch(h.Url(V("3/thumbs.vtt")));
    CHECK(vtt.status == 200);
    CHECK(vtt.Header("content-type") == "text/vtt");
    CHECK(vtt.Header("cache-control") == kImmutable);
    CHECK(vtt.body == RenderThumbnailsVtt(v));
    // Audio has no I-frame playlist.
    CHECK(Fetch(h.Url(V("3/a0/iframes.m3u8"))).status == 404);
  }

  SECTION("stable URLs serve the current version with short caching") {
    auto r = Fetch(h.Url(V("master.m3u8")));
    REQUIRE(r.status == 200);
    CHECK(r.body == RenderMultivariant(v, "3/"));
    CHECK(r.Header("cache-control") ==
          "public, max-age=60, s-maxage=60, stale-while-revalidate=60, "
          "stale-if-error=86400");
    auto mpd = Fetch(h.Url(V("manifest.mpd")));
    CHECK(mpd.body == RenderMpd(v, "3/"));
    auto poster = Fetch(h.Url(V("poster.jpg")));
    CHECK(poster.status == 200);
    CHECK(poster.Header("content-type") == "image/jpeg");
    CHECK(poster.Header("etag") == "\"" + v.thumbnails->poster_hash + "\"");
    CHECK(poster.Header("cache-control") == r.Header("cache-control"));
    CHECK(Sha256Hex(poster.body) == v.thumbnails->poster_hash);
    // A new version takes over the stable URLs in the first answer after
    // the cached entry's refresh interval (2 s): never a stale one, which a
    // CDN would keep for another max-age.
    auto v4 = h.Publish(kVideo, 4);
    usleep(2100 * 1000);
    CHECK(Fetch(h.Url(V("master.m3u8"))).body == RenderMultivariant(v4, "4/"));
    CHECK(Fetch(h.Url(V("manifest.mpd"))).body == RenderMpd(v4, "4/"));
    REQUIRE(v4.thumbnails->poster_hash != v.thumbnails->poster_hash);
    CHECK(Fetch(h.Url(V("poster.jpg"))).Header("etag") ==
          "\"" + v4.thumbnails->poster_hash + "\"");
  }

  SECTION("HEAD on a manifest") {
    auto r = Fetch(h.Url(V("3/master.m3u8")), {}, "HEAD");
    CHECK(r.status == 200);
    CHECK(r.body.empty());
    CHECK(r.Header("content-length") ==
          std::to_string(RenderMultivariant(v).size()));
  }
}

TEST_CASE("a retired version's manifests are cached no longer than its grace",
          "[integration][origin]") {
  // Version 3 is replaced by version 4 at the fixture's publish time; with
  // a one-hour grace and 10 minutes of it left, a CDN may keep version 3's
  // manifests 10 minutes, not the usual day.
  FakeClock clock;
  config::OriginConfig cfg;
  cfg.version_grace_s = 3600;
  OriginHarness h(cfg, &clock);
  auto v3 = h.Publish(kVideo, 3);
  h.Publish(kVideo, 4);
  clock.Advance(v3.published_at - clock.NowUnixMs() + 50 * 60 * 1000);
  for (const char* doc : {"3/master.m3u8", "3/manifest.mpd",
                          "3/v720/index.m3u8", "3/v720/iframes.m3u8"}) {
    INFO(doc);
    auto r = Fetch(h.Url(V(doc)));
    REQUIRE(r.status == 200);
    CHECK(r.Header("cache-control") ==
          "public, max-age=60, s-maxage=600, stale-while-revalidate=60, "
          "stale-if-error=86400");
  }
  // The current version, by its number: the full lifetime.
  CHECK(Fetch(h.Url(V("4/master.m3u8"))).Header("cache-control") ==
        kManifestCc);
  // In its last minute: max-age too.
  clock.Advance(9 * 60 * 1000 + 30 * 1000);
  auto last = Fetch(h.Url(V("3/v720/index.m3u8")));
  CHECK(last.Header("cache-control") ==
        "public, max-age=30, s-maxage=30, stale-while-revalidate=60, "
        "stale-if-error=86400");
}

TEST_CASE("media: immutable, ranges, 304, HEAD", "[integration][origin]") {
  OriginHarness h;
  auto v = h.Publish(kVideo, 3);
  const auto& seg = v.renditions[0].segments[1];
  std::string data =
      FileBytes(kVideo + "v720" + "2", static_cast<size_t>(seg.size));
  std::string url = h.Url(V("3/v720/2.m4s"));
  std::string etag = "\"" + seg.hash + "\"";
  std::string lm = HttpDate(v.published_at / 1000);

  SECTION("full segment") {
    auto r = Fetch(url);
    REQUIRE(r.status == 200);
    CheckCommon(r);
    CHECK(r.body == data);
    CHECK(r.Header("content-type") == "video/iso.segment");
    CHECK(r.Header("cache-control") == kImmutable);
    CHECK(r.Header("etag") == etag);
    CHECK(r.Header("last-modified") == lm);
    CHECK(r.Header("accept-ranges") == "bytes");
    CHECK(r.Header("content-length") == std::to_string(data.size()));
    CHECK_FALSE(r.Has("transfer-encoding"));
    CHECK_FALSE(r.Has("vary"));
    // The second request is served from the hot-segment cache.
    double hits = CounterValue(
        h.metrics(), "vodd_origin_cache_hits_total{cache=\"segment\"}");
    CHECK(Fetch(url).body == data);
    CHECK(CounterValue(h.metrics(),
                       "vodd_origin_cache_hits_total{cache=\"segment\"}") ==
          hits + 1);
  }
  SECTION("init segment, poster, sprite") {
    auto init = Fetch(h.Url(V("3/a0/init.mp4")));
    CHECK(init.status == 200);
    CHECK(init.Header("content-type") == "audio/mp4");
    CHECK(init.Header("etag") == "\"" + v.renditions[2].init_hash + "\"");
    CHECK(Sha256Hex(init.body) == v.renditions[2].init_hash);
    CHECK(Fetch(h.Url(V("3/v720/init.mp4"))).Header("content-type") ==
          "video/mp4");
    auto poster = Fetch(h.Url(V("3/poster.jpg")));
    CHECK(poster.status == 200);
    CHECK(poster.Header("content-type") == "image/jpeg");
    CHECK(poster.Header("cache-control") == kImmutable);
    CHECK(Sha256Hex(Fetch(h.Url(V("3/sprite.jpg"))).body) ==
          v.thumbnails->sprite_hash);
  }
  SECTION("conditional requests") {
    CHECK(Fetch(url, {"If-None-Match: " + etag}).status == 304);
    CHECK(Fetch(url, {"If-None-Match: \"other\", " + etag}).status == 304);
    CHECK(Fetch(url, {"If-None-Match: *"}).status == 304);
    CHECK(Fetch(url, {"If-None-Match: \"other\""}).status == 200);
    CHECK(Fetch(url, {"If-Modified-Since: " + lm}).status == 304);
    CHECK(Fetch(url,
                {"If-Modified-Since: " + HttpDate(v.published_at / 1000 - 1)})
              .status == 200);
    // If-None-Match wins over If-Modified-Since.
    CHECK(Fetch(url, {"If-None-Match: \"other\"", "If-Modified-Since: " + lm})
              .status == 200);
    auto r = Fetch(url, {"If-None-Match: " + etag});
    CHECK(r.Header("etag") == etag);
    CHECK(r.Header("cache-control") == kImmutable);
  }
  SECTION("ranges") {
    auto r = Fetch(url, {"Range: bytes=100-199"});
    REQUIRE(r.status == 206);
    CHECK(r.body == data.substr(100, 100));
    CHECK(r.Header("content-range") ==
          "bytes 100-199/" + std::to_string(data.size()));
    CHECK(r.Header("content-length") == "100");
    CHECK(r.Header("etag") == etag);
    auto suffix = Fetch(url, {"Range: bytes=-10"});
    CHECK(suffix.status == 206);
    CHECK(suffix.body == data.substr(data.size() - 10));
    auto open = Fetch(url, {"Range: bytes=20000-"});
    CHECK(open.status == 206);
    CHECK(open.body == data.substr(20000));
    CHECK(open.Header("content-range") ==
          fmt::format("bytes 20000-{}/{}", data.size() - 1, data.size()));
    auto big = Fetch(url, {"Range: bytes=0-99999999"});
    CHECK(big.status == 206);
    CHECK(big.body == data);
    auto bad = Fetch(url, {"Range: bytes=99999999-"});
    CHECK(bad.status == 416);
    CHECK(bad.Header("content-range") ==
          "bytes */" + std::to_string(data.size()));
    CHECK(bad.body.empty());
    auto multi = Fetch(url, {"Range: bytes=0-1,5-6"});
    CHECK(multi.status == 200);
    CHECK(multi.body == data);
    auto junk = Fetch(url, {"Range: lines=1-2"});
    CHECK(junk.status == 200);
  }
  SECTION("If-Range") {
    auto same = Fetch(url, {"Range: bytes=0-9", "If-Range: " + etag});
    CHECK(same.status == 206);
    CHECK(same.body == data.substr(0, 10));
    auto changed = Fetch(url, {"Range: bytes=0-9", "If-Range: \"stale\""});
    CHECK(changed.status == 200);
    CHECK(changed.body == data);
    auto date = Fetch(url, {"Range: bytes=0-9", "If-Range: " + lm});
    CHECK(date.status == 206);
    auto old =
        Fetch(url, {"Range: bytes=0-9",
                    "If-Range: " + HttpDate(v.published_at / 1000 - 100)});
    CHECK(old.status == 200);
  }
  SECTION("HEAD needs no bytes and sends the exact length") {
    auto r = Fetch(url, {}, "HEAD");
    CHECK(r.status == 200);
    CHECK(r.body.empty());
    CHECK(r.Header("content-length") == std::to_string(data.size()));
    auto range = Fetch(url, {"Range: bytes=0-9"}, "HEAD");
    CHECK(range.status == 206);
    CHECK(range.Header("content-length") == "10");
  }
  SECTION("a file that disagrees with the catalog is not served") {
    WriteFile(h.layout().MediaDir(kVideo, 3) + "/v360/3.m4s", "short");
    auto r = Fetch(h.Url(V("3/v360/3.m4s")));
    CHECK(r.status == 500);
    CHECK(r.Header("cache-control") == "no-store");
  }
}

TEST_CASE("CORS preflight, methods, 404 caching", "[integration][origin]") {
  OriginHarness h;
  h.Publish(kVideo, 3);
  auto opt = Fetch(
      h.Url(V("3/v720/1.m4s")),
      {"Origin: https://player.example", "Access-Control-Request-Method: GET",
       "Access-Control-Request-Headers: range"},
      "OPTIONS");
  CHECK(opt.status == 204);
  CheckCommon(opt);
  CHECK(opt.Header("access-control-allow-methods") == "GET, HEAD, OPTIONS");
  CHECK(opt.Header("access-control-allow-headers") ==
        "Range, If-None-Match, If-Modified-Since, If-Range");
  CHECK(opt.Header("access-control-max-age") == "86400");

  auto post = Fetch(h.Url(V("3/master.m3u8")), {}, "POST");
  CHECK(post.status == 405);
  CHECK(post.Header("allow") == "GET, HEAD, OPTIONS");

  for (const auto& p : {"/v/ffffffffffffffffffffffffffffffff/master.m3u8",
                        "/v/ffffffffffffffffffffffffffffffff/1/v720/1.m4s",
                        "/v/0123456789abcdef0123456789abcdef/9/master.m3u8",
                        "/v/0123456789abcdef0123456789abcdef/3/v1080/1.m4s",
                        "/v/0123456789abcdef0123456789abcdef/3/v720/4.m4s",
                        "/v/0123456789abcdef0123456789abcdef/3/v720/x.m4s",
                        "/v/0123456789abcdef0123456789abcdef/3/catalog.db"}) {
    INFO(p);
    auto r = Fetch(h.Url(p));
    CHECK(r.status == 404);
    CHECK(r.Header("cache-control") == "public, max-age=10");
    CheckCommon(r);
  }
  CHECK(CounterValue(h.metrics(),
                     "vodd_origin_responses_total{code=\"404\"}") == 7);
}

TEST_CASE("traversal attempts never leave the media root",
          "[integration][origin]") {
  OriginHarness h;
  h.Publish(kVideo, 3);
  // A symlink inside the media folder pointing out of it.
  std::string dir = h.layout().MediaDir(kVideo, 3);
  WriteFile(h.layout().root() + "/secret.txt", std::string(21000, 's'));
  std::filesystem::remove(dir + "/v360/1.m4s");
  std::filesystem::create_symlink(h.layout().root() + "/secret.txt",
                                  dir + "/v360/1.m4s");
  auto link = Fetch(h.Url(V("3/v360/1.m4s")));
  CHECK(link.status != 200);
  CHECK(link.body.find("sss") == std::string::npos);

  // The lane sees the raw request target: the grammar decodes each part
  // once, and a part that decodes to "..", '/', '\\', NUL or another '%' is
  // answered 400.
  for (const auto& p :
       {V("3/%2e%2e/%2e%2e/%2e%2e/db/catalog.db"), V("3/%2E%2E/%2E%2E/x"),
        V("3/v720%2f..%2f..%2f..%2f..%2fdb/catalog.db"), V("3/v720%5c1.m4s"),
        V("3/v720/1.m4s%00.jpg"), V("3/v720/%252e%252e"),
        V("3/v720/%252e%252e%252fcatalog.db"), V("3/../../../db/catalog.db"),
        V("3/v720/../../../../db/catalog.db"),
        V("3/v720/%2e%2e%2f%2e%2e%2fx")}) {
    INFO(p);
    auto r = Fetch(h.Url(p));
    CHECK(r.status >= 400);
    CHECK(r.status < 500);
    CHECK(r.body.find("SQLite") == std::string::npos);
  }
  CHECK(Fetch(h.Url(V("3/v720/%252e%252e"))).status == 400);
  CHECK(Fetch(h.Url(V("3/v720%5c1.m4s"))).status == 400);
  // An escaped '/' never acts as a separator, even where it would name a
  // real object; escaped dot segments are refused, not resolved.
  for (const auto& p : {V("3/v720%2F1.m4s"), V("3/v720%2f1.m4s"),
                        V("3%2Fmaster.m3u8"), V("3/%2e%2e/3/master.m3u8"),
                        V("3/v720/%2E%2E/master.m3u8"), V("3/v720/%2e/1.m4s"),
                        V("3/./master.m3u8"), V("3/v720/../master.m3u8")}) {
    INFO(p);
    auto r = Fetch(h.Url(p));
    CHECK(r.status == 400);
    CHECK(r.Header("cache-control") == "no-store");
  }
  // Escapes of ordinary characters are decoded once, like any server would.
  CHECK(Fetch(h.Url(V("3/v72%30/1.m4s"))).status == 200);
}

TEST_CASE("signed playback: EdgeAuth tokens by query or cookie",
          "[integration][origin]") {
  config::OriginConfig cfg;
  cfg.signing_key = kKey;
  cfg.signing_key_previous = kOldKey;
  FakeClock clock(1'700'001'000'000);
  OriginHarness h(cfg, &clock);
  h.Publish(kVideo, 3);
  h.Publish(kSigned, 1, "signed");
  std::string path = "/v/" + kSigned + "/1/v720/1.m4s";
  auto token = [&](const std::string& key, int64_t st, int64_t exp,
                   const std::string& acl) {
    return SignToken(key, st, exp, acl).value();
  };
  std::string good = token(kKey, 1700000000, 1700003600, VideoAcl(kSigned));

  // Public videos need no token.
  CHECK(Fetch(h.Url(V("3/v720/1.m4s"))).status == 200);

  auto missing = Fetch(h.Url(path));
  CHECK(missing.status == 403);
  CHECK(missing.Header("cache-control") == "private, no-store");
  CheckCommon(missing);
  CHECK(Fetch(h.Url(path + "?__token__=" + good)).status == 200);
  CHECK(
      Fetch(h.Url("/v/" + kSigned + "/master.m3u8?__token__=" + good)).status ==
      200);
  CHECK(
      Fetch(h.Url(path), {"Cookie: a=b; __token__=" + good + "; c=d"}).status ==
      200);
  // Percent-encoded once in the query is the same token.
  std::string encoded = good;
  for (size_t i; (i = encoded.find('/')) != std::string::npos;)
    encoded.replace(i, 1, "%2F");
  CHECK(Fetch(h.Url(path + "?x=1&__token__=" + encoded)).status == 200);

  auto expired = token(kKey, 1699990000, 1700000000, VideoAcl(kSigned));
  CHECK(Fetch(h.Url(path + "?__token__=" + expired)).status == 403);
  auto early = token(kKey, 1700002000, 1700009000, VideoAcl(kSigned));
  CHECK(Fetch(h.Url(path + "?__token__=" + early)).status == 403);
  auto other_acl = token(kKey, 1700000000, 1700003600, VideoAcl(kVideo));
  CHECK(Fetch(h.Url(path + "?__token__=" + other_acl)).status == 403);
  std::string tampered = good;
  tampered.replace(tampered.find("exp=1700003600"), 14, "exp=1900003600");
  CHECK(Fetch(h.Url(path + "?__token__=" + tampered)).status == 403);
  auto old_key = token(kOldKey, 1700000000, 1700003600, VideoAcl(kSigned));
  CHECK(Fetch(h.Url(path + "?__token__=" + old_key)).status == 200);
  auto unknown_key =
      token(std::string(64, 'c'), 1700000000, 1700003600, VideoAcl(kSigned));
  CHECK(Fetch(h.Url(path + "?__token__=" + unknown_key)).status == 403);
  CHECK(Fetch(h.Url(path + "?__token__=garbage")).status == 403);

  auto& m = h.metrics();
  CHECK(CounterValue(m, "vodd_token_rejections_total{reason=\"missing\"}") ==
        1);
  CHECK(CounterValue(m, "vodd_token_rejections_total{reason=\"expired\"}") ==
        1);
  CHECK(CounterValue(
            m, "vodd_token_rejections_total{reason=\"not_yet_valid\"}") == 1);
  CHECK(CounterValue(
            m, "vodd_token_rejections_total{reason=\"acl_mismatch\"}") == 1);
  CHECK(CounterValue(m, "vodd_token_rejections_total{reason=\"bad_mac\"}") ==
        2);
  CHECK(CounterValue(m, "vodd_token_rejections_total{reason=\"malformed\"}") ==
        1);
  // Skew: 20 s past expiry is still inside the 30 s tolerance.
  clock.Advance(2'620'000);
  CHECK(Fetch(h.Url(path + "?__token__=" + good)).status == 200);
  clock.Advance(20'000);
  CHECK(Fetch(h.Url(path + "?__token__=" + good)).status == 403);
}

TEST_CASE("origin secret header", "[integration][origin]") {
  config::OriginConfig cfg;
  cfg.origin_secret = "cdn-shared-secret";
  OriginHarness h(cfg);
  h.Publish(kVideo, 3);
  auto none = Fetch(h.Url(V("3/master.m3u8")));
  CHECK(none.status == 403);
  CHECK(none.Header("cache-control") == "no-store");
  CHECK(
      Fetch(h.Url(V("3/master.m3u8")), {"X-Vodd-Origin-Auth: wrong"}).status ==
      403);
  CHECK(Fetch(h.Url(V("3/master.m3u8")),
              {"X-Vodd-Origin-Auth: cdn-shared-secret"})
            .status == 200);
  CHECK(
      Fetch(h.Url(V("3/v720/1.m4s")), {"X-Vodd-Origin-Auth: cdn-shared-secret"})
          .status == 200);
}

TEST_CASE("metrics count responses and bytes", "[integration][origin]") {
  OriginHarness h;
  auto v = h.Publish(kVideo, 3);
  auto r = Fetch(h.Url(V("3/v720/1.m4s")));
  auto p = Fetch(h.Url(V("3/v720/1.m4s")), {"Range: bytes=0-9"});
  auto& m = h.metrics();
  CHECK(CounterValue(m, "vodd_origin_responses_total{code=\"200\"}") == 1);
  CHECK(CounterValue(m, "vodd_origin_responses_total{code=\"206\"}") == 1);
  CHECK(CounterValue(m, "vodd_origin_bytes_sent_total") ==
        static_cast<double>(r.body.size() + 10));
  CHECK(CounterValue(m, "vodd_origin_cache_misses_total{cache=\"segment\"}") ==
        1);
  CHECK(CounterValue(m, "vodd_origin_cache_hits_total{cache=\"segment\"}") ==
        1);
}

TEST_CASE("concurrent misses share one load", "[integration][origin]") {
  OriginHarness h;
  auto v = h.Publish(kVideo, 3);
  constexpr int kClients = 8;
  std::vector<std::thread> clients;
  std::vector<Response> got(kClients);
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] { got[i] = Fetch(h.Url(V("3/v720/3.m4s"))); });
  }
  for (auto& t : clients) t.join();
  for (const auto& r : got) {
    CHECK(r.status == 200);
    CHECK(Sha256Hex(r.body) == v.renditions[0].segments[2].hash);
  }
  auto& m = h.metrics();
  CHECK(CounterValue(m, "vodd_origin_loads_total{kind=\"file\"}") == 1);
  CHECK(CounterValue(m, "vodd_origin_loads_total{kind=\"catalog\"}") == 1);
}

TEST_CASE("a keep-alive connection libsoup owns still gets the origin",
          "[integration][origin]") {
  OriginHarness h;
  auto v = h.Publish(kVideo, 3);
  const auto& seg = v.renditions[0].segments[0];
  std::string data =
      FileBytes(kVideo + "v720" + "1", static_cast<size_t>(seg.size));
  // One curl handle reuses its connection: the first request is not the
  // lane's, so the connection goes to libsoup and stays there.
  CURL* c = curl_easy_init();
  auto get = [&](const std::string& path, const std::string& range = "") {
    Response r;
    curl_easy_setopt(c, CURLOPT_URL, h.Url(path).c_str());
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.headers);
    curl_easy_setopt(c, CURLOPT_RANGE, range.empty() ? nullptr : range.c_str());
    if (curl_easy_perform(c) == CURLE_OK)
      curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    return r;
  };
  CHECK(get("/not-the-origin").status == 404);
  auto full = get(V("3/v720/1.m4s"));
  CHECK(full.status == 200);
  CHECK(full.body == data);
  CHECK(full.Header("etag") == "\"" + seg.hash + "\"");
  auto part = get(V("3/v720/1.m4s"), "100-199");
  CHECK(part.status == 206);
  CHECK(part.body == data.substr(100, 100));
  CHECK(get(V("3/master.m3u8")).body == RenderMultivariant(v));
  // libsoup decoded %2F before the grammar saw it (docs/architecture.md
  // "Known gaps"); on the lane the same URL is 400.
  CHECK(get(V("3/v720%2F1.m4s")).body == data);
  long reused = 0;
  curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &reused);
  CHECK(reused == 0);
  curl_easy_cleanup(c);
  CHECK(Fetch(h.Url(V("3/v720%2F1.m4s"))).status == 400);
}

}  // namespace
}  // namespace vodd::origin::testing
