// The daemon ↔ worker protocol. The daemon starts `vodd worker`, writes one
// JSON line (WorkerJob) to its stdin and closes it; the worker answers with
// JSON lines on stdout and exits:
//
//   {"type":"progress","fraction":0.42,"fps":48.0,"speed":1.6,"eta_ms":12000}
//   {"type":"result","published":{…PublishedVersion…}}        then exit 0
//   {"type":"error","code":"media","message":"This appears…"}  then exit 1
//   {"type":"split","plan":{…SplitPlan…}}                      then exit 0
//
// Job kinds (WorkerJob::kind) and split-and-stitch. A "transcode" job probes
// first; a source with video longer than pipeline.split_threshold_s (> 0) is
// not encoded: the worker answers with a SplitMsg and writes nothing. The
// supervisor then creates, for that one video, a job group:
//
//   chunk 0 … chunk n-1   (kind "chunk", payload ChunkPayload(plan, i)):
//                         every video rung of frames [start_ms, end_ms),
//                         segments numbered from first_segment, absolute
//                         tfdt; out_dir gets <rung>/init.mp4, <rung>/<n>.m4s
//   audio                 (kind "audio", payload AudioPayload(plan)), only
//                         when plan.audio: the whole file's "a0" rendition
//   stitch                (kind "stitch", payload StitchPayload(plan)), after
//                         all of the above succeeded; inputs = the chunk
//                         out_dirs in chunk order, then the audio out_dir
//                         (when plan.audio). It hard-links everything into its
//                         own out_dir, adds poster.jpg/sprite.jpg (made from
//                         the chunks' keyframes) and returns the
//                         PublishedVersion as a "transcode" job would.
//
// Chunk and audio jobs answer with a ResultMsg holding only their own
// renditions (a partial PublishedVersion, no thumbnails): the supervisor
// keeps their out_dir until the stitch succeeded and publishes only the
// stitch result. Every job of a group re-reads nothing but `source`, its
// payload and (stitch) its inputs; the payload carries the frozen plan, so
// settings changed meanwhile do not affect a group in flight.
//
// The worker never touches the catalog; it only reads `source` and writes
// under `out_dir` (its staging folder). Pure: JSON only, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "vodd/catalog/media_types.h"
#include "vodd/config/config.h"
#include "vodd/core/log.h"
#include "vodd/core/result.h"

namespace vodd::pipeline {

// One time range of a split source: output frames whose presentation time is
// in [start_ms, end_ms); its segments are numbered from first_segment. Every
// join is a segment boundary.
struct ChunkSpec {
  int index = 0;
  int64_t start_ms = 0, end_ms = 0;
  int64_t first_segment = 1;
  bool operator==(const ChunkSpec&) const = default;
};

// What the transcode job decided for a long source. Immutable once made:
// every chunk/audio/stitch job of the group gets exactly this.
struct SplitPlan {
  // The LadderPlan and probe result, serialised (opaque to the supervisor).
  std::string plan_json;
  // Ordered, contiguous, covering [0, duration_ms); at least two.
  std::vector<ChunkSpec> chunks;
  int64_t duration_ms = 0;
  // True when the source has audio: then, and only then, the group has an
  // "audio" job and the stitch job's inputs end with its out_dir.
  bool audio = false;
  bool operator==(const SplitPlan&) const = default;
};

struct WorkerJob {
  int64_t job_id = 0;
  int64_t lease_token = 0;
  std::string source;   // absolute path of the source file
  std::string out_dir;  // absolute path of the (empty) staging folder
  config::PipelineConfig pipeline;
  LogLevel log_level = LogLevel::kInfo;
  std::string kind = "transcode";  // transcode | chunk | audio | stitch
  std::string payload = "{}";      // the job row's payload JSON (see above)
  // Stitch only: absolute out_dirs of chunks 0..n-1, then audio (plan.audio).
  std::vector<std::string> inputs;
};

struct ProgressMsg {
  double fraction = 0;  // 0..1
  double fps = 0;
  double speed = 0;  // media seconds per wall second
  int64_t eta_ms = 0;
};
struct ResultMsg {
  catalog::PublishedVersion published;  // video_id/version left empty
};
struct ErrorMsg {
  Error error;
};
// The transcode job decided to split (it wrote nothing to out_dir).
struct SplitMsg {
  SplitPlan plan;
};
using WorkerMsg = std::variant<ProgressMsg, ResultMsg, ErrorMsg, SplitMsg>;

// One line, without the trailing newline.
std::string EncodeJob(const WorkerJob& job);
Result<WorkerJob> DecodeJob(const std::string& line);
std::string EncodeMsg(const WorkerMsg& msg);
// kInvalidArgument for anything that is not a well-formed message.
Result<WorkerMsg> DecodeMsg(const std::string& line);

// Job payloads, built by the supervisor, parsed by the worker:
//   chunk: {"plan":{…SplitPlan…},"chunk":{index,start_ms,end_ms,first_segment}}
//   audio:  {"plan":{…}}
//   stitch: {"plan":{…},"chunks":N}
// `chunk_index` must be a valid index into plan.chunks.
std::string ChunkPayload(const SplitPlan& plan, int chunk_index);
std::string AudioPayload(const SplitPlan& plan);
std::string StitchPayload(const SplitPlan& plan);

// The parts of a payload (kInvalidArgument when malformed or when the chunk
// does not belong to the plan).
Result<SplitPlan> PayloadPlan(const std::string& payload);
Result<ChunkSpec> PayloadChunk(const std::string& payload);

// ErrorCode from its ErrorCodeName(); kInternal for an unknown name.
ErrorCode ErrorCodeFromName(const std::string& name);

}  // namespace vodd::pipeline
