// Real GStreamer on short synthetic sources made with ffmpeg; outputs checked
// with ffprobe/ffmpeg and by re-reading the files against the returned index.
#include <glib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <csignal>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "support/media_fixture.h"
#include "support/test_util.h"
#include "vodd/pipeline/bmff.h"
#include "vodd/pipeline/media.h"

namespace vodd::pipeline {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using vodd::test::RunCommand;
using vodd::test::TempDir;

bmff::Bytes ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return bmff::Bytes((std::istreambuf_iterator<char>(f)),
                     std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const bmff::Bytes& data) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(data.data()),
          std::streamsize(data.size()));
}

std::string Sha256(const bmff::Bytes& data) {
  GChecksum* c = g_checksum_new(G_CHECKSUM_SHA256);
  g_checksum_update(c, data.data(), gssize(data.size()));
  std::string hex = g_checksum_get_string(c);
  g_checksum_free(c);
  return hex;
}

// A synthetic source: testsrc2 video and/or a sine tone, encoded by ffmpeg.
struct SourceSpec {
  int width = 320, height = 180;
  int fps = 30;
  double seconds = 5;
  bool video = true, audio = true;
  std::string pix_fmt = "yuv420p";
  std::string name = "src.mp4";
  std::string extra;  // more output options
};

// dir/name made by `ffmpeg -nostdin -v error -y ARGS dir/name`.
std::string FfmpegSource(const TempDir& dir, const std::string& name,
                         const std::string& args) {
  const std::string path = dir.path() + "/" + name;
  const std::string cmd =
      "ffmpeg -nostdin -v error -y " + args + " " + path + " 2>&1";
  auto r = RunCommand(cmd);
  INFO(cmd << "\n" << r.out);
  REQUIRE(r.status == 0);
  return path;
}

std::string MakeSource(const TempDir& dir, const SourceSpec& s) {
  std::string cmd;
  if (s.video) {
    // testsrc2 rounds odd sizes down, so scale after it.
    cmd += fmt::format(" -f lavfi -i testsrc2=size={}x{}:rate={}:duration={}",
                       s.width + s.width % 2, s.height + s.height % 2, s.fps,
                       s.seconds);
  }
  if (s.audio) {
    cmd += fmt::format(
        " -f lavfi -i sine=frequency=440:sample_rate=44100:duration={}",
        s.seconds);
  }
  if (s.video) {
    cmd += fmt::format(
        " -vf scale={}:{} -c:v libx264 -preset ultrafast -g {} -pix_fmt {}",
        s.width, s.height, s.fps, s.pix_fmt);
  }
  if (s.audio) cmd += " -c:a aac -b:a 96k";
  return FfmpegSource(dir, s.name, cmd + " " + s.extra);
}

config::PipelineConfig SmallLadder() {
  config::PipelineConfig c;
  c.ladder = {{360, 700}, {180, 250}};
  c.segment_seconds = 2;
  return c;
}

struct Transcoded {
  ProbeResult probe;
  LadderPlan plan;
  catalog::PublishedVersion out;
  std::string dir;
  std::vector<Progress> progress;
};

Transcoded TranscodeFile(const TempDir& dir, const std::string& src,
                         const config::PipelineConfig& cfg) {
  Transcoded t;
  auto probe = Probe(src);
  INFO((probe ? std::string() : probe.error().message));
  REQUIRE(probe);
  t.probe = *probe;
  auto plan = PlanLadder(t.probe, cfg);
  REQUIRE(plan);
  t.plan = *plan;
  t.dir = dir.path() + "/out";
  fs::create_directories(t.dir);
  std::atomic<bool> cancel{false};
  auto out = Transcode(
      src, t.probe, t.plan, t.dir,
      [&](const Progress& p) { t.progress.push_back(p); }, &cancel, 60);
  INFO((out ? std::string() : out.error().message));
  REQUIRE(out);
  t.out = *out;
  return t;
}

struct Packet {
  int64_t pts = 0, dts = 0, duration = 0;
  bool key = false;
};

std::vector<Packet> Packets(const std::string& file, const char* stream) {
  auto r = RunCommand(
      fmt::format("ffprobe -v error -select_streams {} -show_entries "
                  "packet=pts,dts,duration,flags -of json {}",
                  stream, file));
  REQUIRE(r.status == 0);
  std::vector<Packet> out;
  const json doc = json::parse(r.out);
  for (const auto& p : doc["packets"]) {
    Packet k;
    auto num = [&](const char* key) -> int64_t {
      if (!p.contains(key)) return 0;
      const auto& v = p[key];
      return v.is_number() ? v.get<int64_t>()
                           : std::stoll(v.get<std::string>());
    };
    k.pts = num("pts");
    k.dts = num("dts");
    k.duration = num("duration");
    k.key = p.value("flags", "").find('K') != std::string::npos;
    out.push_back(k);
  }
  return out;
}

json Stream(const std::string& file) {
  auto r = RunCommand("ffprobe -v error -show_streams -show_format -of json " +
                      file);
  REQUIRE(r.status == 0);
  auto j = json::parse(r.out);
  REQUIRE(j["streams"].size() == 1);
  return j;
}

// Everything checked for every rendition of every case.
void CheckRendition(const Transcoded& t, const catalog::Rendition& r,
                    std::map<std::string, std::vector<double>>& key_times) {
  INFO("rendition " << r.name);
  const std::string rdir = t.dir + "/" + r.name;
  const bool video = r.kind == "video";

  // Files match the index byte for byte.
  const auto init = ReadFile(rdir + "/init.mp4");
  CHECK(int64_t(init.size()) == r.init_size);
  CHECK(Sha256(init) == r.init_hash);
  bmff::Bytes all = init;
  REQUIRE(!r.segments.empty());
  for (size_t i = 0; i < r.segments.size(); ++i) {
    const auto& s = r.segments[i];
    CHECK(s.number == int64_t(i + 1));
    const auto bytes = ReadFile(fmt::format("{}/{}.m4s", rdir, s.number));
    CHECK(int64_t(bytes.size()) == s.size);
    CHECK(Sha256(bytes) == s.hash);
    all.insert(all.end(), bytes.begin(), bytes.end());
  }
  CHECK(!fs::exists(fmt::format("{}/{}.m4s", rdir, r.segments.size() + 1)));

  // Init: CMAF brand, avc1/mp4a sample entry, codec string as parsed back.
  const std::string init_s(init.begin(), init.end());
  REQUIRE(init_s.substr(4, 4) == "ftyp");
  const uint32_t ftyp_size =
      uint32_t(init[0]) << 24 | init[1] << 16 | init[2] << 8 | init[3];
  CHECK(init_s.substr(0, ftyp_size).find("cmfc") != std::string::npos);
  CHECK(init_s.find(video ? "avc1" : "mp4a") != std::string::npos);
  CHECK(init_s.find("avc3") == std::string::npos);
  auto track = bmff::ParseMoov(bmff::ByteView(init).subspan(ftyp_size));
  REQUIRE(track);
  CHECK(track->codecs == r.codecs);
  CHECK(int64_t(track->timescale) == r.timescale);

  // tfdt continuous, segment durations within one frame of the target.
  const double frame_s =
      video ? double(t.plan.fps_den) / t.plan.fps_num
            : (t.plan.video.empty() ? 1024.0 / 48000
                                    : double(t.plan.fps_den) / t.plan.fps_num);
  const double target_s =
      t.plan.video.empty()
          ? double(t.plan.segment_seconds)
          : double(t.plan.segment_frames) * t.plan.fps_den / t.plan.fps_num;
  int64_t expected_start = r.segments.front().start_time;
  CHECK(expected_start == 0);
  double total_s = 0;
  for (size_t i = 0; i < r.segments.size(); ++i) {
    const auto& s = r.segments[i];
    CHECK(s.start_time == expected_start);
    expected_start += s.duration;
    const double d = double(s.duration) / double(r.timescale);
    total_s += d;
    if (i + 1 < r.segments.size()) {
      INFO("segment " << s.number << " lasts " << d << " s, target "
                      << target_s);
      CHECK(std::abs(d - target_s) <= frame_s + 1e-6);
    } else {
      CHECK(d <= target_s + frame_s + 1e-6);
    }
  }
  // Total duration equals the source's: within a frame for video; audio
  // within 50 ms (AAC frames are 21 ms, the encoder pads the last).
  const double source_s = double(t.probe.duration_ms) / 1000.0;
  INFO("total " << total_s << " s, source " << source_s << " s");
  CHECK(std::abs(total_s - source_s) <= (video ? frame_s : 0.05) + 0.03);

  // The concatenation decodes without a single error.
  const std::string joined = rdir + "/joined.mp4";
  WriteFile(joined, all);
  auto decode = RunCommand("ffmpeg -nostdin -v error -xerror -i " + joined +
                           " -f null - 2>&1");
  CHECK(decode.status == 0);
  CHECK(decode.out.empty());

  auto info = Stream(joined);
  const auto& st = info["streams"][0];
  if (video) {
    CHECK(st["codec_name"] == "h264");
    CHECK(st["profile"] == "High");
    CHECK(st["pix_fmt"] == "yuv420p");
    CHECK(st["width"].get<int64_t>() == r.width);
    CHECK(st["height"].get<int64_t>() == r.height);
    CHECK(st["r_frame_rate"] ==
          fmt::format("{}/{}", t.plan.fps_num, t.plan.fps_den));
    CHECK(st.value("color_space", "") == "bt709");
    CHECK(r.codecs.rfind("avc1.64", 0) == 0);
  } else {
    CHECK(st["codec_name"] == "aac");
    CHECK(st["profile"] == "LC");
    CHECK(st["sample_rate"] == "48000");
    CHECK(st["channels"] == 2);
    CHECK(r.codecs == "mp4a.40.2");
    CHECK(r.sample_rate == 48000);
    CHECK(r.channels == 2);
  }

  auto packets = Packets(joined, video ? "v" : "a");
  REQUIRE(!packets.empty());
  if (video) {
    // Every frame of the source, every segment starting with a keyframe.
    const double expected_frames = source_s * t.plan.fps_num / t.plan.fps_den;
    CHECK(std::abs(double(packets.size()) - expected_frames) <= 1.0);
    std::set<int64_t> key_dts;
    for (const auto& p : packets) {
      if (p.key) {
        key_dts.insert(p.dts);
        key_times[r.name].push_back(double(p.dts) / double(r.timescale));
      }
    }
    for (const auto& s : r.segments) {
      INFO("segment " << s.number);
      CHECK(key_dts.count(s.start_time) == 1);
    }
    // Keyframe byte ranges: moof + mdat header + the key sample.
    CHECK(r.keyframes.size() == key_dts.size());
    for (const auto& k : r.keyframes) {
      const auto seg =
          ReadFile(fmt::format("{}/{}.m4s", rdir, k.segment_number));
      REQUIRE(k.offset + k.length <= int64_t(seg.size()));
      auto range =
          bmff::ByteView(seg).subspan(size_t(k.offset), size_t(k.length));
      auto h = bmff::ReadBoxHeader(range);
      REQUIRE(h);
      REQUIRE(*h);
      REQUIRE((*h)->type == bmff::FourCC("moof"));
      auto moof = bmff::ParseMoof(range.subspan(0, (*h)->size), *track);
      REQUIRE(moof);
      CHECK(moof->samples.front().key());
      CHECK(int64_t(moof->data_offset + moof->samples.front().size) ==
            k.length);
      CHECK(int64_t(moof->base_decode_time) == k.time);
    }
    // The encoder honoured the rung's bitrate (short clips overshoot a bit).
    const auto rung =
        std::find_if(t.plan.video.begin(), t.plan.video.end(),
                     [&](const PlannedRung& p) { return p.name == r.name; });
    REQUIRE(rung != t.plan.video.end());
    CHECK(r.width == rung->width);
    CHECK(r.height == rung->height);
    CHECK(r.bandwidth_avg < 2 * rung->bitrate_kbps * 1000);
  } else {
    CHECK(r.keyframes.empty());
  }
  CHECK(r.bandwidth_avg > 0);
  CHECK(r.bandwidth_peak >= r.bandwidth_avg);
  fs::remove(joined);
}

void CheckAll(const Transcoded& t) {
  const auto& out = t.out;
  size_t expected = t.plan.video.size() + AudioOutputs(t.probe).size();
  REQUIRE(out.renditions.size() == expected);
  std::map<std::string, std::vector<double>> key_times;
  for (const auto& r : out.renditions) CheckRendition(t, r, key_times);
  // Keyframes at the same timestamps on every rung.
  for (const auto& [name, times] : key_times) {
    INFO(name);
    CHECK(times == key_times.begin()->second);
  }
  // Segment boundaries aligned across renditions (audio within a frame).
  const auto& first = out.renditions.front();
  for (const auto& r : out.renditions) {
    REQUIRE(r.segments.size() == first.segments.size());
    for (size_t i = 0; i < r.segments.size(); ++i) {
      const double a = double(r.segments[i].start_time) / double(r.timescale);
      const double b =
          double(first.segments[i].start_time) / double(first.timescale);
      CHECK(std::abs(a - b) <= 0.034);
    }
  }
  // Progress reached the end and never went back.
  REQUIRE(!t.progress.empty());
  CHECK(t.progress.back().fraction > 0.95);
  for (size_t i = 1; i < t.progress.size(); ++i) {
    CHECK(t.progress[i].fraction >= t.progress[i - 1].fraction);
  }
  // Thumbnails: a poster at the top rung's size, a sprite of tiles.
  if (t.plan.video.empty()) {
    CHECK(!out.thumbnails);
    CHECK(!fs::exists(t.dir + "/poster.jpg"));
    return;
  }
  REQUIRE(out.thumbnails);
  const auto& th = *out.thumbnails;
  const auto poster = ReadFile(t.dir + "/poster.jpg");
  CHECK(int64_t(poster.size()) == th.poster_size);
  CHECK(Sha256(poster) == th.poster_hash);
  auto pj = Stream(t.dir + "/poster.jpg")["streams"][0];
  CHECK(pj["codec_name"] == "mjpeg");
  CHECK(pj["width"].get<int64_t>() == out.renditions.front().width);
  CHECK(pj["height"].get<int64_t>() == out.renditions.front().height);
  const auto sprite = ReadFile(t.dir + "/sprite.jpg");
  CHECK(int64_t(sprite.size()) == th.sprite_size);
  CHECK(Sha256(sprite) == th.sprite_hash);
  const int64_t expected_count = int64_t(
      std::ceil(double(out.duration_ms) / double(th.interval_ms) - 1e-9));
  CHECK(th.count == expected_count);
  auto sj = Stream(t.dir + "/sprite.jpg")["streams"][0];
  const int64_t rows = (th.count + th.columns - 1) / th.columns;
  CHECK(sj["width"].get<int64_t>() == th.columns * th.tile_width);
  CHECK(sj["height"].get<int64_t>() == rows * th.tile_height);
  CHECK(th.tile_width == t.plan.thumb_width);
}

TEST_CASE("transcode: landscape 1080p30 with audio, three rungs",
          "[transcode]") {
  TempDir dir;
  const auto src = MakeSource(dir, {1920, 1080, 30, 4.0});
  config::PipelineConfig cfg;
  cfg.ladder = {{1080, 5000}, {720, 3000}, {480, 1200}};
  cfg.segment_seconds = 2;
  auto t = TranscodeFile(dir, src, cfg);
  REQUIRE(t.plan.video.size() == 3);
  CHECK(t.out.renditions[0].width == 1920);
  CHECK(t.out.renditions[1].width == 1280);
  CHECK(t.out.renditions[2].width == 854);
  CHECK(t.out.renditions[3].kind == "audio");
  CHECK(t.out.renditions[0].segments.size() == 2);
  CheckAll(t);
}

TEST_CASE("transcode: portrait 1080x1920 gets a portrait ladder",
          "[transcode]") {
  TempDir dir;
  const auto src = MakeSource(dir, {1080, 1920, 30, 3.0});
  config::PipelineConfig cfg;
  cfg.ladder = {{720, 2000}, {360, 600}};
  cfg.segment_seconds = 2;
  auto t = TranscodeFile(dir, src, cfg);
  REQUIRE(t.out.renditions.size() == 3);
  CHECK(t.out.renditions[0].width == 720);
  CHECK(t.out.renditions[0].height == 1280);
  CHECK(t.out.renditions[1].width == 360);
  CHECK(t.out.renditions[1].height == 640);
  CheckAll(t);
}

TEST_CASE("transcode: 25 fps, 4 s segments of 100 frames, sprite every second",
          "[transcode]") {
  TempDir dir;
  const auto src = MakeSource(dir, {640, 360, 25, 9.0});
  auto cfg = SmallLadder();
  cfg.segment_seconds = 4;
  cfg.sprite_interval_s = 1;
  auto t = TranscodeFile(dir, src, cfg);
  CHECK(t.plan.segment_frames == 100);
  CHECK(t.out.renditions[0].segments.size() == 3);
  CHECK(t.out.thumbnails->count == 9);
  CheckAll(t);
}

TEST_CASE("transcode: odd dimensions (4:4:4 source) round to even 4:2:0",
          "[transcode]") {
  TempDir dir;
  SourceSpec s{321, 241, 30, 3.0};
  s.pix_fmt = "yuv444p";
  const auto src = MakeSource(dir, s);
  auto cfg = SmallLadder();
  cfg.ladder = {{360, 700}};  // above the source: one rung at its own size
  auto t = TranscodeFile(dir, src, cfg);
  REQUIRE(t.plan.video.size() == 1);
  CHECK(t.out.renditions[0].width == 320);
  CHECK(t.out.renditions[0].height == 240);
  CheckAll(t);
}

TEST_CASE("transcode: video without audio", "[transcode]") {
  TempDir dir;
  SourceSpec s{640, 360, 30, 3.0};
  s.audio = false;
  const auto src = MakeSource(dir, s);
  auto t = TranscodeFile(dir, src, SmallLadder());
  CHECK(!t.probe.audio);
  CHECK(!t.plan.audio);
  CheckAll(t);
}

TEST_CASE("transcode: audio only, no video rungs, no thumbnails",
          "[transcode]") {
  TempDir dir;
  SourceSpec s;
  s.video = false;
  s.seconds = 5;
  s.name = "tone.m4a";
  const auto src = MakeSource(dir, s);
  auto t = TranscodeFile(dir, src, SmallLadder());
  CHECK(t.plan.video.empty());
  REQUIRE(t.out.renditions.size() == 1);
  CHECK(t.out.renditions[0].name == "a0");
  CHECK(t.out.renditions[0].segments.size() == 3);
  CheckAll(t);
}

TEST_CASE(
    "transcode: phone video with a 90° rotation matrix comes out portrait",
    "[transcode]") {
  TempDir dir;
  SourceSpec s{640, 360, 30, 3.0};
  const auto src = MakeSource(dir, s);
  // ffmpeg 5.1 cannot write a rotation, so set the tkhd matrix the way phones
  // do: (a, b, c, d) = (0, 1, -1, 0).
  auto bytes = ReadFile(src);
  const std::string text(bytes.begin(), bytes.end());
  const size_t tkhd = text.find("tkhd");  // the video track comes first
  REQUIRE(tkhd != std::string::npos);
  REQUIRE(bytes[tkhd + 4] == 0);  // version 0: matrix at +40 from the flags
  bmff::BoxWriter m;
  for (int32_t v : {0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000})
    m.U32(uint32_t(v));
  std::copy(m.bytes().begin(), m.bytes().end(),
            bytes.begin() + ptrdiff_t(tkhd + 4 + 40));
  WriteFile(src, bytes);
  auto t = TranscodeFile(dir, src, SmallLadder());
  CHECK(t.probe.video->rotation == 90);
  CHECK(t.out.renditions[0].width == 360);
  CHECK(t.out.renditions[0].height == 640);
  CheckAll(t);
}

// init.mp4 + every segment of a rendition as one playable file.
std::string JoinRendition(const Transcoded& t, const catalog::Rendition& r) {
  const std::string path = t.dir + "/" + r.name + "/joined.mp4";
  test::JoinRendition(t.dir, r, path);
  return path;
}

// ffmpeg's idet on a file: {frames that look interlaced, progressive ones}.
std::pair<int, int> FieldOrderCounts(const std::string& file) {
  auto r = RunCommand("ffmpeg -nostdin -hide_banner -i " + file +
                      " -an -vf idet -f null - 2>&1");
  REQUIRE(r.status == 0);
  int tff = -1, bff = -1, progressive = -1;
  const auto at = r.out.find("Multi frame detection:");
  REQUIRE(at != std::string::npos);
  REQUIRE(std::sscanf(r.out.c_str() + at,
                      "Multi frame detection: TFF: %d BFF: %d Progressive: %d",
                      &tff, &bff, &progressive) == 3);
  return {tff + bff, progressive};
}

TEST_CASE("transcode: an interlaced source comes out progressive, same rate",
          "[transcode]") {
  TempDir dir;
  // 60 fields/s woven into 30 top-field-first frames/s and coded as
  // interlaced MPEG-2 in MPEG-TS: what a 1080i broadcast or tape master is.
  const std::string src = FfmpegSource(
      dir, "interlaced.ts",
      "-f lavfi -i testsrc2=size=640x360:rate=60:duration=3 -f lavfi "
      "-i sine=frequency=440:sample_rate=48000:duration=3 "
      "-vf interlace=scan=tff -c:v mpeg2video -flags +ilme+ildct -top 1 "
      "-b:v 6M -c:a mp2");
  const auto [src_interlaced, src_progressive] = FieldOrderCounts(src);
  REQUIRE(src_interlaced > 80);  // of 90 frames
  auto t = TranscodeFile(dir, src, SmallLadder());
  CHECK(t.plan.fps_num == 30);
  CHECK(t.plan.fps_den == 1);
  CheckAll(t);  // 90 frames per rung, segment and GOP grid of 30 fps
  for (const auto& r : t.out.renditions) {
    if (r.kind != "video") continue;
    INFO("rendition " << r.name);
    const auto [interlaced, progressive] =
        FieldOrderCounts(JoinRendition(t, r));
    // Without the deinterlacer idet calls all 90 frames of every rung
    // interlaced; with it, at most 4 at 360p (idet's false positives
    // on testsrc2's sharp moving edges).
    INFO("interlaced " << interlaced << ", progressive " << progressive);
    CHECK(interlaced <= 9);
    CHECK(progressive >= 80);
  }
}

// Seconds from the start of a file to its first frame brighter than mid-grey.
double FirstFlash(const std::string& file) {
  auto r = RunCommand("ffmpeg -nostdin -v error -i " + file +
                      " -an -vf signalstats,metadata=print:key=lavfi."
                      "signalstats.YAVG:file=- -f null - 2>&1");
  REQUIRE(r.status == 0);
  double pts = -1;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    const auto at = line.find("pts_time:");
    if (at != std::string::npos) pts = std::stod(line.substr(at + 9));
    const auto y = line.find("YAVG=");
    if (y != std::string::npos && std::stod(line.substr(y + 5)) > 128)
      return pts;
  }
  FAIL("no flash in " << file);
  return -1;
}

// Seconds from the start of a file's decoded audio to its first loud sample.
double FirstBeep(const std::string& file) {
  const std::string raw = file + ".s16";
  auto r = RunCommand("ffmpeg -nostdin -v error -y -i " + file +
                      " -ac 1 -ar 48000 -f s16le " + raw + " 2>&1");
  REQUIRE(r.status == 0);
  const auto pcm = ReadFile(raw);
  for (size_t i = 0; i + 1 < pcm.size(); i += 2) {
    const int16_t v = int16_t(uint16_t(pcm[i]) | uint16_t(pcm[i + 1]) << 8);
    if (std::abs(int(v)) > 4000) return double(i / 2) / 48000.0;
  }
  FAIL("no beep in " << file);
  return -1;
}

TEST_CASE("transcode: audio that starts after the video stays in sync",
          "[transcode]") {
  // A white frame and a 1 kHz beep both at 2.0 s, and the audio stream
  // starting 0.4 s after the video (its first 0.4 s cut): how broadcast
  // captures and edited MP4s (an edit list) arrive. The noise keeps the TS
  // large enough for tsdemux to estimate its duration (a 40 KB one probes
  // without a duration).
  const std::string container = GENERATE(as<std::string>{}, "ts", "mp4");
  INFO("container " << container);
  TempDir dir;
  const std::string src = FfmpegSource(
      dir, "late_audio." + container,
      "-f lavfi "
      "-i color=c=black:s=320x180:r=25:d=4 -f lavfi "
      "-i \"aevalsrc='if(between(t,2,2.1),0.8*sin(2*PI*1000*t),0)':s=48000:"
      "d=4\" -vf \"noise=alls=20:allf=t,"
      "drawbox=c=white:t=fill:enable='between(t,2,2.03)'\" "
      "-af atrim=start=0.4,asetpts=PTS-STARTPTS+0.4/TB "
      "-c:v libx264 -preset ultrafast -g 25 -c:a aac -b:a 96k ");
  auto t = TranscodeFile(dir, src, SmallLadder());
  CheckAll(t);  // both tracks start at 0 and last the source's 4 s
  double flash = -1, beep = -1;
  for (const auto& r : t.out.renditions) {
    if (r.kind == "video" && flash < 0) flash = FirstFlash(JoinRendition(t, r));
    if (r.kind == "audio") beep = FirstBeep(JoinRendition(t, r));
  }
  INFO("flash at " << flash << " s, beep at " << beep << " s");
  CHECK(std::abs(flash - 2.0) <= 0.04);
  // The AAC encoder's priming (1024 samples, 21 ms) comes first in the
  // decoded audio. Without audiorate the beep came 0.35 s early in both
  // containers; with audiorate but without the running-time probe, in MP4.
  CHECK(std::abs(beep - flash) <= 0.06);
}

// Frequency of one channel (0 left, 1 right) of a file's decoded stereo
// audio, from its zero crossings over the first second.
double ToneHz(const std::string& file, int channel) {
  const std::string raw = file + ".st16";
  auto r = RunCommand("ffmpeg -nostdin -v error -y -i " + file +
                      " -ac 2 -ar 48000 -t 1 -f s16le " + raw + " 2>&1");
  REQUIRE(r.status == 0);
  const auto pcm = ReadFile(raw);
  int crossings = 0;
  bool was_negative = false;
  size_t frames = 0;
  for (size_t i = size_t(channel) * 2; i + 1 < pcm.size(); i += 4, ++frames) {
    const int16_t v =
        int16_t(uint16_t(uint8_t(pcm[i])) | uint16_t(uint8_t(pcm[i + 1])) << 8);
    if (frames > 0 && (v < 0) != was_negative) ++crossings;
    was_negative = v < 0;
  }
  return frames ? crossings / 2.0 / (double(frames) / 48000.0) : 0;
}

// The audio rendition (the last) carries 440 Hz left and 1 kHz right.
void CheckLeftRight440And1000(const Transcoded& t) {
  REQUIRE(!t.out.renditions.empty());
  const catalog::Rendition& audio = t.out.renditions.back();
  REQUIRE(audio.kind == "audio");
  const std::string joined = JoinRendition(t, audio);
  CHECK(std::abs(ToneHz(joined, 0) - 440) < 40);
  CHECK(std::abs(ToneHz(joined, 1) - 1000) < 60);
}

TEST_CASE("transcode: multichannel PCM without positions comes out stereo",
          "[transcode]") {
  // A MOV master's 8- or 16-channel PCM: qtdemux does not read the 'chan'
  // atom, so the channels arrive unpositioned (channel-mask 0), which
  // audioconvert cannot downmix ("Internal data stream error" before).
  // 440 Hz on channel 1, 1 kHz on channel 2, the rest silent: left and right
  // must carry them (8 channels as 7.1, 16 by taking the first pair).
  const int channels = GENERATE(8, 16);
  INFO(channels << " channels");
  TempDir dir;
  const std::string src =
      FfmpegSource(dir, "master.mov",
                   fmt::format("-f lavfi -i color=c=black:s=320x180:r=25:d=2 "
                               "-f lavfi -i sine=f=440:sample_rate=48000:d=2 "
                               "-f lavfi -i sine=f=1000:sample_rate=48000:d=2 "
                               "-filter_complex \"[1][2]amerge=inputs=2,"
                               "pan={}c|c0=c0|c1=c1[a]\" -map 0 -map \"[a]\" "
                               "-c:v libx264 -preset ultrafast -c:a pcm_s24le",
                               channels));
  auto t = TranscodeFile(dir, src, SmallLadder());
  CheckAll(t);
  CheckLeftRight440And1000(t);
}

TEST_CASE("transcode: a master's first two mono tracks become left and right",
          "[transcode]") {
  // Broadcast MXF and MOV masters carry one mono track per channel, the
  // stereo mix first (440 Hz left, 1 kHz right here, then a third track).
  // Before, only the first track was used: left on both sides.
  const std::string container = GENERATE(as<std::string>{}, "mxf", "mov");
  INFO("container " << container);
  TempDir dir;
  const std::string src = FfmpegSource(
      dir, "master." + container,
      "-f lavfi -i color=c=black:s=320x180:r=25:d=2 "
      "-f lavfi -i sine=f=440:sample_rate=48000:d=2 "
      "-f lavfi -i sine=f=1000:sample_rate=48000:d=2 "
      "-map 0 -map 1 -map 2 -map 1 -c:v mpeg2video -c:a pcm_s16le");
  auto t = TranscodeFile(dir, src, SmallLadder());
  REQUIRE(t.probe.audio);
  CHECK(t.probe.audio->mono_pair);
  CheckAll(t);
  CheckLeftRight440And1000(t);
}

TEST_CASE("probe: two mono tracks in different languages are not a pair",
          "[probe]") {
  TempDir dir;
  const std::string src = FfmpegSource(
      dir, "dubbed.mov",
      "-f lavfi -i color=c=black:s=320x180:r=25:d=1 "
      "-f lavfi -i sine=f=440:sample_rate=48000:d=1 "
      "-f lavfi -i sine=f=1000:sample_rate=48000:d=1 -map 0 -map 1 -map 2 "
      "-metadata:s:a:0 language=eng -metadata:s:a:1 language=fra "
      "-c:v mpeg2video -c:a pcm_s16le");
  auto probe = Probe(src);
  REQUIRE(probe);
  REQUIRE(probe->audio);
  CHECK(probe->audio->language == "en");
  CHECK_FALSE(probe->audio->mono_pair);
  // Two programmes: the French track is a rendition of its own.
  REQUIRE(probe->more_audio.size() == 1);
  CHECK(probe->more_audio[0].language == "fr");
  CHECK(probe->more_audio[0].index == 1);
}

TEST_CASE("transcode: each language gets an audio rendition of its own",
          "[transcode]") {
  // A bilingual master: English (440 Hz), French (1 kHz), then an English
  // commentary (300 Hz), which shares a language and is left out. Before,
  // only the first track was used.
  const std::string container = GENERATE(as<std::string>{}, "mp4", "mkv");
  INFO("container " << container);
  TempDir dir;
  const std::string src = FfmpegSource(
      dir, "bilingual." + container,
      "-f lavfi -i color=c=black:s=320x180:r=25:d=2 "
      "-f lavfi -i sine=f=440:sample_rate=48000:d=2 "
      "-f lavfi -i sine=f=1000:sample_rate=48000:d=2 "
      "-f lavfi -i sine=f=300:sample_rate=48000:d=2 "
      "-map 0 -map 1 -map 2 -map 3 -metadata:s:a:0 language=eng "
      "-metadata:s:a:1 language=fra -metadata:s:a:2 language=eng "
      "-c:v libx264 -preset ultrafast -g 25 -c:a aac -ac 2 -b:a 96k");
  auto t = TranscodeFile(dir, src, SmallLadder());
  REQUIRE(t.probe.audio);
  REQUIRE(t.probe.more_audio.size() == 1);
  CheckAll(t);
  std::vector<const catalog::Rendition*> audio;
  for (const auto& r : t.out.renditions) {
    if (r.kind == "audio") audio.push_back(&r);
  }
  REQUIRE(audio.size() == 2);
  CHECK(audio[0]->name == "a0");
  CHECK(audio[0]->language == "en");
  CHECK(audio[1]->name == "a1");
  CHECK(audio[1]->language == "fr");
  const std::string en = JoinRendition(t, *audio[0]);
  const std::string fr = JoinRendition(t, *audio[1]);
  CHECK(std::abs(ToneHz(en, 0) - 440) < 40);
  CHECK(std::abs(ToneHz(fr, 0) - 1000) < 60);
  CHECK(std::abs(ToneHz(fr, 1) - 1000) < 60);
}

TEST_CASE("transcode: 120 fps is capped to 60, 60 fps kept", "[transcode]") {
  TempDir dir;
  const auto src = MakeSource(dir, {320, 180, 120, 2.5});
  auto t = TranscodeFile(dir, src, SmallLadder());
  CHECK(t.plan.fps_num == 60);
  CHECK(t.plan.gop_frames == 120);
  CheckAll(t);
}

TEST_CASE(
    "transcode: truncated faststart file fails instead of publishing half",
    "[transcode]") {
  TempDir dir;
  SourceSpec s{320, 180, 30, 8.0};
  s.extra = "-movflags +faststart";
  const auto src = MakeSource(dir, s);
  auto bytes = ReadFile(src);
  bytes.resize(bytes.size() / 2);
  WriteFile(src, bytes);
  auto probe = Probe(src);
  REQUIRE(probe);  // the moov is intact: the probe still sees 8 s
  auto plan = PlanLadder(*probe, SmallLadder()).value();
  fs::create_directories(dir.path() + "/out");
  auto out =
      Transcode(src, *probe, plan, dir.path() + "/out", nullptr, nullptr, 30);
  REQUIRE(!out);
  CHECK(out.error().code == ErrorCode::kMedia);
  CHECK(out.error().message.find("truncated") != std::string::npos);
}

TEST_CASE("probe: a TS too small for tsdemux's duration estimate still plays",
          "[probe]") {
  // 4 s of black and silence: ~39 KB, and GstDiscoverer reports no duration
  // for it (a 385 KB TS of the same length has one). The probe then reads
  // the span of its timestamps instead of failing "no duration".
  TempDir dir;
  const std::string src =
      FfmpegSource(dir, "tiny.ts",
                   "-f lavfi -i "
                   "color=c=black:s=320x180:r=25:d=4 "
                   "-f lavfi -i aevalsrc=0:s=48000:d=4 "
                   "-c:v libx264 -preset ultrafast -g 25 -c:a aac -b:a 96k ");
  auto t = TranscodeFile(dir, src, SmallLadder());
  CHECK(std::abs(t.probe.duration_ms - 4000) <= 100);
  REQUIRE(t.out.renditions.size() == 2);  // 180p and the audio
  for (const auto& r : t.out.renditions) {
    INFO("rendition " << r.name);
    int64_t ticks = 0;
    for (const auto& seg : r.segments) ticks += seg.duration;
    CHECK(std::abs(double(ticks) / double(r.timescale) - 4.0) <= 0.1);
  }
}

TEST_CASE("probe: files that are not media fail with a reason", "[probe]") {
  TempDir dir;
  SECTION("truncated file whose moov was at the end") {
    const auto src = MakeSource(dir, {320, 180, 30, 3.0});
    auto bytes = ReadFile(src);
    bytes.resize(bytes.size() / 2);
    WriteFile(src, bytes);
    auto p = Probe(src);
    REQUIRE(!p);
    CHECK(p.error().code == ErrorCode::kMedia);
    CHECK(p.error().message.find("not playable media") != std::string::npos);
    CHECK(p.error().message.find("ends inside its 'mdat' box") !=
          std::string::npos);
  }
  SECTION("an MP4 of boxes without any moov") {
    const std::string path = dir.path() + "/nomoov.mp4";
    // ftyp (isom) + a 64-byte free box, both complete.
    bmff::Bytes b = {0,   0,   0,   16,  'f', 't', 'y', 'p',
                     'i', 's', 'o', 'm', 0,   0,   2,   0};
    b.insert(b.end(), {0, 0, 0, 64, 'f', 'r', 'e', 'e'});
    b.resize(b.size() + 56);
    WriteFile(path, b);
    auto p = Probe(path);
    REQUIRE(!p);
    CHECK(p.error().code == ErrorCode::kMedia);
    CHECK(p.error().message.find("no 'moov' index before the end") !=
          std::string::npos);
  }
  SECTION("text renamed .mp4") {
    const std::string path = dir.path() + "/notes.mp4";
    std::string text;
    for (int i = 0; i < 200; ++i)
      text += "This is a shopping list, not a video.\n";
    WriteFile(path, bmff::Bytes(text.begin(), text.end()));
    auto p = Probe(path);
    REQUIRE(!p);
    CHECK(p.error().code == ErrorCode::kMedia);
    CHECK(p.error().message.size() > 20);
  }
  SECTION("empty file") {
    const std::string path = dir.path() + "/empty.mp4";
    WriteFile(path, {});
    auto p = Probe(path);
    REQUIRE(!p);
    CHECK(p.error().code == ErrorCode::kMedia);
    // Not "no 'moov' index": the upload was empty, not cut short.
    CHECK(p.error().message ==
          "not playable media: the file is empty (0 bytes)");
  }
  SECTION("a still image is not a video") {
    const std::string path = dir.path() + "/still.mp4";
    auto r = RunCommand(
        "ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=64x64 "
        "-frames:v 1 -f "
        "image2 -c:v mjpeg " +
        path + " 2>&1");
    REQUIRE(r.status == 0);
    auto p = Probe(path);
    REQUIRE(!p);
    CHECK(p.error().code == ErrorCode::kMedia);
  }
}

TEST_CASE("transcode: the cancel flag stops the pipeline", "[transcode]") {
  TempDir dir;
  const auto src = MakeSource(dir, {320, 180, 30, 6.0});
  auto probe = Probe(src).value();
  auto plan = PlanLadder(probe, SmallLadder()).value();
  fs::create_directories(dir.path() + "/out");
  std::atomic<bool> cancel{false};
  auto out = Transcode(
      src, probe, plan, dir.path() + "/out",
      [&](const Progress&) { cancel = true; }, &cancel, 30);
  REQUIRE(!out);
  CHECK(out.error().code == ErrorCode::kCancelled);
}

TEST_CASE(
    "transcode: a source that stops delivering data trips the stall watchdog",
    "[transcode]") {
  TempDir dir;
  SourceSpec s{320, 180, 30, 6.0};
  s.extra = "-movflags +faststart";
  const auto src = MakeSource(dir, s);
  auto probe = Probe(src).value();
  auto plan = PlanLadder(probe, SmallLadder()).value();
  const std::string fifo = dir.path() + "/stalled.mp4";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  // The pipeline may close its end while the writer is still writing (slow
  // under sanitizers): the writer must see EPIPE, not kill the test binary.
  std::signal(SIGPIPE, SIG_IGN);
  // The writer sends the first quarter and then holds the pipe open.
  std::atomic<bool> done{false};
  std::thread writer([&] {
    auto bytes = ReadFile(src);
    FILE* f = std::fopen(fifo.c_str(), "wb");
    if (!f) return;
    std::fwrite(bytes.data(), 1, bytes.size() / 4, f);
    std::fflush(f);
    while (!done) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::fclose(f);
  });
  fs::create_directories(dir.path() + "/out");
  auto out =
      Transcode(fifo, probe, plan, dir.path() + "/out", nullptr, nullptr, 2);
  done = true;
  writer.join();
  REQUIRE(!out);
  CHECK(out.error().code == ErrorCode::kTimeout);
}

}  // namespace
}  // namespace vodd::pipeline
