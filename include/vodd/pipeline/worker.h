// The worker process (`vodd worker`): runs one job, isolated from the
// daemon, so that a demuxer crash on hostile media only kills this process.
// Protocol in worker_protocol.h. The daemon side is supervisor.h.
#pragma once

#include <atomic>
#include <functional>
#include <variant>

#include "vodd/catalog/media_types.h"
#include "vodd/core/result.h"
#include "vodd/pipeline/worker_protocol.h"

namespace vodd::pipeline {

// What a job produced: output to publish (or, for chunk/audio jobs, a part
// of it), or the decision to split (a "transcode" job, nothing written).
using JobOutcome = std::variant<catalog::PublishedVersion, SplitPlan>;

// What the worker runs for a job. `progress` may be called from any thread
// (it only copies); `cancel` becomes true on SIGTERM/SIGINT.
using Engine = std::function<Result<JobOutcome>(
    const WorkerJob& job,
    const std::function<void(const ProgressMsg&)>& progress,
    const std::atomic<bool>* cancel)>;

// Reads the WorkerJob line from `in_fd`, runs `engine` on a thread of its own
// and writes progress (at most every 500 ms) and then the result or error to
// `out_fd`. SIGTERM and SIGINT are blocked and turned into `cancel`. Returns
// the process exit code: 0 with a result, 1 with an error, 2 for a bad job.
// Call from main, before any other thread exists.
int RunWorker(int in_fd, int out_fd, const Engine& engine);

// The real engine, by job.kind:
//   transcode  Probe → PlanLadder → (SplitPlan when the source is longer than
//              split_threshold_s) or Transcode into job.out_dir
//   chunk      TranscodeChunk of the payload's chunk (video rungs only)
//   audio      TranscodeAudio of the whole source ("a0")
//   stitch     Stitch(job.inputs) into job.out_dir
// Errors: kInvalidArgument for a bad payload, else those of the step.
Result<JobOutcome> RunTranscodeJob(
    const WorkerJob& job,
    const std::function<void(const ProgressMsg&)>& progress,
    const std::atomic<bool>* cancel);

}  // namespace vodd::pipeline
