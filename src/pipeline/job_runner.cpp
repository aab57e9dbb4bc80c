// The transcode job as the worker runs it: probe, plan, transcode into the
// staging folder. Equivalent by hand:
//   vodd worker <<< '{"job_id":1,"lease_token":1,"source":"/in.mp4",
//                     "out_dir":"/data/staging/1-1","pipeline":{…}}'
#include <algorithm>

#include "vodd/core/log.h"
#include "vodd/pipeline/media.h"
#include "vodd/pipeline/worker.h"

namespace vodd::pipeline {

Result<catalog::PublishedVersion> RunTranscodeJob(
    const WorkerJob& job,
    const std::function<void(const ProgressMsg&)>& progress,
    const std::atomic<bool>* cancel) {
  TRY_ASSIGN(ProbeResult probe, Probe(job.source));
  LOG_INFO("worker", "job {}: {} ms, {}{}", job.job_id, probe.duration_ms,
           probe.video ? "video " + probe.video->codec : "no video",
           probe.audio ? ", audio " + probe.audio->codec : ", no audio");
  TRY_ASSIGN(LadderPlan plan, PlanLadder(probe, job.pipeline));
  int64_t duration_ms = probe.duration_ms;
  auto on_progress = [&progress, duration_ms](const Progress& p) {
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
  TRY_ASSIGN(catalog::PublishedVersion out,
             Transcode(job.source, probe, plan, job.out_dir, on_progress,
                       cancel, job.pipeline.stall_timeout_s));
  if (out.duration_ms <= 0) out.duration_ms = probe.duration_ms;
  return out;
}

}  // namespace vodd::pipeline
