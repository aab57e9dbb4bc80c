// Split-and-stitch, the media side: cut a long source into segment-aligned
// time chunks, encode each chunk's video rungs alone, the audio once for the
// whole file, then stitch the parts into the layout Transcode writes. The
// job protocol (kinds, payloads, who creates which job) is in
// worker_protocol.h; this header is what the worker runs for each kind.
//
// Frame grid: output frame n of a plan is presented at n × fps_den / fps_num
// seconds, exactly as in a single Transcode (videorate's grid starts at 0).
// A chunk [start_ms, end_ms) encodes frames FrameAtMs(start_ms) …
// FrameAtMs(end_ms) − 1; adjacent chunks share the boundary value, so no
// frame is encoded twice or lost. Chunk boundaries are whole segments, so a
// chunk starts with a fresh IDR exactly where the single pipeline would put
// one, and its tfdt is frame × frame duration in the track timescale.
//
// Thumbnails are made by Stitch, from the stitched video's own keyframes
// (the same frames Transcode would pick): no extra decode of the source.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "vodd/catalog/media_types.h"
#include "vodd/config/config.h"
#include "vodd/core/result.h"
#include "vodd/pipeline/media.h"
#include "vodd/pipeline/worker_protocol.h"

namespace vodd::pipeline {

// What SplitPlan::plan_json holds: everything the group's jobs must share.
struct SplitContext {
  LadderPlan plan;
  ProbeResult probe;
};

// Pure JSON. Errors: kInvalidArgument for malformed JSON.
std::string EncodeSplitContext(const SplitContext& context);
Result<SplitContext> DecodeSplitContext(const std::string& plan_json);

// The first output frame presented at or after `ms` (frames on the grid
// above). Pure.
int64_t FrameAtMs(int64_t ms, int fps_num, int fps_den);
// Presentation time of frame `n` in ms, rounded down. Pure.
int64_t MsOfFrame(int64_t n, int fps_num, int fps_den);

// Pure: the split of a probed, planned source, or nullopt when it should be
// encoded in one pipeline (split off, no video, not longer than the
// threshold, or fewer than two chunks). Chunks are chunk_seconds rounded to
// whole segments (at least one); a remainder shorter than one segment joins
// the last chunk.
std::optional<SplitPlan> MakeSplitPlan(const ProbeResult& probe,
                                       const LadderPlan& plan,
                                       const config::PipelineConfig& cfg);

// Encodes the video rungs of `chunk` into `out_dir` (which must exist and be
// empty): <rung>/init.mp4 and <rung>/<n>.m4s with n from
// chunk.first_segment. No audio, no thumbnails. The last chunk ends at the
// last grid slot before the source's duration, where Transcode ends. Threading,
// progress, cancel, stall timeout and errors as Transcode (media.h); kMedia
// also when the output does not cover the chunk. The result holds the video
// renditions (segments, keyframes, bandwidths of this chunk only) and
// duration_ms of the chunk.
Result<catalog::PublishedVersion> TranscodeChunk(
    const std::string& source, const SplitContext& context,
    const SplitPlan& split, const ChunkSpec& chunk, const std::string& out_dir,
    std::function<void(const Progress&)> on_progress,
    const std::atomic<bool>* cancel, int stall_timeout_s);

// Encodes the whole source's audio ("a0", segments cut on the video plan's
// segment grid, as in Transcode) into `out_dir`. As Transcode otherwise.
Result<catalog::PublishedVersion> TranscodeAudio(
    const std::string& source, const SplitContext& context,
    const std::string& out_dir,
    std::function<void(const Progress&)> on_progress,
    const std::atomic<bool>* cancel, int stall_timeout_s);

// Assembles `inputs` (chunk out_dirs in order, then the audio out_dir when
// split.audio) into `out_dir` by hard links, checks that every rung's
// init.mp4 is byte-identical across chunks, that segment numbers and tfdt
// continue across every join, makes poster.jpg and sprite.jpg, and returns
// the PublishedVersion Transcode would (renditions tallest first then "a0",
// bandwidths over the whole sequence). Reads only the files under `inputs`.
// Errors: kMedia for a mismatch (init, numbering, timing), kIo for links;
// kCancelled.
Result<catalog::PublishedVersion> Stitch(
    const SplitContext& context, const SplitPlan& split,
    const std::vector<std::string>& inputs, const std::string& out_dir,
    std::function<void(const Progress&)> on_progress,
    const std::atomic<bool>* cancel);

}  // namespace vodd::pipeline
