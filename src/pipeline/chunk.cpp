// Chunk and audio jobs of a split source (see split.h): the Transcode graph
// with only some branches. A chunk of a 30 fps plan with 2 s segments,
// frames 300…599 (10 s to 20 s), is Transcode's video graph
//
//   filesrc ! decodebin (audio left undecoded) ! queue ! videoconvert
//     ! videoflip ! videorate ! video/x-raw,framerate=30/1 ! tee …
//
// with an accurate flushing seek to 9.967 s … 20.067 s, the frames decoded
// before the seek and the grid slots outside [300, 600) dropped by pad
// probes, and segments numbered from 6 with tfdt starting at 10 s.
//
// The audio job is the Transcode graph without the video branch (video left
// undecoded), cut on the video plan's segment grid like Transcode's audio.
#include <fmt/format.h>

#include "pipeline/transcode_graph.h"
#include "vodd/pipeline/split.h"

namespace vodd::pipeline {

Result<catalog::PublishedVersion> TranscodeChunk(
    const std::string& source, const SplitContext& context,
    const SplitPlan& split, const ChunkSpec& chunk, const std::string& out_dir,
    std::function<void(const Progress&)> on_progress,
    const std::atomic<bool>* cancel, int stall_timeout_s) {
  const LadderPlan& plan = context.plan;
  const int64_t first = FrameAtMs(chunk.start_ms, plan.fps_num, plan.fps_den);
  // The last chunk ends where a single pipeline's videorate stops: the last
  // grid slot before the container's duration.
  const int64_t end = FrameAtMs(chunk.end_ms, plan.fps_num, plan.fps_den);
  if (chunk.index < 0 || size_t(chunk.index) >= split.chunks.size() ||
      plan.segment_frames <= 0 || first % plan.segment_frames != 0 ||
      first / plan.segment_frames + 1 != chunk.first_segment || end <= first) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("chunk {} [{}, {}) ms does not start on a segment",
                    chunk.index, chunk.start_ms, chunk.end_ms));
  }
  GraphOptions options;
  options.audio = false;
  options.thumbnails = false;
  options.range = true;
  options.first_frame = first;
  options.end_frame = end;
  options.first_segment = chunk.first_segment;
  options.expect_ms = chunk.end_ms - chunk.start_ms;
  TRY_ASSIGN(
      catalog::PublishedVersion out,
      RunTranscodeGraph(source, context.probe, plan, out_dir, options,
                        std::move(on_progress), cancel, stall_timeout_s));
  // A chunk followed by another must end exactly on its last frame, or the
  // join would have a gap; the last one may end early like Transcode.
  const bool last = size_t(chunk.index) + 1 == split.chunks.size();
  for (const auto& r : out.renditions) {
    int64_t ticks = 0;
    for (const auto& s : r.segments) ticks += s.duration;
    const int64_t want = (end - first) * r.timescale * plan.fps_den;
    if (ticks * plan.fps_num != want &&
        (!last || ticks * plan.fps_num > want)) {
      return MakeError(
          ErrorCode::kMedia,
          fmt::format("chunk {}: {} encoded {:.3f} s, expected {} frames "
                      "({:.3f} s)",
                      chunk.index, r.name, double(ticks) / double(r.timescale),
                      end - first,
                      double(want) / double(r.timescale) / plan.fps_num));
    }
  }
  return out;
}

Result<catalog::PublishedVersion> TranscodeAudio(
    const std::string& source, const SplitContext& context,
    const std::string& out_dir,
    std::function<void(const Progress&)> on_progress,
    const std::atomic<bool>* cancel, int stall_timeout_s) {
  if (!context.plan.audio) {
    return MakeError(ErrorCode::kInvalidArgument, "the plan has no audio");
  }
  GraphOptions options;
  options.video = false;
  options.thumbnails = false;
  options.expect_ms = context.probe.duration_ms;
  return RunTranscodeGraph(source, context.probe, context.plan, out_dir,
                           options, std::move(on_progress), cancel,
                           stall_timeout_s);
}

}  // namespace vodd::pipeline
