// JSON encoding of the worker protocol (see worker_protocol.h). Unknown
// fields are ignored so either side can add some.
#include "vodd/pipeline/worker_protocol.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace vodd::catalog {

using nlohmann::json;

void to_json(json& j, const Segment& s) {
  j = json{{"number", s.number},
           {"start_time", s.start_time},
           {"duration", s.duration},
           {"size", s.size},
           {"hash", s.hash}};
}
void from_json(const json& j, Segment& s) {
  j.at("number").get_to(s.number);
  j.at("start_time").get_to(s.start_time);
  j.at("duration").get_to(s.duration);
  j.at("size").get_to(s.size);
  j.at("hash").get_to(s.hash);
}
void to_json(json& j, const Keyframe& k) {
  j = json{{"segment_number", k.segment_number},
           {"time", k.time},
           {"offset", k.offset},
           {"length", k.length}};
}
void from_json(const json& j, Keyframe& k) {
  j.at("segment_number").get_to(k.segment_number);
  j.at("time").get_to(k.time);
  j.at("offset").get_to(k.offset);
  j.at("length").get_to(k.length);
}
void to_json(json& j, const Rendition& r) {
  j = json{{"name", r.name},
           {"kind", r.kind},
           {"codecs", r.codecs},
           {"width", r.width},
           {"height", r.height},
           {"frame_rate_num", r.frame_rate_num},
           {"frame_rate_den", r.frame_rate_den},
           {"sample_rate", r.sample_rate},
           {"channels", r.channels},
           {"language", r.language},
           {"timescale", r.timescale},
           {"bandwidth_peak", r.bandwidth_peak},
           {"bandwidth_avg", r.bandwidth_avg},
           {"init_size", r.init_size},
           {"init_hash", r.init_hash},
           {"segments", r.segments},
           {"keyframes", r.keyframes}};
}
void from_json(const json& j, Rendition& r) {
  j.at("name").get_to(r.name);
  j.at("kind").get_to(r.kind);
  j.at("codecs").get_to(r.codecs);
  r.width = j.value("width", int64_t{0});
  r.height = j.value("height", int64_t{0});
  r.frame_rate_num = j.value("frame_rate_num", int64_t{0});
  r.frame_rate_den = j.value("frame_rate_den", int64_t{1});
  r.sample_rate = j.value("sample_rate", int64_t{0});
  r.channels = j.value("channels", int64_t{0});
  r.language = j.value("language", std::string());
  j.at("timescale").get_to(r.timescale);
  j.at("bandwidth_peak").get_to(r.bandwidth_peak);
  j.at("bandwidth_avg").get_to(r.bandwidth_avg);
  j.at("init_size").get_to(r.init_size);
  j.at("init_hash").get_to(r.init_hash);
  j.at("segments").get_to(r.segments);
  r.keyframes = j.value("keyframes", std::vector<Keyframe>());
}
void to_json(json& j, const Thumbnails& t) {
  j = json{{"poster_hash", t.poster_hash},
           {"poster_size", t.poster_size},
           {"sprite_hash", t.sprite_hash},
           {"sprite_size", t.sprite_size},
           {"interval_ms", t.interval_ms},
           {"tile_width", t.tile_width},
           {"tile_height", t.tile_height},
           {"columns", t.columns},
           {"count", t.count}};
}
void from_json(const json& j, Thumbnails& t) {
  j.at("poster_hash").get_to(t.poster_hash);
  j.at("poster_size").get_to(t.poster_size);
  j.at("sprite_hash").get_to(t.sprite_hash);
  j.at("sprite_size").get_to(t.sprite_size);
  j.at("interval_ms").get_to(t.interval_ms);
  j.at("tile_width").get_to(t.tile_width);
  j.at("tile_height").get_to(t.tile_height);
  j.at("columns").get_to(t.columns);
  j.at("count").get_to(t.count);
}

}  // namespace vodd::catalog

namespace vodd::pipeline {

using nlohmann::json;

namespace {

json PipelineToJson(const config::PipelineConfig& p) {
  json ladder = json::array();
  for (const auto& r : p.ladder) {
    ladder.push_back({{"height", r.height}, {"bitrate_kbps", r.bitrate_kbps}});
  }
  return json{{"ladder", ladder},
              {"audio_bitrate_kbps", p.audio_bitrate_kbps},
              {"segment_seconds", p.segment_seconds},
              {"encoder", p.encoder},
              {"x264_preset", p.x264_preset},
              {"max_fps", p.max_fps},
              {"stall_timeout_s", p.stall_timeout_s},
              {"sprite_interval_s", p.sprite_interval_s},
              {"thumb_width", p.thumb_width},
              {"split_threshold_s", p.split_threshold_s},
              {"chunk_seconds", p.chunk_seconds}};
}

config::PipelineConfig PipelineFromJson(const json& j) {
  config::PipelineConfig p;
  p.ladder.clear();
  for (const auto& r : j.at("ladder")) {
    p.ladder.push_back(
        {r.at("height").get<int>(), r.at("bitrate_kbps").get<int>()});
  }
  j.at("audio_bitrate_kbps").get_to(p.audio_bitrate_kbps);
  j.at("segment_seconds").get_to(p.segment_seconds);
  j.at("encoder").get_to(p.encoder);
  j.at("x264_preset").get_to(p.x264_preset);
  j.at("max_fps").get_to(p.max_fps);
  j.at("stall_timeout_s").get_to(p.stall_timeout_s);
  j.at("sprite_interval_s").get_to(p.sprite_interval_s);
  j.at("thumb_width").get_to(p.thumb_width);
  p.split_threshold_s = j.value("split_threshold_s", p.split_threshold_s);
  p.chunk_seconds = j.value("chunk_seconds", p.chunk_seconds);
  return p;
}

json PublishedToJson(const catalog::PublishedVersion& p) {
  json j{{"duration_ms", p.duration_ms}, {"renditions", p.renditions}};
  if (p.thumbnails) j["thumbnails"] = *p.thumbnails;
  return j;
}

catalog::PublishedVersion PublishedFromJson(const json& j) {
  catalog::PublishedVersion p;
  j.at("duration_ms").get_to(p.duration_ms);
  j.at("renditions").get_to(p.renditions);
  if (j.contains("thumbnails"))
    p.thumbnails = j.at("thumbnails").get<catalog::Thumbnails>();
  return p;
}

json ChunkToJson(const ChunkSpec& c) {
  return json{{"index", c.index},
              {"start_ms", c.start_ms},
              {"end_ms", c.end_ms},
              {"first_segment", c.first_segment}};
}

ChunkSpec ChunkFromJson(const json& j) {
  ChunkSpec c;
  j.at("index").get_to(c.index);
  j.at("start_ms").get_to(c.start_ms);
  j.at("end_ms").get_to(c.end_ms);
  j.at("first_segment").get_to(c.first_segment);
  return c;
}

json SplitToJson(const SplitPlan& p) {
  json chunks = json::array();
  for (const auto& c : p.chunks) chunks.push_back(ChunkToJson(c));
  return json{{"plan_json", p.plan_json},
              {"chunks", chunks},
              {"duration_ms", p.duration_ms},
              {"audio", p.audio}};
}

SplitPlan SplitFromJson(const json& j) {
  SplitPlan p;
  j.at("plan_json").get_to(p.plan_json);
  for (const auto& c : j.at("chunks")) p.chunks.push_back(ChunkFromJson(c));
  j.at("duration_ms").get_to(p.duration_ms);
  j.at("audio").get_to(p.audio);
  return p;
}

}  // namespace

std::string ChunkPayload(const SplitPlan& plan, int chunk_index) {
  return json{{"plan", SplitToJson(plan)},
              {"chunk", ChunkToJson(plan.chunks.at(size_t(chunk_index)))}}
      .dump();
}

std::string AudioPayload(const SplitPlan& plan) {
  return json{{"plan", SplitToJson(plan)}}.dump();
}

std::string StitchPayload(const SplitPlan& plan) {
  return json{{"plan", SplitToJson(plan)}, {"chunks", plan.chunks.size()}}
      .dump();
}

Result<SplitPlan> PayloadPlan(const std::string& payload) {
  try {
    return SplitFromJson(json::parse(payload).at("plan"));
  } catch (const json::exception& e) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string("bad job payload: ") + e.what());
  }
}

Result<ChunkSpec> PayloadChunk(const std::string& payload) {
  TRY_ASSIGN(SplitPlan plan, PayloadPlan(payload));
  try {
    ChunkSpec c = ChunkFromJson(json::parse(payload).at("chunk"));
    if (c.index < 0 || size_t(c.index) >= plan.chunks.size() ||
        !(plan.chunks[size_t(c.index)] == c)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "job payload: chunk not in its plan");
    }
    return c;
  } catch (const json::exception& e) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string("bad job payload: ") + e.what());
  }
}

ErrorCode ErrorCodeFromName(const std::string& name) {
  for (int i = 0; i <= static_cast<int>(ErrorCode::kInternal); ++i) {
    auto code = static_cast<ErrorCode>(i);
    if (name == ErrorCodeName(code)) return code;
  }
  return ErrorCode::kInternal;
}

std::string EncodeJob(const WorkerJob& job) {
  return json{{"job_id", job.job_id},
              {"lease_token", job.lease_token},
              {"source", job.source},
              {"out_dir", job.out_dir},
              {"pipeline", PipelineToJson(job.pipeline)},
              {"log_level", static_cast<int>(job.log_level)},
              {"kind", job.kind},
              {"payload", job.payload},
              {"inputs", job.inputs}}
      .dump();
}

Result<WorkerJob> DecodeJob(const std::string& line) {
  try {
    json j = json::parse(line);
    WorkerJob job;
    j.at("job_id").get_to(job.job_id);
    j.at("lease_token").get_to(job.lease_token);
    j.at("source").get_to(job.source);
    j.at("out_dir").get_to(job.out_dir);
    job.pipeline = PipelineFromJson(j.at("pipeline"));
    job.log_level = static_cast<LogLevel>(std::clamp(
        j.value("log_level", 1), 0, static_cast<int>(LogLevel::kError)));
    job.kind = j.value("kind", std::string("transcode"));
    job.payload = j.value("payload", std::string("{}"));
    job.inputs = j.value("inputs", std::vector<std::string>());
    if (job.kind != "transcode" && job.kind != "chunk" && job.kind != "audio" &&
        job.kind != "stitch") {
      return MakeError(ErrorCode::kInvalidArgument,
                       "bad worker job: unknown kind " + job.kind);
    }
    return job;
  } catch (const json::exception& e) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string("bad worker job: ") + e.what());
  }
}

std::string EncodeMsg(const WorkerMsg& msg) {
  json j;
  if (const auto* p = std::get_if<ProgressMsg>(&msg)) {
    j = json{{"type", "progress"},
             {"fraction", p->fraction},
             {"fps", p->fps},
             {"speed", p->speed},
             {"eta_ms", p->eta_ms}};
  } else if (const auto* r = std::get_if<ResultMsg>(&msg)) {
    j = json{{"type", "result"}, {"published", PublishedToJson(r->published)}};
  } else if (const auto* sp = std::get_if<SplitMsg>(&msg)) {
    j = json{{"type", "split"}, {"plan", SplitToJson(sp->plan)}};
  } else {
    const auto& e = std::get<ErrorMsg>(msg).error;
    j = json{{"type", "error"},
             {"code", ErrorCodeName(e.code)},
             {"message", e.message}};
  }
  // Replace invalid UTF-8 (file names in GStreamer errors) instead of throwing.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<WorkerMsg> DecodeMsg(const std::string& line) {
  try {
    json j = json::parse(line);
    std::string type = j.at("type").get<std::string>();
    if (type == "progress") {
      ProgressMsg p;
      p.fraction = j.value("fraction", 0.0);
      p.fps = j.value("fps", 0.0);
      p.speed = j.value("speed", 0.0);
      p.eta_ms = j.value("eta_ms", int64_t{0});
      return WorkerMsg(p);
    }
    if (type == "result")
      return WorkerMsg(ResultMsg{PublishedFromJson(j.at("published"))});
    if (type == "split")
      return WorkerMsg(SplitMsg{SplitFromJson(j.at("plan"))});
    if (type == "error") {
      return WorkerMsg(
          ErrorMsg{Error{ErrorCodeFromName(j.at("code").get<std::string>()),
                         j.at("message").get<std::string>()}});
    }
    return MakeError(ErrorCode::kInvalidArgument,
                     "unknown worker message type " + type);
  } catch (const json::exception& e) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string("bad worker message: ") + e.what());
  }
}

}  // namespace vodd::pipeline
