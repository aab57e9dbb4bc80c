// The worker process (`vodd worker`): runs one job, isolated from the
// daemon, so that a demuxer crash on hostile media only kills this process.
// Protocol in worker_protocol.h. The daemon side is supervisor.h.
#pragma once

#include <atomic>
#include <functional>

#include "vodd/catalog/media_types.h"
#include "vodd/core/result.h"
#include "vodd/pipeline/worker_protocol.h"

namespace vodd::pipeline {

// What the worker runs for a job. `progress` may be called from any thread
// (it only copies); `cancel` becomes true on SIGTERM/SIGINT.
using Engine = std::function<Result<catalog::PublishedVersion>(
    const WorkerJob& job,
    const std::function<void(const ProgressMsg&)>& progress,
    const std::atomic<bool>* cancel)>;

// Reads the WorkerJob line from `in_fd`, runs `engine` on a thread of its own
// and writes progress (at most every 500 ms) and then the result or error to
// `out_fd`. SIGTERM and SIGINT are blocked and turned into `cancel`. Returns
// the process exit code: 0 with a result, 1 with an error, 2 for a bad job.
// Call from main, before any other thread exists.
int RunWorker(int in_fd, int out_fd, const Engine& engine);

// The real engine: Probe → PlanLadder → Transcode into job.out_dir; the
// result's duration_ms is the probed duration.
Result<catalog::PublishedVersion> RunTranscodeJob(
    const WorkerJob& job,
    const std::function<void(const ProgressMsg&)>& progress,
    const std::atomic<bool>* cancel);

}  // namespace vodd::pipeline
