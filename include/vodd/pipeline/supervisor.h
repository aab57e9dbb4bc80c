// The daemon side of the worker pool. N slot threads each claim a job from
// the catalog queue, run it in an isolated `vodd worker` process, persist
// its progress as heartbeats, and publish or fail it; a housekeeping thread
// expires stale leases, refreshes the vodd_jobs gauges and collects retired
// versions past their grace (CollectRetiredVersions). All catalog
// writes go through the Writer; nothing here runs on the HTTP thread.
//
//   slot thread:  claim ─► spawn worker ─► (progress → heartbeat)* ─►
//                 exit 0 + result → FsyncTree → PublishStaged
//                 error / signal / stall → FailJob (retry or dead)
//                 lease lost (cancelled, expired) → kill, abandon
//                 Stop() → SIGTERM worker, ReleaseLease (attempt not counted)
//
// Live scaling: slots are numbered 0…; slot i runs while i < target.
//   SetWorkers(n) grow:   start threads for the missing slots; they claim now
//   SetWorkers(n) shrink: slots i ≥ n finish their current job, then exit
//                         instead of claiming (joined by housekeeping,
//                         SetWorkers or Stop); a job is never interrupted
//   SetPipelineConfig:    jobs claimed from now on use it; running jobs keep
//                         the options they were claimed with
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "vodd/catalog/jobs.h"
#include "vodd/catalog/writer.h"
#include "vodd/config/config.h"
#include "vodd/core/clock.h"
#include "vodd/core/log.h"
#include "vodd/core/metrics.h"
#include "vodd/storage/storage.h"

namespace vodd::pipeline {

struct SupervisorOptions {
  static constexpr int64_t kDefaultHeartbeatMs = 2'000;
  static constexpr int64_t kDefaultPollMs = 1'000;
  static constexpr int64_t kDefaultKillGraceMs = 5'000;
  static constexpr int64_t kDefaultHousekeepingMs = 5'000;

  static constexpr int kMaxWorkers = 256;  // as pipeline.workers allows

  int workers = 1;                       // concurrent jobs at Start
  std::string owner;                     // lease owner: this node's name
  std::vector<std::string> worker_argv;  // {"/proc/self/exe", "worker"}
  config::PipelineConfig pipeline;       // handed to every worker
  int64_t lease_ms = 60'000;
  int64_t stall_timeout_ms = 120'000;  // no progress line for this long → kill
  int64_t heartbeat_ms = kDefaultHeartbeatMs;   // progress persisted this often
  int64_t poll_ms = kDefaultPollMs;             // idle slots look for work
  int64_t kill_grace_ms = kDefaultKillGraceMs;  // SIGTERM → SIGKILL
  int64_t housekeeping_ms = kDefaultHousekeepingMs;
  // Retired versions (replaced by a newer publish) are collected once their
  // grace is over (origin.version_grace_s), by housekeeping at most every
  // version_gc_ms and by the startup sweep. grace < 0: never collected.
  static constexpr int64_t kDefaultVersionGcMs = 60'000;
  int64_t version_grace_ms = -1;
  int64_t version_gc_ms = kDefaultVersionGcMs;
  // Free-space floor of the data folder (storage.min_free_mib): below it no
  // job is claimed. 0: no floor.
  int64_t min_free_bytes = 0;
  catalog::RetryPolicy retry;
  LogLevel worker_log_level = LogLevel::kInfo;
  // Run RecoverStorage and release this owner's leases in Start().
  bool recover_at_start = true;
};

// Options from the config: workers from EffectiveWorkers, lease and stall
// timeouts, the host name as owner, /proc/self/exe worker.
SupervisorOptions OptionsFromConfig(const config::Config& cfg);

// The live pool, for the admin stats (and the gauges vodd_workers_target,
// vodd_workers_busy).
struct WorkerStats {
  int target = 0;   // slots wanted (SetWorkers, after deriving 0)
  int busy = 0;     // slots running a job right now
  int threads = 0;  // slot threads alive: > target while retired slots finish
};

class Supervisor {
 public:
  // `metrics` may be null. `writer`, `layout`, `clock` must outlive it.
  static Result<std::unique_ptr<Supervisor>> Create(
      SupervisorOptions opts, const storage::Layout& layout,
      catalog::Writer& writer, MetricsRegistry* metrics, const Clock& clock);
  ~Supervisor();

  // Sweeps storage and releases this node's stale leases (blocking on the
  // writer), then starts the threads. Call once, from the daemon's startup.
  Status Start();
  // Stops claiming, asks running workers to stop (SIGTERM, then SIGKILL after
  // the grace), gives their leases back and joins the threads. Idempotent.
  void Stop();
  // Work was enqueued: idle slots claim now instead of at their next poll.
  // Any thread.
  void Wake();

  // Live scaling (pipeline.workers changed by an admin, a config reload or
  // the CLI). `n` ≤ 0 means "derive from the CPUs" (config::EffectiveWorkers),
  // larger than kMaxWorkers is capped. Growing starts slot threads that claim
  // at once; shrinking lets every running job finish: a slot above the
  // target exits after its current job instead of claiming another. No job
  // is interrupted, lost or run twice. Before Start: the count Start uses.
  // After Stop: ignored. Any thread; never waits for a job or the catalog
  // (it joins only slot threads that have already exited).
  void SetWorkers(int n);
  // Jobs claimed from now on use `p`: the pipeline handed to the worker, the
  // lease (lease_seconds, heartbeat at a third of it at most) and the stall
  // timeout. Running jobs keep the options they were claimed with.
  // `p.workers` is not applied here: call SetWorkers(p.workers). Any thread;
  // never blocks for long.
  void SetPipelineConfig(const config::PipelineConfig& p);
  // The free-space floor (SupervisorOptions::min_free_bytes), live. Any
  // thread.
  void SetMinFreeBytes(int64_t bytes);
  // Any thread.
  WorkerStats Workers() const;

 private:
  struct Metrics;
  struct Claimed;
  struct Slot;
  Supervisor(SupervisorOptions opts, const storage::Layout& layout,
             catalog::Writer& writer, MetricsRegistry* metrics,
             const Clock& clock);
  void SlotLoop(Slot& self, int slot);
  void RunJob(int slot, const Claimed& claimed);
  void HousekeepingLoop();
  bool WaitForWork(int64_t ms);  // false when stopping
  // Joins slot threads that have exited, then starts threads for the slots
  // below target_ that have none. Caller holds slots_mutex_.
  void ReconcileSlotsLocked();
  std::shared_ptr<const SupervisorOptions> LiveOptions() const;
  void SetBusy(int delta);
  // False while the data folder's free space is under the floor (logged
  // when that starts and ends). Slot threads only.
  bool SpaceToWork();

  // The options given to Create. Per-job options (pipeline, lease, stall,
  // heartbeat) come from live_opts_ at claim time and travel in Claimed.
  const SupervisorOptions opts_;
  const storage::Layout& layout_;
  catalog::Writer& writer_;
  const Clock& clock_;
  std::unique_ptr<Metrics> metrics_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;  // guards wake_seq_ (the condition for cv_)
  std::condition_variable cv_;
  uint64_t wake_seq_ = 0;
  std::thread housekeeping_;

  mutable std::mutex live_opts_mutex_;  // guards live_opts_ (the pointer)
  std::shared_ptr<const SupervisorOptions> live_opts_;

  std::atomic<int64_t> min_free_bytes_;
  std::atomic<bool> short_of_space_{false};
  std::atomic<int> target_;  // slot i claims only while i < target_
  std::atomic<int> busy_{0};
  mutable std::mutex slots_mutex_;            // guards slots_, started_
  std::vector<std::unique_ptr<Slot>> slots_;  // index = slot number
  bool started_ = false;
};

}  // namespace vodd::pipeline
