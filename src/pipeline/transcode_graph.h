// The transcoding graph behind Transcode (media.h) and the split jobs
// (split.h): which branches to build and, for a chunk, which frames of the
// plan's grid to encode. Private to the pipeline module.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "vodd/catalog/media_types.h"
#include "vodd/core/result.h"
#include "vodd/pipeline/media.h"

namespace vodd::pipeline {

struct GraphOptions {
  bool video = true;       // the plan's video rungs
  bool audio = true;       // "a0" (when plan.audio)
  bool thumbnails = true;  // poster.jpg, sprite.jpg (needs video)
  // Chunk mode: only frames [first_frame, end_frame) of the plan's output
  // grid (end_frame < 0: to the end of the source), reached by an accurate
  // seek; segments numbered from first_segment with tfdt = first_frame ×
  // frame duration.
  bool range = false;
  int64_t first_frame = 0, end_frame = -1;
  int64_t first_segment = 1;
  // Media the output must cover (ms), within 0.5% or 1 s.
  int64_t expect_ms = 0;
};

// Transcode with options; contract otherwise as Transcode's.
// Sets bandwidth_avg (over the whole rendition) and bandwidth_peak (the
// largest segment rate) from `r.segments`, in bits/s. Shared by Transcode's
// writer and the stitch so both publish the same numbers.
void FillBandwidth(catalog::Rendition& r);

Result<catalog::PublishedVersion> RunTranscodeGraph(
    const std::string& source, const ProbeResult& probe, const LadderPlan& plan,
    const std::string& out_dir, const GraphOptions& options,
    std::function<void(const Progress&)> on_progress,
    const std::atomic<bool>* cancel, int stall_timeout_s);

}  // namespace vodd::pipeline
