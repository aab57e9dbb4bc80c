// End to end on real media produced by vodd's own pipeline: the built binary
// serves, `vodd ingest` transcodes a generated clip, then
//  - ffprobe/ffmpeg -xerror read master.m3u8 and manifest.mpd to the end
//    with the expected frame count;
//  - hls.js, dash.js and Shaka Player in Chromium play both manifests and
//    every rendition when forced (players.mjs), and switch a bilingual
//    video's audio language (audio_languages.mjs);
//  - nginx with proxy_cache (packaging/nginx-cdn-cache.conf) in front:
//    segment HIT on the second request, manifests revalidated with 304
//    upstream, ranges answered through the cache.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <regex>

#include "support/e2e_env.h"
#include "support/test_util.h"

using namespace vodd::test;

namespace {

constexpr int kSeconds = 10;
constexpr int kFps = 25;
constexpr int kFrames = kSeconds * kFps;

// One daemon and one transcoded video for every case in this file.
PublishedClip& Shared() {
  // Short manifest TTLs so the proxy test sees a revalidation quickly.
  static PublishedClip env(
      "[pipeline]\nworkers = 1\nladder = 360:700,240:300\n[origin]\n"
      "manifest_max_age_s = 1\nmanifest_s_maxage_s = 1\nsigning_key = " +
          std::string(64, 'e') + "\n",
      kSeconds, kFps, "-preset ultrafast", std::chrono::seconds(240));
  return env;
}

int CountFrames(const std::string& url, const std::string& stream) {
  CommandResult r = RunCommand(
      "ffprobe -v error -select_streams " + stream +
      " -count_frames -show_entries stream=nb_read_frames -of csv=p=0 '" + url +
      "' 2>&1");
  INFO(r.out);
  if (r.status != 0) return -1;
  return std::atoi(r.out.c_str());
}

TEST_CASE("ffprobe and ffmpeg -xerror read both manifests to the end",
          "[e2e][origin]") {
  PublishedClip& env = Shared();
  REQUIRE(env.ok());
  for (const std::string& manifest :
       {std::string("master.m3u8"), std::string("manifest.mpd"),
        std::string("1/master.m3u8"), std::string("1/manifest.mpd")}) {
    INFO(manifest);
    std::string url = env.Url(manifest);
    CHECK(CountFrames(url, "v:0") == kFrames);
    CHECK(CountFrames(url, "v:1") == kFrames);
    // AAC at 48 kHz: 1024 samples a frame, the last partial frame dropped.
    CHECK(CountFrames(url, "a:0") == kSeconds * 48000 / 1024);
    CommandResult r = RunCommand("ffmpeg -nostdin -v error -xerror -i '" + url +
                                 "' -map 0:v:0 -map 0:a:0 -f null - 2>&1");
    CHECK(r.status == 0);
    CHECK(r.out.empty());
  }
}

TEST_CASE("hls.js, dash.js and Shaka play both manifests and every rendition",
          "[e2e][origin][browser]") {
  PublishedClip& env = Shared();
  REQUIRE(env.ok());
  CommandResult r = RunCommand("node " + std::string(VODD_SOURCE_DIR) +
                               "/test/e2e/origin/players.mjs " + env.vodd.base +
                               "/v/" + env.video + " 360,240 2>&1");
  const std::string& out = r.out;
  INFO(out);
  CHECK(r.status == 0);
  // 12 cases: hls.js×HLS, dash.js×DASH, Shaka×both; each auto + 2 forced.
  CHECK(std::count(out.begin(), out.end(), '\n') == 12);
  CHECK(out.find("\"ok\":false") == std::string::npos);
}

TEST_CASE("a bilingual source: each player lists both languages and switches",
          "[e2e][origin][browser]") {
  // English 440 Hz, French 1 kHz, and an English commentary that shares a
  // language (left out): a0 "en" and a1 "fr", in both manifests.
  PublishedClip& env = Shared();
  REQUIRE(env.ok());
  const std::string clip = env.vodd.dir / "bilingual.mp4";
  CommandResult made = RunCommand(
      "ffmpeg -nostdin -loglevel error -y "
      "-f lavfi -i testsrc2=size=640x360:rate=25:duration=6 "
      "-f lavfi -i sine=f=440:sample_rate=48000:d=6 "
      "-f lavfi -i sine=f=1000:sample_rate=48000:d=6 "
      "-f lavfi -i sine=f=300:sample_rate=48000:d=6 "
      "-map 0 -map 1 -map 2 -map 3 -metadata:s:a:0 language=eng "
      "-metadata:s:a:1 language=fra -metadata:s:a:2 language=eng "
      "-c:v libx264 -preset ultrafast -g 25 -c:a aac -ac 2 '" +
      clip + "' 2>&1");
  INFO(made.out);
  REQUIRE(made.status == 0);
  auto video = env.vodd.Ingest(clip);
  REQUIRE(video);
  REQUIRE(env.vodd.WaitPublished(*video, std::chrono::seconds(240)));
  auto master = Http("GET", env.vodd.Url(*video, "master.m3u8"));
  REQUIRE(master.status == 200);
  INFO(master.body);
  CHECK(master.body.find("LANGUAGE=\"en\",DEFAULT=YES") != std::string::npos);
  CHECK(master.body.find("LANGUAGE=\"fr\",DEFAULT=NO") != std::string::npos);
  auto mpd = Http("GET", env.vodd.Url(*video, "manifest.mpd"));
  CHECK(mpd.body.find("lang=\"fr\"") != std::string::npos);

  CommandResult r =
      RunCommand("node " + std::string(VODD_SOURCE_DIR) +
                 "/test/e2e/origin/audio_languages.mjs " + env.vodd.base +
                 "/v/" + *video + " en,fr English,French 2>&1");
  const std::string& out = r.out;
  INFO(out);
  CHECK(r.status == 0);
  // hls.js×HLS, dash.js×DASH, Shaka×both.
  CHECK(std::count(out.begin(), out.end(), '\n') == 4);
  CHECK(out.find("\"ok\":false") == std::string::npos);
}

struct Nginx {
  TempDir dir;
  int port = FreePort();
  pid_t pid = -1;
  explicit Nginx(int upstream_port) {
    std::string example = ReadFile(std::string(VODD_SOURCE_DIR) +
                                   "/packaging/nginx-cdn-cache.conf");
    auto replace = [&](const std::string& from, const std::string& to) {
      auto at = example.find(from);
      REQUIRE(at != std::string::npos);
      example.replace(at, from.size(), to);
    };
    replace("server 127.0.0.1:8080;",
            "server 127.0.0.1:" + std::to_string(upstream_port) + ";");
    replace("listen 8081;", "listen 127.0.0.1:" + std::to_string(port) + ";");
    replace("/var/cache/nginx/vodd", dir / "cache");
    std::string p = dir.path();
    WriteFile(dir / "nginx.conf",
              "pid " + p + "/nginx.pid;\nerror_log " + p +
                  "/error.log;\n"
                  "events { worker_connections 64; }\nhttp {\n  access_log " +
                  p + "/access.log;\n  client_body_temp_path " + p +
                  "/body;\n"
                  "  proxy_temp_path " +
                  p + "/proxy;\n  fastcgi_temp_path " + p +
                  "/fastcgi;\n  uwsgi_temp_path " + p +
                  "/uwsgi;\n  scgi_temp_path " + p + "/scgi;\n" + example +
                  "\n}\n");
    pid = fork();
    if (pid == 0) {
      execl("/usr/sbin/nginx", "nginx", "-p", p.c_str(), "-e",
            (p + "/error.log").c_str(), "-c", (p + "/nginx.conf").c_str(), "-g",
            "daemon off; master_process off;", nullptr);
      _exit(127);
    }
  }
  ~Nginx() {
    if (pid > 0) {
      kill(pid, SIGTERM);
      waitpid(pid, nullptr, 0);
    }
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port) + path;
  }
};

double Metric(const std::string& base, const std::string& series) {
  std::string text = Http("GET", base + "/metrics").body;
  auto pos = text.find("\n" + series + " ");
  return pos == std::string::npos
             ? 0
             : std::stod(text.substr(pos + series.size() + 2));
}

TEST_CASE("behind nginx proxy_cache: hits, 304 revalidation, ranges",
          "[e2e][origin][nginx]") {
  PublishedClip& env = Shared();
  REQUIRE(env.ok());
  Nginx nginx(env.vodd.port);
  std::string path = "/v/" + env.video + "/1/";
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {
    up = Http("GET", nginx.Url(path + "master.m3u8")).status == 200;
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(up);

  auto direct = Http("GET", env.Url("1/v360/2.m4s"));
  REQUIRE(direct.status == 200);
  auto first = Http("GET", nginx.Url(path + "v360/2.m4s"));
  CHECK(first.status == 200);
  CHECK(first.headers["x-cache-status"] == "MISS");
  auto second = Http("GET", nginx.Url(path + "v360/2.m4s"));
  CHECK(second.status == 200);
  CHECK(second.headers["x-cache-status"] == "HIT");
  CHECK(second.body == direct.body);
  CHECK(second.headers["etag"] == direct.headers["etag"]);
  CHECK(second.headers["cache-control"] ==
        "public, max-age=31536000, immutable");

  // Ranges through the cache: exact bytes and Content-Range.
  auto range =
      Http("GET", nginx.Url(path + "v360/2.m4s"), {"Range: bytes=100-1123"});
  CHECK(range.status == 206);
  CHECK(range.body == direct.body.substr(100, 1024));
  CHECK(range.headers["content-range"] ==
        "bytes 100-1123/" + std::to_string(direct.body.size()));
  auto cold =
      Http("GET", nginx.Url(path + "v240/1.m4s"), {"Range: bytes=-500"});
  CHECK(cold.status == 206);
  CHECK(
      cold.body ==
      Http("GET", env.Url("1/v240/1.m4s"))
          .body.substr(Http("GET", env.Url("1/v240/1.m4s")).body.size() - 500));

  // Manifests: cached, then revalidated with a conditional GET that vodd
  // answers 304 once max-age (1 s here) has passed.
  auto m1 = Http("GET", nginx.Url(path + "v360/index.m3u8"));
  CHECK(m1.status == 200);
  double not_modified =
      Metric(env.vodd.base, "vodd_origin_responses_total{code=\"304\"}");
  std::this_thread::sleep_for(std::chrono::milliseconds(2200));
  auto m2 = Http("GET", nginx.Url(path + "v360/index.m3u8"));
  CHECK(m2.status == 200);
  CHECK(m2.headers["x-cache-status"] == "REVALIDATED");
  CHECK(m2.body == m1.body);
  CHECK(Metric(env.vodd.base, "vodd_origin_responses_total{code=\"304\"}") ==
        not_modified + 1);
}

// Runs after the cases above: it flips the shared video to signed playback.
TEST_CASE("vodd sign-url prints a URL the origin accepts for a signed video",
          "[e2e][origin][token]") {
  PublishedClip& env = Shared();
  REQUIRE(env.ok());
  CommandResult sign =
      RunCommand(std::string(VODD_BINARY) + " sign-url " + env.video +
                 " --ttl 600 -c " + env.vodd.conf + " 2>&1");
  REQUIRE(sign.status == 0);
  std::string url = sign.out;
  while (!url.empty() && url.back() == '\n') url.pop_back();
  CHECK(std::regex_match(
      url,
      std::regex(env.vodd.base + "/v/" + env.video +
                 "/master\\.m3u8\\?__token__=st=[0-9]+~exp=[0-9]+~acl=/v/" +
                 env.video + "/\\*~hmac=[0-9a-f]{64}")));
  std::string sql = "sqlite3 -cmd '.timeout 5000' " +
                    env.vodd.dir / "data/db/catalog.db" +
                    " \"UPDATE videos SET playback_policy='signed' WHERE id='" +
                    env.video + "'\"";
  REQUIRE(RunCommand(sql + " 2>&1").status == 0);
  // The origin re-reads a cached version within a few seconds.
  long code = 0;
  for (int i = 0; i < 100 && code != 403; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    code = Http("GET", env.Url("master.m3u8")).status;
  }
  CHECK(code == 403);
  auto signed_get = Http("GET", url);
  CHECK(signed_get.status == 200);
  CHECK(signed_get.body.rfind("#EXTM3U", 0) == 0);
  std::string token = url.substr(url.find("__token__=") + 10);
  CHECK(Http("GET", env.Url("1/v240/1.m4s"), {"Cookie: __token__=" + token})
            .status == 200);
  CHECK(Http("GET", env.Url("1/v240/1.m4s")).status == 403);
}

}  // namespace
