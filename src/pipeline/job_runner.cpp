// The worker's jobs, by kind (see worker.h and worker_protocol.h). Equivalent
// by hand:
//   vodd worker <<< '{"job_id":1,"lease_token":1,"source":"/in.mp4",
//                     "out_dir":"/data/staging/1-1","pipeline":{…},
//                     "kind":"transcode"}'
#include <algorithm>

#include "vodd/core/log.h"
#include "vodd/pipeline/media.h"
#include "vodd/pipeline/split.h"
#include "vodd/pipeline/worker.h"

namespace vodd::pipeline {
namespace {

using ProgressFn = std::function<void(const ProgressMsg&)>;

// Progress of a step covering `duration_ms` of media, as a ProgressMsg.
std::function<void(const Progress&)> Reporter(const ProgressFn& progress,
                                              int64_t duration_ms) {
  return [&progress, duration_ms](const Progress& p) {
    ProgressMsg m;
    m.fraction = std::clamp(p.fraction, 0.0, 1.0);
    m.fps = p.fps;
    m.speed = p.speed;
    if (p.speed > 0) {
      m.eta_ms = static_cast<int64_t>(
          (1.0 - m.fraction) * static_cast<double>(duration_ms) / p.speed);
    }
    progress(m);
  };
}

Result<JobOutcome> RunWhole(const WorkerJob& job, const ProgressFn& progress,
                            const std::atomic<bool>* cancel) {
  TRY_ASSIGN(ProbeResult probe, Probe(job.source));
  LOG_INFO("worker", "job {}: {} ms, {}{}", job.job_id, probe.duration_ms,
           probe.video ? "video " + probe.video->codec : "no video",
           probe.audio ? ", audio " + probe.audio->codec : ", no audio");
  TRY_ASSIGN(LadderPlan plan, PlanLadder(probe, job.pipeline));
  if (auto split = MakeSplitPlan(probe, plan, job.pipeline)) {
    return JobOutcome(std::move(*split));
  }
  TRY_ASSIGN(catalog::PublishedVersion out,
             Transcode(job.source, probe, plan, job.out_dir,
                       Reporter(progress, probe.duration_ms), cancel,
                       job.pipeline.stall_timeout_s));
  if (out.duration_ms <= 0) out.duration_ms = probe.duration_ms;
  return JobOutcome(std::move(out));
}

Result<JobOutcome> RunChunk(const WorkerJob& job, const ProgressFn& progress,
                            const std::atomic<bool>* cancel) {
  TRY_ASSIGN(SplitPlan split, PayloadPlan(job.payload));
  TRY_ASSIGN(ChunkSpec chunk, PayloadChunk(job.payload));
  TRY_ASSIGN(SplitContext context, DecodeSplitContext(split.plan_json));
  LOG_INFO("worker", "job {}: chunk {} of {}, [{}, {}) ms", job.job_id,
           chunk.index, split.chunks.size(), chunk.start_ms, chunk.end_ms);
  TRY_ASSIGN(catalog::PublishedVersion out,
             TranscodeChunk(job.source, context, split, chunk, job.out_dir,
                            Reporter(progress, chunk.end_ms - chunk.start_ms),
                            cancel, job.pipeline.stall_timeout_s));
  return JobOutcome(std::move(out));
}

Result<JobOutcome> RunAudio(const WorkerJob& job, const ProgressFn& progress,
                            const std::atomic<bool>* cancel) {
  TRY_ASSIGN(SplitPlan split, PayloadPlan(job.payload));
  TRY_ASSIGN(SplitContext context, DecodeSplitContext(split.plan_json));
  TRY_ASSIGN(catalog::PublishedVersion out,
             TranscodeAudio(job.source, context, job.out_dir,
                            Reporter(progress, split.duration_ms), cancel,
                            job.pipeline.stall_timeout_s));
  return JobOutcome(std::move(out));
}

Result<JobOutcome> RunStitch(const WorkerJob& job, const ProgressFn& progress,
                             const std::atomic<bool>* cancel) {
  TRY_ASSIGN(SplitPlan split, PayloadPlan(job.payload));
  TRY_ASSIGN(SplitContext context, DecodeSplitContext(split.plan_json));
  TRY_ASSIGN(catalog::PublishedVersion out,
             Stitch(context, split, job.inputs, job.out_dir,
                    Reporter(progress, split.duration_ms), cancel));
  return JobOutcome(std::move(out));
}

}  // namespace

Result<JobOutcome> RunTranscodeJob(const WorkerJob& job,
                                   const ProgressFn& progress,
                                   const std::atomic<bool>* cancel) {
  if (job.kind == "chunk") return RunChunk(job, progress, cancel);
  if (job.kind == "audio") return RunAudio(job, progress, cancel);
  if (job.kind == "stitch") return RunStitch(job, progress, cancel);
  return RunWhole(job, progress, cancel);
}

}  // namespace vodd::pipeline
