// The worker pool supervisor: what runs where and why.
//
// Each slot thread owns one job at a time from claim to publish, and the
// worker process that runs it. Blocking on the writer (Writer::Call) is fine
// here: these are our own threads, never the HTTP loop. The worker process
// is the isolation boundary: it reads the source and writes its staging
// folder; it never opens the catalog. Its exit status is the verdict of last
// resort: a signal or non-zero exit without an error message fails the
// attempt with the reason ("worker killed by signal 11 (SIGSEGV)").
#include "vodd/pipeline/supervisor.h"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <optional>

#include <fmt/format.h>

#include "child_process.h"
#include "vodd/catalog/videos.h"
#include "vodd/pipeline/publish.h"
#include "vodd/pipeline/worker_protocol.h"
#include "vodd/storage/storage.h"

namespace vodd::pipeline {

struct Supervisor::Metrics {
  explicit Metrics(MetricsRegistry* m) : reg(m ? m : &own) {
    for (const char* s : {"waiting", "queued", "leased", "dead", "cancelled"}) {
      jobs[s] = reg->GetGauge("vodd_jobs",
                              "Jobs by state (done jobs are counted by "
                              "vodd_jobs_completed_total).",
                              {{"state", s}});
    }
    completed = reg->GetCounter("vodd_jobs_completed_total", "Jobs published.");
    duration = reg->GetHistogram(
        "vodd_job_duration_seconds",
        "Wall time of successful jobs, claim to publish.",
        {1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200});
    queue_wait =
        reg->GetHistogram("vodd_job_queue_wait_seconds",
                          "Time from a job becoming visible to its claim.",
                          {0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600});
    realtime = reg->GetHistogram(
        "vodd_transcode_realtime_ratio",
        "Media seconds transcoded per wall second, per successful job.",
        {0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10});
    claim = reg->GetHistogram(
        "vodd_job_claim_seconds",
        "Writer-thread time of one claim attempt (ExpireLeases + ClaimJob), "
        "whether or not it found a job.",
        {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
         0.25, 1});
    workers_target = reg->GetGauge(
        "vodd_workers_target", "Worker slots wanted (pipeline.workers, live).");
    workers_busy =
        reg->GetGauge("vodd_workers_busy", "Worker slots running a job.");
  }
  void Failed(const std::string& reason) {
    reg->GetCounter("vodd_jobs_failed_total", "Failed job attempts by reason.",
                    {{"reason", reason}})
        ->Inc();
  }
  void Crashed(const std::string& signal) {
    reg->GetCounter("vodd_worker_crashes_total",
                    "Worker processes killed by a signal.",
                    {{"signal", signal}})
        ->Inc();
  }
  MetricsRegistry own;
  MetricsRegistry* reg;
  std::map<std::string, Gauge*> jobs;
  Counter* completed;
  Histogram* duration;
  Histogram* queue_wait;
  Histogram* realtime;
  Histogram* claim;
  Gauge* workers_target;
  Gauge* workers_busy;
};

struct Supervisor::Claimed {
  catalog::Job job;
  catalog::Video video;
  // The options live when the job was claimed; the job keeps them to the end
  // even if SetPipelineConfig changes them meanwhile.
  std::shared_ptr<const SupervisorOptions> opts;
};

// One slot thread. `retiring` is set (under slots_mutex_) when the slot has
// decided to exit: from then on it claims nothing and only returns, so it can
// be joined at once, and a grow starts a fresh thread in its place.
struct Supervisor::Slot {
  std::thread thread;
  std::atomic<bool> retiring{false};
};

namespace {

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0')
    return "localhost";
  return buf;
}

// Errors a retry cannot fix: the input is not media we can process.
bool IsPermanent(ErrorCode code) {
  return code == ErrorCode::kMedia || code == ErrorCode::kUnsupported ||
         code == ErrorCode::kInvalidArgument || code == ErrorCode::kNotFound ||
         code == ErrorCode::kTooLarge;
}

// videos.source_path is relative to data_dir; refuse anything that could
// leave it.
bool SafeRelativePath(const std::string& p) {
  return !p.empty() && p[0] != '/' && p.find("..") == std::string::npos;
}

// The per-job options a PipelineConfig decides. The heartbeat keeps to a
// third of the lease so that two missed beats do not lose it.
void ApplyPipeline(SupervisorOptions& o, const config::PipelineConfig& p,
                   int64_t max_heartbeat_ms) {
  o.pipeline = p;
  o.lease_ms = int64_t{p.lease_seconds} * 1000;
  o.stall_timeout_ms = int64_t{p.stall_timeout_s} * 1000;
  o.heartbeat_ms =
      std::max<int64_t>(1, std::min(max_heartbeat_ms, o.lease_ms / 3));
}

int TargetWorkers(int n) {
  config::PipelineConfig p;
  p.workers = std::max(0, n);
  return std::clamp(config::EffectiveWorkers(p), 1,
                    SupervisorOptions::kMaxWorkers);
}

}  // namespace

SupervisorOptions OptionsFromConfig(const config::Config& cfg) {
  SupervisorOptions o;
  o.workers = config::EffectiveWorkers(cfg.pipeline);
  o.owner = HostName();
  o.worker_argv = {"/proc/self/exe", "worker"};
  ApplyPipeline(o, cfg.pipeline, o.heartbeat_ms);
  o.worker_log_level = cfg.server.log_level;
  o.version_grace_ms = cfg.origin.version_grace_s * 1000;
  o.min_free_bytes = cfg.storage.min_free_mib * 1024 * 1024;
  return o;
}

Supervisor::Supervisor(SupervisorOptions opts, const storage::Layout& layout,
                       catalog::Writer& writer, MetricsRegistry* metrics,
                       const Clock& clock)
    : opts_(std::move(opts)),
      layout_(layout),
      writer_(writer),
      clock_(clock),
      metrics_(std::make_unique<Metrics>(metrics)),
      live_opts_(std::make_shared<const SupervisorOptions>(opts_)),
      min_free_bytes_(opts_.min_free_bytes),
      target_(std::min(opts_.workers, SupervisorOptions::kMaxWorkers)) {
  metrics_->workers_target->Set(target_.load());
  metrics_->workers_busy->Set(0);
}

Result<std::unique_ptr<Supervisor>> Supervisor::Create(
    SupervisorOptions opts, const storage::Layout& layout,
    catalog::Writer& writer, MetricsRegistry* metrics, const Clock& clock) {
  if (opts.workers < 1)
    return MakeError(ErrorCode::kInvalidArgument, "workers < 1");
  if (opts.worker_argv.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "no worker command");
  }
  if (opts.owner.empty()) opts.owner = HostName();
  if (opts.lease_ms < 3 * opts.heartbeat_ms) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the lease must cover at least three heartbeats");
  }
  return std::unique_ptr<Supervisor>(
      new Supervisor(std::move(opts), layout, writer, metrics, clock));
}

Supervisor::~Supervisor() { Stop(); }

Status Supervisor::Start() {
  if (opts_.recover_at_start) {
    TRY(RecoverStorage(writer_, layout_, clock_.NowUnixMs(),
                       opts_.version_grace_ms));
    auto released = writer_.Call<int>([this](catalog::Db& db) {
      return catalog::ReleaseNodeLeases(db, opts_.owner, clock_.NowUnixMs(),
                                        opts_.retry);
    });
    if (!released) return tl::unexpected(released.error());
    if (*released > 0) {
      LOG_INFO("pipeline", "released {} lease(s) held by {} before the restart",
               *released, opts_.owner);
    }
  }
  std::lock_guard<std::mutex> lock(slots_mutex_);
  if (started_ || stopping_) {
    return MakeError(ErrorCode::kInvalidArgument, "supervisor already started");
  }
  started_ = true;
  LOG_INFO("pipeline", "{} worker slot(s), node {}", target_.load(),
           opts_.owner);
  housekeeping_ = std::thread([this] { HousekeepingLoop(); });
  ReconcileSlotsLocked();
  return Ok();
}

void Supervisor::Stop() {
  std::vector<std::unique_ptr<Slot>> slots;
  {
    std::lock_guard<std::mutex> lock(slots_mutex_);
    if (stopping_.exchange(true)) return;
    slots.swap(slots_);
  }
  Wake();
  if (housekeeping_.joinable()) housekeeping_.join();
  for (auto& s : slots) {
    if (s && s->thread.joinable()) s->thread.join();
  }
}

void Supervisor::SetWorkers(int n) {
  int target = TargetWorkers(n);
  {
    std::lock_guard<std::mutex> lock(slots_mutex_);
    int before = target_.exchange(target);
    if (before != target && started_ && !stopping_) {
      LOG_INFO("pipeline", "worker slots {} -> {}{}", before, target,
               target < before ? " (running jobs finish first)" : "");
    }
    ReconcileSlotsLocked();
  }
  metrics_->workers_target->Set(target);
  // Idle slots above the target exit now rather than at their next poll.
  Wake();
}

void Supervisor::SetPipelineConfig(const config::PipelineConfig& p) {
  SupervisorOptions next = opts_;
  ApplyPipeline(next, p, opts_.heartbeat_ms);
  auto shared = std::make_shared<const SupervisorOptions>(std::move(next));
  std::lock_guard<std::mutex> lock(live_opts_mutex_);
  live_opts_ = std::move(shared);
}

void Supervisor::SetMinFreeBytes(int64_t bytes) { min_free_bytes_ = bytes; }

bool Supervisor::SpaceToWork() {
  const int64_t floor = min_free_bytes_.load();
  auto free_bytes = storage::FreeBytes(layout_.root());
  const bool short_now = floor > 0 && free_bytes && *free_bytes < floor;
  if (short_now != short_of_space_.exchange(short_now)) {
    if (short_now) {
      LOG_WARN("pipeline",
               "{} MiB free in {}, under storage.min_free_mib ({}): no job "
               "starts until space is freed",
               *free_bytes >> 20, layout_.root(), floor >> 20);
    } else {
      LOG_INFO("pipeline", "free space is back above the floor; jobs resume");
    }
  }
  return !short_now;
}

WorkerStats Supervisor::Workers() const {
  WorkerStats s;
  s.target = target_.load();
  s.busy = busy_.load();
  std::lock_guard<std::mutex> lock(slots_mutex_);
  for (const auto& slot : slots_) {
    if (slot && !slot->retiring) s.threads++;
  }
  return s;
}

std::shared_ptr<const SupervisorOptions> Supervisor::LiveOptions() const {
  std::lock_guard<std::mutex> lock(live_opts_mutex_);
  return live_opts_;
}

void Supervisor::ReconcileSlotsLocked() {
  if (!started_ || stopping_) return;
  // A retiring slot has only its return left: joining it is immediate.
  for (auto& slot : slots_) {
    if (slot && slot->retiring) {
      slot->thread.join();
      slot.reset();
    }
  }
  const size_t target = static_cast<size_t>(target_.load());
  if (slots_.size() < target) slots_.resize(target);
  for (size_t i = 0; i < target; ++i) {
    if (slots_[i]) continue;  // running, or finishing a job to retire later
    auto slot = std::make_unique<Slot>();
    Slot* self = slot.get();
    int index = static_cast<int>(i);
    slot->thread = std::thread([this, self, index] { SlotLoop(*self, index); });
    slots_[i] = std::move(slot);
  }
  while (!slots_.empty() && !slots_.back()) slots_.pop_back();
}

void Supervisor::SetBusy(int delta) {
  int busy = busy_.fetch_add(delta) + delta;
  metrics_->workers_busy->Set(busy);
}

void Supervisor::Wake() {
  std::lock_guard<std::mutex> lock(mutex_);
  wake_seq_++;
  cv_.notify_all();
}

bool Supervisor::WaitForWork(int64_t ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  uint64_t seen = wake_seq_;
  cv_.wait_for(lock, std::chrono::milliseconds(ms),
               [&] { return stopping_ || wake_seq_ != seen; });
  return !stopping_;
}

void Supervisor::HousekeepingLoop() {
  std::unique_ptr<catalog::Db> reader;
  int64_t next_version_gc = clock_.NowMonotonicMs() + opts_.version_gc_ms;
  do {
    if (opts_.version_grace_ms >= 0 &&
        clock_.NowMonotonicMs() >= next_version_gc) {
      next_version_gc = clock_.NowMonotonicMs() + opts_.version_gc_ms;
      auto n = CollectRetiredVersions(writer_, layout_, clock_.NowUnixMs(),
                                      opts_.version_grace_ms);
      if (!n) {
        LOG_WARN("pipeline", "collecting retired versions: {}",
                 n.error().message);
      }
    }
    // Leases of a holder that stopped heartbeating (another node's crash, a
    // wedged slot) become visible again even when every slot here is busy.
    auto expired = writer_.Call<int>([this](catalog::Db& db) {
      return catalog::ExpireLeases(db, clock_.NowUnixMs(), opts_.retry);
    });
    if (!expired) {
      LOG_WARN("pipeline", "expiring leases: {}", expired.error().message);
    } else if (*expired > 0) {
      LOG_WARN("pipeline", "{} expired lease(s) requeued", *expired);
      Wake();
    }
    if (!reader) {
      auto r = catalog::OpenReader(writer_.path());
      if (r) reader = std::move(*r);
    }
    {
      // Joins slots that retired after a shrink.
      std::lock_guard<std::mutex> lock(slots_mutex_);
      ReconcileSlotsLocked();
    }
    if (reader) {
      auto counts = catalog::CountJobs(*reader);
      if (counts) {
        for (auto& [state, n] : *counts) {
          auto it = metrics_->jobs.find(state);
          if (it != metrics_->jobs.end())
            it->second->Set(static_cast<double>(n));
        }
      }
    }
  } while (WaitForWork(opts_.housekeeping_ms));
}

void Supervisor::SlotLoop(Slot& self, int slot) {
  auto above_target = [this, slot] { return slot >= target_.load(); };
  while (!stopping_) {
    if (above_target()) {
      // Decided under the lock SetWorkers takes, so a grow that comes right
      // now either keeps this slot or sees it retiring and starts a new one.
      std::lock_guard<std::mutex> lock(slots_mutex_);
      if (above_target()) {
        self.retiring = true;
        LOG_INFO("pipeline", "slot {}: retired", slot);
        return;
      }
    }
    if (!SpaceToWork()) {
      WaitForWork(opts_.poll_ms);
      continue;
    }
    std::shared_ptr<const SupervisorOptions> opts = LiveOptions();
    auto claimed = writer_.Call<std::optional<Claimed>>(
        [&](catalog::Db& db) -> Result<std::optional<Claimed>> {
          // A shrink may have come while this slot waited for the writer.
          if (above_target()) return std::optional<Claimed>();
          auto started = std::chrono::steady_clock::now();
          int64_t now = clock_.NowUnixMs();
          TRY(catalog::ExpireLeases(db, now, opts->retry));
          TRY_ASSIGN(auto job,
                     catalog::ClaimJob(db, {opts_.owner, now, opts->lease_ms}));
          metrics_->claim->Observe(
              std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                            started)
                  .count());
          if (!job) return std::optional<Claimed>();
          TRY_ASSIGN(auto video, catalog::GetVideo(db, job->video_id));
          if (!video)
            return MakeError(ErrorCode::kInternal, "job without video");
          return std::optional<Claimed>(
              Claimed{std::move(*job), std::move(*video), opts});
        });
    if (!claimed) {
      if (claimed.error().code != ErrorCode::kCancelled) {
        LOG_ERROR("pipeline", "slot {}: claim failed: {}", slot,
                  claimed.error().message);
      }
      WaitForWork(opts_.poll_ms);
      continue;
    }
    if (!*claimed) {
      if (!above_target()) WaitForWork(opts_.poll_ms);
      continue;
    }
    SetBusy(1);
    RunJob(slot, **claimed);
    SetBusy(-1);
  }
}

void Supervisor::RunJob(int slot, const Claimed& claimed) {
  const SupervisorOptions& opts = *claimed.opts;  // as when it was claimed
  const catalog::Job& job = claimed.job;
  const catalog::LeaseRef lease{job.id, job.lease_token};
  const int64_t started_ms = clock_.NowMonotonicMs();
  metrics_->queue_wait->Observe(
      static_cast<double>(std::max<int64_t>(
          0, job.started_at.value_or(job.run_after) - job.run_after)) /
      1000.0);
  LOG_INFO("pipeline", "slot {}: job {} (video {}, attempt {}/{}, lease {})",
           slot, job.id, job.video_id, job.attempts, job.max_attempts,
           job.lease_token);

  std::string staging = layout_.JobStagingDir(job.id, job.lease_token);
  // `code` kNoSpace (a full disk) requeues without using an attempt.
  auto fail = [&](const std::string& reason, bool permanent,
                  const std::string& label,
                  ErrorCode code = ErrorCode::kInternal) {
    storage::RemoveTree(staging);
    metrics_->Failed(label);
    const bool no_space = code == ErrorCode::kNoSpace && !permanent;
    auto out = writer_.Call<catalog::FailOutcome>([&](catalog::Db& db) {
      return catalog::FailJob(db, lease, {reason, permanent, no_space},
                              clock_.NowUnixMs(), opts.retry);
    });
    if (!out) {
      LOG_WARN("pipeline", "job {}: recording the failure: {}", job.id,
               out.error().message);
    } else if (out->dead) {
      LOG_WARN("pipeline", "job {} dead: {}", job.id, reason);
    } else {
      LOG_WARN("pipeline", "job {} failed ({}); retry in {} ms{}", job.id,
               reason, out->run_after - clock_.NowUnixMs(),
               no_space ? ", the attempt not counted" : "");
    }
  };

  // A chunk, audio or stitch job belongs to the group of the transcode job
  // that split (publish.h has the whole flow).
  const bool part = job.kind == "chunk" || job.kind == "audio";
  if (job.kind != "transcode" && !part && job.kind != "stitch") {
    return fail("unknown job kind " + job.kind, true, "unsupported");
  }
  if ((job.kind != "transcode") != job.parent_id.has_value()) {
    return fail(job.kind + " job without its group", true, "unsupported");
  }
  if (!SafeRelativePath(claimed.video.source_path)) {
    return fail("bad source path " + claimed.video.source_path, true, "media");
  }
  if (auto s = storage::RemoveTree(staging); !s)
    return fail(s.error().message, false, "io", s.error().code);
  if (auto s = storage::MakeDirs(staging); !s)
    return fail(s.error().message, false, "io", s.error().code);

  WorkerJob wj;
  wj.job_id = job.id;
  wj.lease_token = job.lease_token;
  wj.source = layout_.root() + "/" + claimed.video.source_path;
  wj.out_dir = staging;
  wj.pipeline = opts.pipeline;
  wj.log_level = opts.worker_log_level;
  wj.kind = job.kind;
  wj.payload = job.payload;
  if (job.kind == "stitch") {
    auto inputs = writer_.Call<std::vector<std::string>>([&](catalog::Db& db) {
      return StitchInputs(db, layout_, *job.parent_id);
    });
    if (!inputs)
      return fail("stitch inputs: " + inputs.error().message, false, "io");
    wj.inputs = std::move(*inputs);
  }

  auto child = ChildProcess::Spawn(opts.worker_argv, {});
  if (!child)
    return fail("cannot start worker: " + child.error().message, false,
                "spawn");
  std::string job_line = EncodeJob(wj) + "\n";
  if (write(child->stdin_fd(), job_line.data(), job_line.size()) !=
      static_cast<ssize_t>(job_line.size())) {
    LOG_WARN("pipeline", "job {}: worker did not take its job", job.id);
  }
  child->CloseStdin();

  std::optional<ResultMsg> result;
  std::optional<SplitPlan> split;  // a transcode job's answer for a long source
  std::optional<Error> worker_error;
  ProgressMsg progress;
  bool lease_lost = false, stalled = false, shutdown = false;
  int64_t last_activity = clock_.NowMonotonicMs();
  int64_t next_heartbeat = last_activity + opts.heartbeat_ms;
  int64_t kill_at = 0;  // after SIGTERM on shutdown
  std::string buffer;
  bool eof = false;

  bool exited = false;
  while (!eof) {
    // A worker that exited while something it started still holds the pipe
    // open: what it wrote is drained (poll without waiting), then we stop.
    exited = exited || child->TryWait().has_value();
    int64_t now = clock_.NowMonotonicMs();
    int64_t wait =
        std::min(next_heartbeat, last_activity + opts.stall_timeout_ms) - now;
    pollfd pfd{child->stdout_fd(), POLLIN, 0};
    int rc =
        poll(&pfd, 1,
             exited ? 0 : static_cast<int>(std::clamp<int64_t>(wait, 0, 200)));
    if (rc == 0 && exited) break;
    if (rc > 0) {
      char buf[65536];
      ssize_t n = read(child->stdout_fd(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        eof = true;
      } else {
        buffer.append(buf, static_cast<size_t>(n));
        size_t nl;
        while ((nl = buffer.find('\n')) != std::string::npos) {
          std::string line = buffer.substr(0, nl);
          buffer.erase(0, nl + 1);
          auto msg = DecodeMsg(line);
          if (!msg) {
            LOG_WARN("pipeline", "job {}: {}", job.id, msg.error().message);
            continue;
          }
          last_activity = clock_.NowMonotonicMs();
          if (auto* p = std::get_if<ProgressMsg>(&*msg)) {
            progress = *p;
          } else if (auto* r = std::get_if<ResultMsg>(&*msg)) {
            result = std::move(*r);
          } else if (auto* sp = std::get_if<SplitMsg>(&*msg)) {
            split = std::move(sp->plan);
          } else {
            worker_error = std::get<ErrorMsg>(*msg).error;
          }
        }
      }
    }
    now = clock_.NowMonotonicMs();
    if (stopping_ && !shutdown) {
      shutdown = true;
      child->Signal(SIGTERM);
      kill_at = now + opts.kill_grace_ms;
    }
    if (shutdown && now >= kill_at) child->Signal(SIGKILL);
    if (!shutdown && !stalled && now - last_activity > opts.stall_timeout_ms) {
      stalled = true;
      child->Signal(SIGKILL);
    }
    if (!shutdown && !lease_lost && now >= next_heartbeat) {
      next_heartbeat = now + opts.heartbeat_ms;
      catalog::HeartbeatInfo info{
          progress.fraction,
          progress.fps > 0 ? std::optional<double>(progress.fps) : std::nullopt,
          progress.speed > 0 ? std::optional<int64_t>(progress.eta_ms)
                             : std::nullopt};
      auto hb = writer_.Call<bool>([&](catalog::Db& db) -> Result<bool> {
        TRY(catalog::Heartbeat(db, lease, clock_.NowUnixMs(), opts.lease_ms,
                               info));
        return true;
      });
      if (!hb && hb.error().code == ErrorCode::kConflict) {
        lease_lost = true;
        child->Signal(SIGKILL);
      } else if (!hb) {
        LOG_WARN("pipeline", "job {}: heartbeat: {}", job.id,
                 hb.error().message);
      }
    }
  }
  int status = child->WaitOrKill(opts.kill_grace_ms);

  if (lease_lost) {
    LOG_WARN("pipeline",
             "job {}: lease lost (cancelled or expired); work abandoned",
             job.id);
    storage::RemoveTree(staging);
    return;
  }
  if (shutdown) {
    storage::RemoveTree(staging);
    auto r = writer_.Call<bool>([&](catalog::Db& db) -> Result<bool> {
      TRY(catalog::ReleaseLease(db, lease, clock_.NowUnixMs()));
      return true;
    });
    LOG_INFO("pipeline", "job {}: stopped for shutdown{}", job.id,
             r ? ", lease released" : ": " + r.error().message);
    return;
  }
  if (stalled) {
    return fail(fmt::format("stalled: no progress for {} s",
                            opts.stall_timeout_ms / 1000),
                false, "stall");
  }
  if (WIFSIGNALED(status)) {
    metrics_->Crashed(SignalName(WTERMSIG(status)));
    return fail(DescribeWaitStatus(status), false, "crash");
  }
  if (worker_error) {
    // The transcode job probed and planned this source already, so a media
    // error in one chunk or in the audio pass is retried like a crash (alone,
    // up to max_attempts) rather than failing the whole group at once:
    // defence in depth (the chunk EOS flow error it once covered is fixed;
    // docs/architecture.md, Known gaps).
    bool permanent = IsPermanent(worker_error->code) && job.kind != "chunk" &&
                     job.kind != "audio";
    return fail(worker_error->message, permanent,
                permanent ? "media" : ErrorCodeName(worker_error->code),
                worker_error->code);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || (!result && !split)) {
    return fail(
        DescribeWaitStatus(status) + (result ? "" : " without a result"), false,
        "exit");
  }

  if (split) {
    // The worker only planned: the group replaces this job in one
    // transaction, and idle slots take its chunks at once.
    storage::RemoveTree(staging);
    if (job.kind != "transcode")
      return fail(job.kind + " job answered with a split", true, "output");
    auto members = GroupFromPlan(*split);
    auto n = writer_.Call<int>([&](catalog::Db& db) {
      return catalog::SplitJob(db, lease, members, clock_.NowUnixMs());
    });
    if (!n && n.error().code == ErrorCode::kConflict) {
      LOG_WARN("pipeline", "job {}: {}; not split", job.id, n.error().message);
      return;
    }
    if (!n) return fail("split: " + n.error().message, false, "split");
    Wake();
    LOG_INFO("pipeline",
             "job {}: video {} split into {} chunk(s){} and a stitch", job.id,
             job.video_id, split->chunks.size(), split->audio ? ", audio" : "");
    return;
  }

  // Success: make the output durable, then rename + commit on the writer.
  if (auto s = VerifyStagedOutput(staging, result->published); !s) {
    return fail(s.error().message, false, "output", s.error().code);
  }
  if (auto s = storage::FsyncTree(staging); !s)
    return fail(s.error().message, false, "io", s.error().code);
  int64_t media_ms = result->published.duration_ms;
  if (part) {
    // Kept in work/ until the stitch publishes; the last part queues it.
    auto unblocked = writer_.Call<bool>([&](catalog::Db& db) {
      return KeepStagedPart(db, layout_, lease, staging, clock_.NowUnixMs());
    });
    if (!unblocked && unblocked.error().code == ErrorCode::kConflict) {
      LOG_WARN("pipeline", "job {}: {}; not kept", job.id,
               unblocked.error().message);
      storage::RemoveTree(staging);
      return;
    }
    if (!unblocked)
      return fail("keep: " + unblocked.error().message, false, "publish",
                  unblocked.error().code);
    if (*unblocked) Wake();
    double part_s = static_cast<double>(std::max<int64_t>(
                        1, clock_.NowMonotonicMs() - started_ms)) /
                    1000.0;
    metrics_->duration->Observe(part_s);
    LOG_INFO("pipeline",
             "job {}: {} of video {} done ({:.1f} s media in "
             "{:.1f} s){}",
             job.id, job.kind, job.video_id,
             static_cast<double>(media_ms) / 1000.0, part_s,
             *unblocked ? "; stitch queued" : "");
    return;
  }
  auto version = writer_.Call<int64_t>([&](catalog::Db& db) {
    return PublishStaged(db, layout_, lease, std::move(result->published),
                         staging, clock_.NowUnixMs());
  });
  if (!version) {
    if (version.error().code == ErrorCode::kConflict) {
      LOG_WARN("pipeline", "job {}: {}; not published", job.id,
               version.error().message);
      storage::RemoveTree(staging);
      return;
    }
    return fail("publish: " + version.error().message, false, "publish",
                version.error().code);
  }
  if (job.kind == "stitch") {
    // Published: the chunks are in the version now. A crash before this
    // leaves work/<parent>/ to RecoverStorage (the stitch is done).
    if (auto s = RemoveGroupWork(layout_, *job.parent_id); !s) {
      LOG_WARN("pipeline", "job {}: removing the group's work: {}", job.id,
               s.error().message);
    }
  }
  double wall_s = static_cast<double>(std::max<int64_t>(
                      1, clock_.NowMonotonicMs() - started_ms)) /
                  1000.0;
  metrics_->completed->Inc();
  metrics_->duration->Observe(wall_s);
  if (media_ms > 0 && job.kind == "transcode")  // stitching is no transcode
    metrics_->realtime->Observe(static_cast<double>(media_ms) / 1000.0 /
                                wall_s);
  LOG_INFO("pipeline",
           "job {}: video {} version {} ready ({:.1f} s media in {:.1f} s)",
           job.id, job.video_id, *version,
           static_cast<double>(media_ms) / 1000.0, wall_s);
}

}  // namespace vodd::pipeline
