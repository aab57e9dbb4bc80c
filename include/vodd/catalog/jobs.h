// The durable job queue in the catalog (table `jobs`): leases with a
// visibility timeout, heartbeats, fencing tokens, retries with exponential
// backoff, a dead-letter state, cancel and retry.
//
//   CreateVideoWithJob ─► queued ──ClaimJob──► leased ──CompleteJob──► done
//                          ▲  ▲                 │ │ │
//        RetryJob ─────────┘  └──FailJob (retry)┘ │ └─FailJob (last attempt
//        (dead|cancelled)        ExpireLeases     │   or permanent) ─► dead
//                                ReleaseNodeLeases│
//                                ReleaseLease     │
//   CancelJob: queued|leased|waiting ─► cancelled ◄┘
//
// ReprocessVideo (videos.h) queues a video's next transcode job the way
// CreateVideoWithJob queues its first.
//
// Split-and-stitch groups (a long source): the transcode job's worker plans
// chunks instead of encoding, and SplitJob turns the transcode job 'done'
// and inserts its group (parent_id = the transcode job) in one transaction:
//
//   transcode ──SplitJob──► done
//      ├─ chunk 0..n-1 ─► queued ─► … ─► done ─┐ CompleteJob of the last
//      ├─ audio        ─► queued ─► … ─► done ─┤ chunk/audio: stitch
//      └─ stitch       ─► waiting ◄────────────┘ waiting → queued
//                            └─► queued ─► leased ─► done (PublishStaged)
//
// A dead chunk/audio job fails the video and leaves the stitch waiting;
// RetryJob requeues that one job alone, and the video stays 'failed' while
// another member is dead, 'processing' once none is. CancelJob of any member
// cancels the whole group; RetryJob of a cancelled member requeues the group's
// cancelled members (stitch back to waiting).
//
// Every lease carries a token (jobs.lease_token, bumped by each claim). All
// calls that act on a lease (Heartbeat, CompleteJob, FailJob, ReleaseLease,
// SplitJob) match id AND token AND state='leased'; a holder whose lease
// expired and was claimed again, or whose job was cancelled, gets kConflict
// and must abandon its work. This is what makes "a late worker's completion
// is rejected" true.
//
// Threading: every function takes the caller's Db. Mutations must run on the
// writer (catalog::Writer::Post/Call), each inside its transaction; readers
// (ListJobs, GetJob, CountJobs, ListGroup) may use a read-only connection.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vodd/catalog/db.h"
#include "vodd/core/result.h"

namespace vodd::catalog {

struct Job {
  int64_t id = 0;
  std::string kind;  // transcode | chunk | audio | stitch
  std::string video_id;
  std::string idem_key;
  std::string payload;  // JSON, "{}" for transcode
  std::string state;    // waiting | queued | leased | done | dead | cancelled
  int64_t priority = 0;
  int64_t attempts = 0, max_attempts = 0;
  int64_t run_after = 0;
  std::optional<std::string> lease_owner;
  int64_t lease_token = 0;
  std::optional<int64_t> lease_until;
  double progress = 0;  // 0..1
  std::optional<double> fps;
  std::optional<int64_t> eta_ms;
  std::optional<std::string> last_error;
  int64_t created_at = 0, updated_at = 0;
  std::optional<int64_t> started_at, finished_at;
  std::optional<int64_t> parent_id;  // chunk|audio|stitch: the split job
  int64_t fair_key = 0;              // claim order after priority
};

// What a holder needs to act on its lease.
struct LeaseRef {
  int64_t job_id = 0;
  int64_t token = 0;
};

// Exponential backoff: attempt n (1-based) failed → wait
// min(base_ms × 2^(n-1), max_ms) before the job is visible again. A full
// disk waits no_space_ms each time: long enough not to transcode into a
// full disk over and over, short enough to resume soon after space is
// freed (`vodd job retry` makes it visible at once).
struct RetryPolicy {
  static constexpr int64_t kDefaultBaseMs = 5'000;
  static constexpr int64_t kDefaultMaxMs = 30 * 60'000;
  static constexpr int64_t kDefaultNoSpaceMs = 60'000;
  int64_t base_ms = kDefaultBaseMs;
  int64_t max_ms = kDefaultMaxMs;
  int64_t no_space_ms = kDefaultNoSpaceMs;
  int64_t DelayMs(int64_t attempts) const;
};

struct ClaimRequest {
  std::string owner;  // this node ("lease_owner"), e.g. the host name
  int64_t now_ms = 0;
  int64_t lease_ms = 0;  // visibility timeout; extended by Heartbeat
};

// The claim statement (one UPDATE … RETURNING), exposed so tests can check
// its query plan. ?1 owner, ?2 now, ?3 lease_ms.
extern const char* const kClaimJobSql;

// Fair ordering (jobs.fair_key): an earliest-deadline key, the time the work
// became visible plus its estimated work in ms of media. A clip queued after
// a long film gets an earlier key than most of the film's work; a long job
// still runs once the clock passes its key, so nothing starves.
// EstimatedWorkMs: the estimate from a source's size before it is probed.
int64_t EstimatedWorkMs(int64_t source_bytes);

// Claims the next visible job: state 'queued', run_after <= now, highest
// priority first, then the smallest fair_key, then id. Sets it 'leased' with a
// new token, counts the attempt and marks the video 'processing'. Returns
// nullopt when nothing is visible. Expired leases are not reclaimed here; call
// ExpireLeases first (the supervisor does both in one transaction).
Result<std::optional<Job>> ClaimJob(Db& db, const ClaimRequest& req);

// Leases whose lease_until < now (the holder stopped heartbeating): each is
// failed as FailJob(retryable) would, with reason "lease expired". Returns
// how many were expired.
Result<int> ExpireLeases(Db& db, int64_t now_ms, const RetryPolicy& policy);

struct HeartbeatInfo {
  double progress = 0;
  std::optional<double> fps;
  std::optional<int64_t> eta_ms;
};
// Extends the lease to now+lease_ms and persists progress. kConflict when the
// lease is no longer held (expired and re-claimed, cancelled, …).
Status Heartbeat(Db& db, const LeaseRef& lease, int64_t now_ms,
                 int64_t lease_ms, const HeartbeatInfo& info);

// Marks the job done. kConflict when the lease is no longer held. Run in the
// same transaction as PublishVersion (or the move of a chunk's output to its
// work folder) so both or neither happen. For a chunk or audio job whose
// siblings are now all done, the group's stitch goes waiting → queued,
// visible at once, in the same transaction.
Status CompleteJob(Db& db, const LeaseRef& lease, int64_t now_ms);

// One member of a split group, built by the supervisor from the worker's
// plan. idem_key is derived from the parent and kind/index, so the same
// member is never inserted twice.
struct ChildJob {
  std::string kind;     // chunk | audio | stitch
  int index = 0;        // chunk number 0..n-1; 0 for audio and stitch
  std::string payload;  // JSON for the worker
  int64_t work_ms = 0;  // fair_key = the parent's run_after + work_ms
};
// The transcode job's worker decided to split: the job becomes 'done' and
// its group is inserted (chunk/audio 'queued' and visible now, stitch
// 'waiting'), with the parent's priority and max_attempts, in one
// transaction. Returns how many members were inserted (0 for a repeat).
// kConflict when the lease is no longer held; kInvalidArgument for a plan
// without chunks or without exactly one stitch.
Result<int> SplitJob(Db& db, const LeaseRef& lease,
                     const std::vector<ChildJob>& children, int64_t now_ms);

struct GroupMember {
  int64_t id = 0;
  std::string kind;  // chunk | audio | stitch
  int index = 0;     // chunk number; 0 for audio and stitch
  std::string state;
};
// The members split from `parent_id`: chunks by index, then audio, then the
// stitch. Empty for a job that did not split.
Result<std::vector<GroupMember>> ListGroup(Db& db, int64_t parent_id);
// The ids of the jobs of `video_id` that split into groups.
Result<std::vector<int64_t>> ListGroupParents(Db& db,
                                              const std::string& video_id);

struct Failure {
  std::string reason;      // human-readable, shown to operators
  bool permanent = false;  // not worth retrying (not a media file, …)
  // The disk was full: the job waits for space, not for a fix, so the
  // attempt is not counted (never dead) and the delay is no_space_ms.
  bool no_space = false;
};
struct FailOutcome {
  bool dead = false;      // dead-lettered (no attempts left or permanent)
  int64_t run_after = 0;  // when requeued
};
// Records a failed attempt: requeued after the policy's backoff while
// attempts < max_attempts and the failure is not permanent; otherwise 'dead'
// and the video 'failed' with the reason (a video with a published version
// stays 'ready'). A `no_space` failure is requeued after the policy's
// no_space_ms with its attempt given back. kConflict when the lease is no
// longer held.
Result<FailOutcome> FailJob(Db& db, const LeaseRef& lease,
                            const Failure& failure, int64_t now_ms,
                            const RetryPolicy& policy);

// Gives a lease back without counting the attempt (graceful shutdown): the
// job is queued and visible at once. kConflict when not held.
Status ReleaseLease(Db& db, const LeaseRef& lease, int64_t now_ms);

// At startup: every lease held by `owner` belongs to a process that no longer
// runs. Each counts as a failed attempt (reason "lease lost: vodd
// restarted") and is requeued visible at once, or dead when out of attempts.
Result<int> ReleaseNodeLeases(Db& db, const std::string& owner, int64_t now_ms,
                              const RetryPolicy& policy);

// Operator actions. CancelJob: queued|leased|waiting → cancelled (a running
// worker notices at its next heartbeat); for a member of a split group every
// queued, leased or waiting member is cancelled; the video becomes 'failed'
// ("cancelled"). RetryJob: dead|cancelled → queued with attempts reset (a
// stitch → waiting, or queued when its siblings are all done); a cancelled
// group member brings back the group's other cancelled members; a queued job
// waiting for its backoff becomes visible now. The video: 'uploaded' for a
// lone job; for a group member 'processing' when no member is left dead or
// cancelled, else it stays 'failed'. kNotFound for an unknown id,
// kConflict for a state that does not allow it.
Status CancelJob(Db& db, int64_t job_id, int64_t now_ms);
Status RetryJob(Db& db, int64_t job_id, int64_t now_ms);

// Admin priority (higher is claimed first, before fair_key order). Applies
// to the job and, for a split group (the transcode parent or any member),
// to every member and the parent whatever their state, so the group moves
// together: children a leased parent splits into later copy it, and a dead
// member keeps it through its retry. Also becomes the video's priority
// (videos.priority), which seeds any job made for the video later.
// kNotFound for an unknown id; kConflict when the job (or its whole group)
// is done.
inline constexpr int64_t kMinPriority = -1000, kMaxPriority = 1000;
Status SetJobPriority(Db& db, int64_t job_id, int64_t priority, int64_t now_ms);

Result<std::optional<Job>> GetJob(Db& db, int64_t job_id);
// The job while `lease` is held on it (state 'leased' with this token);
// kConflict when the lease is no longer held, as the calls that act on it.
Result<Job> GetLeasedJob(Db& db, const LeaseRef& lease);

struct JobFilter {
  std::vector<std::string> states;  // empty: all
  int limit = 100;                  // ≤ 1000
};
// Newest first.
Result<std::vector<Job>> ListJobs(Db& db, const JobFilter& filter);

// Counts of the states whose sets stay small (waiting, queued, leased, dead,
// cancelled), each by an index range; 'done' is not counted (it grows
// without bound; see vodd_jobs_completed_total).
Result<std::map<std::string, int64_t>> CountJobs(Db& db);

}  // namespace vodd::catalog
