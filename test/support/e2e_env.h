// The end-to-end tests' vodd: a temp folder with a generated vodd.conf, a
// free loopback port, generated source clips, `vodd serve` as a child
// process and `vodd ingest`. Each test keeps its own config sections and
// source parameters; this fixture only does the plumbing they share.
//
//   E2eVodd env;
//   env.Configure("[pipeline]\nworkers = 1\n");
//   std::string clip = env.FfmpegClip("clip.mp4", 6, 25, "-preset ultrafast");
//   REQUIRE(!clip.empty());
//   REQUIRE(env.Start());
//   auto video = env.Ingest(clip);
//   REQUIRE(video);
//   REQUIRE(env.WaitPublished(*video, std::chrono::seconds(240)));
//
// Failures are reported with FAIL_CHECK (the daemon's log, the tool's
// output) and a false/empty result, never by throwing, so the fixture also
// serves a function-local static shared by several cases.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "support/test_util.h"

namespace vodd::test {

class E2eVodd {
 public:
  E2eVodd()
      : port(FreePort()),
        base("http://127.0.0.1:" + std::to_string(port)),
        conf(dir / "vodd.conf"),
        log(dir / "vodd.log") {}

  // (Re)writes vodd.conf: listen on `port`, data under dir/data with a
  // free-space floor of `min_free_mib` (none by default), then `sections`
  // (e.g. "[pipeline]\nworkers = 1\n"). A running daemon sees the change
  // only when restarted.
  void Configure(const std::string& sections, int min_free_mib = 0) {
    WriteFile(conf, "[server]\nlisten = 127.0.0.1:" + std::to_string(port) +
                        "\n[storage]\ndata_dir = " + dir.path() +
                        "/data\nmin_free_mib = " +
                        std::to_string(min_free_mib) + "\n" + sections);
  }

  // Starts `vodd serve` (after killing the one running, if any) and waits
  // up to 30 s for /healthz. False, with the log, when it does not answer.
  bool Start() {
    daemon_.reset();
    daemon_ = std::make_unique<Daemon>(
        std::vector<std::string>{"serve", "--config", conf}, log);
    if (daemon_->WaitHealthy(base + "/healthz")) return true;
    FAIL_CHECK("daemon did not start: " << ReadFile(log));
    return false;
  }
  // The daemon of the last Start(); only valid after one.
  Daemon& daemon() { return *daemon_; }
  // kill -9 of the daemon, waited for.
  void Kill() { daemon_.reset(); }
  // Pids of the `vodd worker` processes whose parent is the daemon.
  std::vector<pid_t> Workers() const {
    std::vector<pid_t> out;
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
      std::string name = e.path().filename();
      pid_t pid = atoi(name.c_str());
      if (pid <= 0) continue;
      std::string stat = ReadFile("/proc/" + name + "/stat");
      auto close = stat.rfind(')');
      if (close == std::string::npos) continue;
      int ppid = 0;
      char state = 0;
      if (sscanf(stat.c_str() + close + 2, "%c %d", &state, &ppid) != 2)
        continue;
      if (ppid == daemon_->pid() &&
          ReadFile("/proc/" + name + "/cmdline").find("worker") !=
              std::string::npos)
        out.push_back(pid);
    }
    return out;
  }

  // dir/`name`: H.264 (libx264 with `x264_args`, e.g. "-preset ultrafast")
  // + AAC in MP4 from ffmpeg's testsrc2 at 640x360 and a 440 Hz sine at
  // 48 kHz, `seconds` long at `fps`. Empty, with ffmpeg's output, on error.
  std::string FfmpegClip(const std::string& name, int seconds, int fps,
                         const std::string& x264_args) {
    std::string path = dir / name;
    CommandResult r = RunCommand(
        "ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=640x360:"
        "rate=" +
        std::to_string(fps) +
        " -f lavfi -i sine=frequency=440:sample_rate=48000 -t " +
        std::to_string(seconds) + " -c:v libx264 " + x264_args +
        " -pix_fmt yuv420p -c:a aac -shortest " + path + " 2>&1");
    if (r.status == 0) return path;
    FAIL_CHECK("ffmpeg: " << r.out);
    return "";
  }

  // dir/`name`: H.264 (+ AAC with `audio`) in MP4 from gst-launch-1.0's
  // videotestsrc/audiotestsrc, `seconds` long at 30 fps with a keyframe
  // every second. Empty, with gst-launch's output, on error.
  std::string GstClip(const std::string& name, int seconds, int width,
                      int height, bool audio) {
    std::string path = dir / name;
    CommandResult r = RunCommand(
        "gst-launch-1.0 -q videotestsrc num-buffers=" +
        std::to_string(seconds * 30) + " ! video/x-raw,width=" +
        std::to_string(width) + ",height=" + std::to_string(height) +
        ",framerate=30/1 ! x264enc speed-preset=ultrafast key-int-max=30 ! "
        "h264parse ! mp4mux name=m ! filesink location=" +
        path +
        (audio ? " audiotestsrc num-buffers=" + std::to_string(seconds * 47) +
                     " samplesperbuffer=1024 ! audio/x-raw,rate=48000 ! "
                     "audioconvert ! avenc_aac ! aacparse ! m."
               : "") +
        " 2>&1");
    std::error_code ec;
    if (r.status == 0 && std::filesystem::file_size(path, ec) > 0 && !ec)
      return path;
    FAIL_CHECK("gst-launch-1.0: " << r.out);
    return "";
  }

  // `vodd ingest -c conf file args`: the id of the video it created, or
  // nullopt with its output.
  std::optional<std::string> Ingest(const std::string& file,
                                    const std::string& args = "") {
    CommandResult r = RunCommand(std::string(VODD_BINARY) + " ingest -c " +
                                 conf + " " + file + " " + args + " 2>&1");
    std::smatch m;
    if (r.status == 0 &&
        std::regex_search(r.out, m, std::regex("video ([0-9a-f]{32})")))
      return m[1].str();
    FAIL_CHECK("ingest: " << r.out);
    return std::nullopt;
  }

  // Polls the video's master.m3u8 until it answers 200 (true) or `timeout`
  // passes (false, with the log).
  bool WaitPublished(const std::string& video, std::chrono::seconds timeout) {
    if (WaitFor(
            [&] {
              return Http("GET", Url(video, "master.m3u8")).status == 200;
            },
            timeout, std::chrono::milliseconds(250)))
      return true;
    FAIL_CHECK("video never published: " << ReadFile(log));
    return false;
  }

  // base/v/`video`/`rest`.
  std::string Url(const std::string& video, const std::string& rest) const {
    return base + "/v/" + video + "/" + rest;
  }

  // Declared first: removed after the daemon has been killed.
  TempDir dir;
  const int port;
  const std::string base;  // http://127.0.0.1:port
  const std::string conf;  // dir/vodd.conf
  const std::string log;   // dir/vodd.log, the daemon's stderr

 private:
  std::unique_ptr<Daemon> daemon_;
};

// A daemon serving one video published from an FfmpegClip of dir/clip.mp4:
// a file's cases share one, made by the first case that asks.
//
//   PublishedClip& Shared() {
//     static PublishedClip env("[pipeline]\nworkers = 1\n", 10, 25,
//                              "-preset ultrafast", std::chrono::seconds(240));
//     return env;
//   }
struct PublishedClip {
  // Configure(sections), the clip, Start(), Ingest() and WaitPublished()
  // within `timeout`; a failed step is reported and leaves ok() false.
  PublishedClip(const std::string& sections, int seconds, int fps,
                const std::string& x264_args, std::chrono::seconds timeout) {
    vodd.Configure(sections);
    std::string clip = vodd.FfmpegClip("clip.mp4", seconds, fps, x264_args);
    if (clip.empty() || !vodd.Start()) return;
    auto id = vodd.Ingest(clip);
    if (id && vodd.WaitPublished(*id, timeout)) video = *id;
  }
  bool ok() const { return !video.empty(); }
  std::string Url(const std::string& rest) const {
    return vodd.Url(video, rest);
  }

  E2eVodd vodd;
  std::string video;  // empty until published
};

}  // namespace vodd::test
