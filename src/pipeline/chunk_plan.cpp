// Split planning and the shared plan's JSON (see split.h). Pure.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "vodd/pipeline/split.h"

namespace vodd::pipeline {
namespace {

using nlohmann::json;

json PlanToJson(const LadderPlan& p) {
  json rungs = json::array();
  for (const auto& r : p.video) {
    rungs.push_back({{"name", r.name},
                     {"width", r.width},
                     {"height", r.height},
                     {"bitrate_kbps", r.bitrate_kbps}});
  }
  return json{{"video", rungs},
              {"audio", p.audio},
              {"audio_bitrate_kbps", p.audio_bitrate_kbps},
              {"fps_num", p.fps_num},
              {"fps_den", p.fps_den},
              {"segment_seconds", p.segment_seconds},
              {"segment_frames", p.segment_frames},
              {"gop_frames", p.gop_frames},
              {"x264_preset", p.x264_preset},
              {"sprite_interval_s", p.sprite_interval_s},
              {"thumb_width", p.thumb_width}};
}

LadderPlan PlanFromJson(const json& j) {
  LadderPlan p;
  for (const auto& r : j.at("video")) {
    p.video.push_back(PlannedRung{
        r.at("name").get<std::string>(), r.at("width").get<int>(),
        r.at("height").get<int>(), r.at("bitrate_kbps").get<int>()});
  }
  j.at("audio").get_to(p.audio);
  j.at("audio_bitrate_kbps").get_to(p.audio_bitrate_kbps);
  j.at("fps_num").get_to(p.fps_num);
  j.at("fps_den").get_to(p.fps_den);
  j.at("segment_seconds").get_to(p.segment_seconds);
  j.at("segment_frames").get_to(p.segment_frames);
  j.at("gop_frames").get_to(p.gop_frames);
  j.at("x264_preset").get_to(p.x264_preset);
  j.at("sprite_interval_s").get_to(p.sprite_interval_s);
  j.at("thumb_width").get_to(p.thumb_width);
  return p;
}

json ProbeToJson(const ProbeResult& p) {
  json j{{"duration_ms", p.duration_ms}, {"container", p.container}};
  if (p.video) {
    const auto& v = *p.video;
    j["video"] = {{"width", v.width},       {"height", v.height},
                  {"fps_num", v.fps_num},   {"fps_den", v.fps_den},
                  {"par_num", v.par_num},   {"par_den", v.par_den},
                  {"rotation", v.rotation}, {"codec", v.codec}};
  }
  auto audio_json = [](const AudioStreamInfo& a) {
    return json{{"sample_rate", a.sample_rate},
                {"channels", a.channels},
                {"codec", a.codec},
                {"language", a.language},
                {"mono_pair", a.mono_pair},
                {"index", a.index}};
  };
  if (p.audio) j["audio"] = audio_json(*p.audio);
  if (!p.more_audio.empty()) {
    j["more_audio"] = json::array();
    for (const auto& a : p.more_audio) j["more_audio"].push_back(audio_json(a));
  }
  return j;
}

ProbeResult ProbeFromJson(const json& j) {
  ProbeResult p;
  j.at("duration_ms").get_to(p.duration_ms);
  j.at("container").get_to(p.container);
  if (j.contains("video")) {
    const auto& v = j.at("video");
    VideoStreamInfo i;
    v.at("width").get_to(i.width);
    v.at("height").get_to(i.height);
    v.at("fps_num").get_to(i.fps_num);
    v.at("fps_den").get_to(i.fps_den);
    v.at("par_num").get_to(i.par_num);
    v.at("par_den").get_to(i.par_den);
    v.at("rotation").get_to(i.rotation);
    v.at("codec").get_to(i.codec);
    p.video = i;
  }
  auto audio_from = [](const json& a) {
    AudioStreamInfo i;
    a.at("sample_rate").get_to(i.sample_rate);
    a.at("channels").get_to(i.channels);
    a.at("codec").get_to(i.codec);
    a.at("language").get_to(i.language);
    // Absent in older payloads (one audio rendition, no pairs).
    i.mono_pair = a.value("mono_pair", false);
    i.index = a.value("index", 0);
    return i;
  };
  if (j.contains("audio")) p.audio = audio_from(j.at("audio"));
  if (j.contains("more_audio")) {
    for (const auto& a : j.at("more_audio"))
      p.more_audio.push_back(audio_from(a));
  }
  return p;
}

}  // namespace

std::string EncodeSplitContext(const SplitContext& c) {
  return json{{"ladder", PlanToJson(c.plan)}, {"probe", ProbeToJson(c.probe)}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<SplitContext> DecodeSplitContext(const std::string& plan_json) {
  try {
    json j = json::parse(plan_json);
    SplitContext c;
    c.plan = PlanFromJson(j.at("ladder"));
    c.probe = ProbeFromJson(j.at("probe"));
    if (c.plan.video.empty() || c.plan.fps_num <= 0 || c.plan.fps_den <= 0 ||
        c.plan.segment_frames <= 0) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "split plan without video frame grid");
    }
    return c;
  } catch (const json::exception& e) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string("bad split plan: ") + e.what());
  }
}

int64_t FrameAtMs(int64_t ms, int fps_num, int fps_den) {
  // ceil(ms × num / (1000 × den)); frame n is at n × den / num seconds.
  const int64_t d = 1000 * int64_t(fps_den);
  return (ms * fps_num + d - 1) / d;
}

int64_t MsOfFrame(int64_t n, int fps_num, int fps_den) {
  return n * 1000 * fps_den / fps_num;
}

std::optional<SplitPlan> MakeSplitPlan(const ProbeResult& probe,
                                       const LadderPlan& plan,
                                       const config::PipelineConfig& cfg) {
  if (cfg.split_threshold_s <= 0 || !probe.video || plan.video.empty() ||
      plan.fps_num <= 0 || plan.fps_den <= 0 || plan.segment_frames <= 0) {
    return std::nullopt;
  }
  if (probe.duration_ms <= int64_t(cfg.split_threshold_s) * 1000) {
    return std::nullopt;
  }
  const int64_t seg = plan.segment_frames;
  // Segments per chunk: chunk_seconds / segment duration, rounded, ≥ 1.
  const int64_t seg_ms_x = seg * 1000 * plan.fps_den;  // × fps_num
  const int64_t chunk_ms_x = int64_t(cfg.chunk_seconds) * 1000 * plan.fps_num;
  const int64_t per_chunk =
      std::max<int64_t>(1, (chunk_ms_x * 2 + seg_ms_x) / (seg_ms_x * 2));
  const int64_t chunk_frames = per_chunk * seg;

  SplitPlan out;
  out.duration_ms = probe.duration_ms;
  out.audio = plan.audio;
  for (int64_t first = 0;; first += chunk_frames) {
    const int64_t start_ms = MsOfFrame(first, plan.fps_num, plan.fps_den);
    if (start_ms >= probe.duration_ms) break;
    // A remainder shorter than one segment joins the previous chunk.
    if (!out.chunks.empty() && probe.duration_ms - start_ms <
                                   MsOfFrame(seg, plan.fps_num, plan.fps_den)) {
      break;
    }
    ChunkSpec c;
    c.index = int(out.chunks.size());
    c.start_ms = start_ms;
    c.first_segment = first / seg + 1;
    if (!out.chunks.empty()) out.chunks.back().end_ms = start_ms;
    out.chunks.push_back(c);
  }
  if (out.chunks.size() < 2) return std::nullopt;
  out.chunks.back().end_ms = probe.duration_ms;
  out.plan_json = EncodeSplitContext(SplitContext{plan, probe});
  return out;
}

}  // namespace vodd::pipeline
