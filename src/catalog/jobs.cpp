// The durable job queue on SQLite (goqite/liteq style: lease + visibility
// timeout instead of row locks; one writer serialises claims).
//
//                 ┌──────────── RetryJob (dead|cancelled) ───────────────┐
//                 ▼                                                      │
//   (insert) ─► queued ──ClaimJob──► leased ──CompleteJob──► done        │
//                 ▲  ▲                │  │                               │
//                 │  └─ FailJob ──────┤  ├─ FailJob (no attempts left  ──► dead
//                 │     ExpireLeases  │  │   or permanent failure)
//                 │     ReleaseNodeLeases
//                 └──── ReleaseLease ─┘  │
//   CancelJob: queued|leased|waiting ────┴───────────────────────────►
//   cancelled
//
// Split groups (jobs.h has the diagram): SplitJob = transcode leased → done +
// insert chunk/audio 'queued' and stitch 'waiting'; CompleteJob of the last
// chunk/audio → stitch waiting → queued (UnblockStitch); CancelJob of a
// member cancels the group; RetryJob of a dead member requeues it alone.
//
// The claim is one UPDATE … RETURNING on the jobs_ready index
// (state, priority DESC, fair_key, id): its cost does not depend on how many
// jobs wait, and 'waiting' rows are outside its range. Queue wait and
// durations are derived from run_after/started_at.
#include "vodd/catalog/jobs.h"

#include "rows.h"
#include "vodd/catalog/webhooks.h"

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

namespace vodd::catalog {

Job ReadJob(const Stmt& s) {
  Job j;
  j.id = s.Int(0);
  j.kind = s.Text(1);
  j.video_id = s.Text(2);
  j.idem_key = s.Text(3);
  j.payload = s.Text(4);
  j.state = s.Text(5);
  j.priority = s.Int(6);
  j.attempts = s.Int(7);
  j.max_attempts = s.Int(8);
  j.run_after = s.Int(9);
  j.lease_owner = s.OptText(10);
  j.lease_token = s.Int(11);
  j.lease_until = s.OptInt(12);
  j.progress = s.Real(13);
  if (!s.IsNull(14)) j.fps = s.Real(14);
  j.eta_ms = s.OptInt(15);
  j.last_error = s.OptText(16);
  j.created_at = s.Int(17);
  j.updated_at = s.Int(18);
  j.started_at = s.OptInt(19);
  j.finished_at = s.OptInt(20);
  j.parent_id = s.OptInt(21);
  j.fair_key = s.Int(22);
  return j;
}

namespace {

// The video's state after its job ended without success: a video that already
// has a published version stays playable.
Status MarkVideoFailed(Db& db, const std::string& video_id,
                       const std::string& reason, int64_t now_ms) {
  TRY_ASSIGN(
      Stmt s,
      db.Prepare("UPDATE videos SET state=CASE WHEN version>0 THEN 'ready' "
                 "ELSE 'failed' END, "
                 "error=?2, updated_at=?3 WHERE id=?1 AND state!='deleting'"));
  s.Bind(1, video_id).Bind(2, reason).Bind(3, now_ms);
  TRY(s.Run());
  if (db.Changes() != 1) return Ok();
  TRY(EnqueueWebhookEvent(db, "video.failed",
                          {{"video_id", video_id}, {"reason", reason}},
                          now_ms));
  return Ok();
}

struct Held {
  std::string video_id;
  int64_t attempts = 0, max_attempts = 0;
};

Result<std::optional<Held>> LoadHeld(Db& db, const LeaseRef& lease) {
  TRY_ASSIGN(Stmt s,
             db.Prepare("SELECT video_id,attempts,max_attempts FROM jobs "
                        "WHERE id=?1 AND lease_token=?2 AND state='leased'"));
  s.Bind(1, lease.job_id).Bind(2, lease.token);
  TRY_ASSIGN(bool row, s.Step());
  if (!row) return std::optional<Held>();
  return std::optional<Held>(Held{s.Text(0), s.Int(1), s.Int(2)});
}

tl::unexpected<Error> LeaseLost(const LeaseRef& lease) {
  return MakeError(ErrorCode::kConflict,
                   fmt::format("job {}: lease {} is no longer held",
                               lease.job_id, lease.token));
}

// FailJob with an explicit delay (ExpireLeases and ReleaseNodeLeases requeue
// without waiting when `delay_ms` is 0).
Result<FailOutcome> FailHeld(Db& db, const LeaseRef& lease, const Held& held,
                             const Failure& failure, int64_t now_ms,
                             int64_t delay_ms) {
  FailOutcome out;
  out.dead = failure.permanent ||
             (!failure.no_space && held.attempts >= held.max_attempts);
  if (out.dead) {
    TRY_ASSIGN(Stmt s,
               db.Prepare("UPDATE jobs SET state='dead', last_error=?3, "
                          "lease_owner=NULL, lease_until=NULL, "
                          "finished_at=?4, updated_at=?4 WHERE id=?1 AND "
                          "lease_token=?2 AND state='leased'"));
    s.Bind(1, lease.job_id)
        .Bind(2, lease.token)
        .Bind(3, failure.reason)
        .Bind(4, now_ms);
    TRY(s.Run());
    if (db.Changes() != 1) return LeaseLost(lease);
    TRY(MarkVideoFailed(db, held.video_id, failure.reason, now_ms));
    return out;
  }
  out.run_after = now_ms + delay_ms;
  TRY_ASSIGN(Stmt s,
             db.Prepare("UPDATE jobs SET state='queued', last_error=?3, "
                        "attempts=attempts-?6, lease_owner=NULL, "
                        "lease_until=NULL, run_after=?4, fps=NULL, "
                        "eta_ms=NULL, updated_at=?5 "
                        "WHERE id=?1 AND lease_token=?2 AND state='leased'"));
  s.Bind(1, lease.job_id).Bind(2, lease.token).Bind(3, failure.reason);
  s.Bind(4, out.run_after).Bind(5, now_ms);
  s.Bind(6, int64_t{failure.no_space && held.attempts > 0 ? 1 : 0});
  TRY(s.Run());
  if (db.Changes() != 1) return LeaseLost(lease);
  return out;
}

// Fails every lease selected by `where` (bound by `bind`), returning the count.
template <typename BindFn>
Result<int> FailSelected(Db& db, const std::string& where, BindFn bind,
                         const std::string& reason, int64_t now_ms,
                         const RetryPolicy& policy, bool backoff) {
  TRY_ASSIGN(Stmt s,
             db.Prepare("SELECT id,lease_token,video_id,attempts,max_attempts "
                        "FROM jobs WHERE state='leased' AND " +
                        where));
  bind(s);
  std::vector<std::pair<LeaseRef, Held>> leases;
  while (true) {
    TRY_ASSIGN(bool row, s.Step());
    if (!row) break;
    leases.push_back(
        {LeaseRef{s.Int(0), s.Int(1)}, Held{s.Text(2), s.Int(3), s.Int(4)}});
  }
  for (const auto& [lease, held] : leases) {
    std::string why =
        held.attempts >= held.max_attempts
            ? fmt::format("{} (after {} attempts)", reason, held.attempts)
            : reason;
    TRY(FailHeld(db, lease, held, Failure{why, false}, now_ms,
                 backoff ? policy.DelayMs(held.attempts) : 0));
  }
  return static_cast<int>(leases.size());
}

// The stitch of group `parent_id` becomes visible when every chunk and audio
// sibling is done. Returns whether it did.
Result<bool> UnblockStitch(Db& db, int64_t parent_id, int64_t now_ms) {
  TRY_ASSIGN(
      Stmt s,
      db.Prepare("UPDATE jobs SET state='queued', run_after=?2, updated_at=?2 "
                 "WHERE parent_id=?1 AND kind='stitch' AND state='waiting' "
                 "AND NOT EXISTS (SELECT 1 FROM jobs WHERE parent_id=?1 AND "
                 "kind IN ('chunk','audio') AND state!='done')"));
  s.Bind(1, parent_id).Bind(2, now_ms);
  TRY(s.Run());
  return db.Changes() > 0;
}

std::string MemberKey(int64_t parent_id, const std::string& kind, int index) {
  if (kind == "chunk") return fmt::format("chunk:{}:{}", parent_id, index);
  return fmt::format("{}:{}", kind, parent_id);
}

// The chunk number from a member's idem_key ("chunk:<parent>:<index>").
int MemberIndex(const std::string& kind, const std::string& idem_key) {
  if (kind != "chunk") return 0;
  size_t colon = idem_key.rfind(':');
  if (colon == std::string::npos) return 0;
  return std::atoi(idem_key.c_str() + colon + 1);
}

}  // namespace

int64_t EstimatedWorkMs(int64_t source_bytes) {
  // Until the source is probed its size is the only measure of its work:
  // bytes at 5 Mb/s, a typical mezzanine rate, as milliseconds of media.
  constexpr int64_t kBytesPerMs = 5'000'000 / 8 / 1000;
  return std::max<int64_t>(0, source_bytes) / kBytesPerMs;
}

int64_t RetryPolicy::DelayMs(int64_t attempts) const {
  int64_t delay = base_ms;
  for (int64_t i = 1; i < attempts && delay < max_ms; ++i) delay *= 2;
  return std::min(delay, max_ms);
}

const char* const kClaimJobSql =
    "UPDATE jobs SET state='leased', lease_owner=?1, "
    "lease_token=lease_token+1, "
    "lease_until=?2+?3, attempts=attempts+1, progress=0, fps=NULL, "
    "eta_ms=NULL, "
    "started_at=?2, updated_at=?2 "
    "WHERE id=(SELECT id FROM jobs WHERE state='queued' AND run_after<=?2 "
    "ORDER BY priority DESC, fair_key, id LIMIT 1) "
    "RETURNING "
    "id,kind,video_id,idem_key,payload,state,priority,attempts,max_attempts,"
    "run_after,lease_owner,lease_token,lease_until,progress,fps,eta_ms,last_"
    "error,"
    "created_at,updated_at,started_at,finished_at,parent_id,fair_key";

Result<std::optional<Job>> ClaimJob(Db& db, const ClaimRequest& req) {
  TRY_ASSIGN(Stmt s, db.Prepare(kClaimJobSql));
  s.Bind(1, req.owner).Bind(2, req.now_ms).Bind(3, req.lease_ms);
  TRY_ASSIGN(bool row, s.Step());
  if (!row) return std::optional<Job>();
  Job j = ReadJob(s);
  s.Reset();
  // A chunk claimed while a sibling is dead does not hide that failure: the
  // video stays 'failed' until the dead member is retried.
  TRY_ASSIGN(
      Stmt v,
      db.Prepare(
          "UPDATE videos SET state='processing', error=NULL, updated_at=?2 "
          "WHERE id=?1 AND state IN ('uploaded','failed') AND NOT EXISTS "
          "(SELECT 1 FROM jobs WHERE parent_id=?3 AND state='dead')"));
  v.Bind(1, j.video_id).Bind(2, req.now_ms).Bind(3, j.parent_id);
  TRY(v.Run());
  return std::optional<Job>(std::move(j));
}

Result<int> ExpireLeases(Db& db, int64_t now_ms, const RetryPolicy& policy) {
  return FailSelected(
      db, "lease_until<?1", [&](Stmt& s) { s.Bind(1, now_ms); },
      "lease expired (no heartbeat)", now_ms, policy, /*backoff=*/true);
}

Result<int> ReleaseNodeLeases(Db& db, const std::string& owner, int64_t now_ms,
                              const RetryPolicy& policy) {
  return FailSelected(
      db, "lease_owner=?1", [&](Stmt& s) { s.Bind(1, owner); },
      "lease lost: vodd restarted while the job ran", now_ms, policy,
      /*backoff=*/false);
}

Status Heartbeat(Db& db, const LeaseRef& lease, int64_t now_ms,
                 int64_t lease_ms, const HeartbeatInfo& info) {
  TRY_ASSIGN(Stmt s,
             db.Prepare("UPDATE jobs SET lease_until=?3, progress=?4, fps=?5, "
                        "eta_ms=?6, updated_at=?7 "
                        "WHERE id=?1 AND lease_token=?2 AND state='leased'"));
  s.Bind(1, lease.job_id).Bind(2, lease.token).Bind(3, now_ms + lease_ms);
  s.Bind(4, std::clamp(info.progress, 0.0, 1.0)).Bind(5, info.fps);
  s.Bind(6, info.eta_ms).Bind(7, now_ms);
  TRY(s.Run());
  if (db.Changes() != 1) return LeaseLost(lease);
  return Ok();
}

Status CompleteJob(Db& db, const LeaseRef& lease, int64_t now_ms) {
  TRY_ASSIGN(
      Stmt s,
      db.Prepare(
          "UPDATE jobs SET state='done', progress=1, eta_ms=0, "
          "lease_owner=NULL, "
          "lease_until=NULL, last_error=NULL, finished_at=?3, updated_at=?3 "
          "WHERE id=?1 AND lease_token=?2 AND state='leased' "
          "RETURNING kind,parent_id"));
  s.Bind(1, lease.job_id).Bind(2, lease.token).Bind(3, now_ms);
  TRY_ASSIGN(bool row, s.Step());
  if (!row) return LeaseLost(lease);
  std::string kind = s.Text(0);
  std::optional<int64_t> parent = s.OptInt(1);
  s.Reset();
  if (parent && (kind == "chunk" || kind == "audio")) {
    TRY(UnblockStitch(db, *parent, now_ms));
  }
  return Ok();
}

Result<int> SplitJob(Db& db, const LeaseRef& lease,
                     const std::vector<ChildJob>& children, int64_t now_ms) {
  int stitches = 0, chunks = 0;
  for (const auto& c : children) {
    if (c.kind == "stitch") {
      stitches++;
    } else if (c.kind == "chunk") {
      chunks++;
    } else if (c.kind != "audio") {
      return MakeError(ErrorCode::kInvalidArgument,
                       "unknown group member kind " + c.kind);
    }
  }
  if (stitches != 1 || chunks == 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "a split needs chunks and exactly one stitch");
  }
  TRY_ASSIGN(Stmt p,
             db.Prepare("SELECT video_id,priority,max_attempts,run_after FROM "
                        "jobs WHERE id=?1 AND lease_token=?2 AND "
                        "state='leased'"));
  p.Bind(1, lease.job_id).Bind(2, lease.token);
  TRY_ASSIGN(bool held, p.Step());
  if (!held) return LeaseLost(lease);
  std::string video_id = p.Text(0);
  int64_t priority = p.Int(1), max_attempts = p.Int(2);
  // The deadlines count from when the parent became visible, so a split
  // keeps the film's place: its early chunks come soon, its late ones after
  // clips queued meanwhile.
  int64_t visible = p.Int(3);
  p.Reset();
  TRY(CompleteJob(db, lease, now_ms));
  TRY_ASSIGN(
      Stmt ins,
      db.Prepare(
          "INSERT INTO jobs(kind,video_id,idem_key,payload,state,priority,"
          "max_attempts,run_after,created_at,updated_at,parent_id,fair_key) "
          "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?8,?8,?9,?10) "
          "ON CONFLICT(idem_key) DO NOTHING"));
  int inserted = 0;
  for (const auto& c : children) {
    ins.Bind(1, c.kind).Bind(2, video_id);
    ins.Bind(3, MemberKey(lease.job_id, c.kind, c.index)).Bind(4, c.payload);
    ins.Bind(5, c.kind == "stitch" ? "waiting" : "queued");
    ins.Bind(6, priority).Bind(7, max_attempts).Bind(8, now_ms);
    ins.Bind(9, lease.job_id)
        .Bind(10, visible + std::max<int64_t>(0, c.work_ms));
    TRY(ins.Run());
    inserted += db.Changes();
    ins.Reset();
  }
  return inserted;
}

Result<std::vector<GroupMember>> ListGroup(Db& db, int64_t parent_id) {
  TRY_ASSIGN(Stmt s, db.Prepare("SELECT id,kind,idem_key,state FROM jobs "
                                "WHERE parent_id=?1"));
  s.Bind(1, parent_id);
  std::vector<GroupMember> out;
  while (true) {
    TRY_ASSIGN(bool row, s.Step());
    if (!row) break;
    std::string kind = s.Text(1);
    int index = MemberIndex(kind, s.Text(2));
    out.push_back(GroupMember{s.Int(0), std::move(kind), index, s.Text(3)});
  }
  auto rank = [](const GroupMember& m) {
    return m.kind == "chunk" ? 0 : m.kind == "audio" ? 1 : 2;
  };
  std::sort(out.begin(), out.end(), [&](const auto& a, const auto& b) {
    return std::pair(rank(a), a.index) < std::pair(rank(b), b.index);
  });
  return out;
}

Result<std::vector<int64_t>> ListGroupParents(Db& db,
                                              const std::string& video_id) {
  TRY_ASSIGN(Stmt s, db.Prepare("SELECT DISTINCT parent_id FROM jobs WHERE "
                                "video_id=?1 AND parent_id IS NOT NULL "
                                "ORDER BY parent_id"));
  s.Bind(1, video_id);
  std::vector<int64_t> out;
  while (true) {
    TRY_ASSIGN(bool row, s.Step());
    if (!row) break;
    out.push_back(s.Int(0));
  }
  return out;
}

Result<FailOutcome> FailJob(Db& db, const LeaseRef& lease,
                            const Failure& failure, int64_t now_ms,
                            const RetryPolicy& policy) {
  TRY_ASSIGN(auto held, LoadHeld(db, lease));
  if (!held) return LeaseLost(lease);
  return FailHeld(
      db, lease, *held, failure, now_ms,
      failure.no_space ? policy.no_space_ms : policy.DelayMs(held->attempts));
}

Status ReleaseLease(Db& db, const LeaseRef& lease, int64_t now_ms) {
  TRY_ASSIGN(Stmt s,
             db.Prepare("UPDATE jobs SET state='queued', "
                        "attempts=MAX(attempts-1,0), lease_owner=NULL, "
                        "lease_until=NULL, run_after=?3, fps=NULL, "
                        "eta_ms=NULL, updated_at=?3 "
                        "WHERE id=?1 AND lease_token=?2 AND state='leased'"));
  s.Bind(1, lease.job_id).Bind(2, lease.token).Bind(3, now_ms);
  TRY(s.Run());
  if (db.Changes() != 1) return LeaseLost(lease);
  return Ok();
}

Status CancelJob(Db& db, int64_t job_id, int64_t now_ms) {
  TRY_ASSIGN(auto job, GetJob(db, job_id));
  if (!job)
    return MakeError(ErrorCode::kNotFound, fmt::format("no job {}", job_id));
  if (job->state != "queued" && job->state != "leased" &&
      job->state != "waiting") {
    return MakeError(
        ErrorCode::kConflict,
        fmt::format("job {} is {}; only queued, waiting or running jobs can "
                    "be cancelled",
                    job_id, job->state));
  }
  // A group is one unit for an operator: a stitch without one of its chunks
  // could never run.
  TRY_ASSIGN(Stmt s, db.Prepare(fmt::format(
                         "UPDATE jobs SET state='cancelled', lease_owner=NULL, "
                         "lease_until=NULL, "
                         "last_error='cancelled by an operator', "
                         "finished_at=?2, updated_at=?2 "
                         "WHERE {} AND state IN ('queued','leased','waiting')",
                         job->parent_id ? "parent_id=?1" : "id=?1")));
  s.Bind(1, job->parent_id.value_or(job_id)).Bind(2, now_ms);
  TRY(s.Run());
  return MarkVideoFailed(db, job->video_id, "processing was cancelled", now_ms);
}

Status RetryJob(Db& db, int64_t job_id, int64_t now_ms) {
  TRY_ASSIGN(auto job, GetJob(db, job_id));
  if (!job)
    return MakeError(ErrorCode::kNotFound, fmt::format("no job {}", job_id));
  if (job->state == "queued") {
    TRY_ASSIGN(Stmt s,
               db.Prepare("UPDATE jobs SET run_after=MIN(run_after,?2), "
                          "updated_at=?2 WHERE id=?1"));
    s.Bind(1, job_id).Bind(2, now_ms);
    return s.Run();
  }
  if (job->state != "dead" && job->state != "cancelled") {
    return MakeError(
        ErrorCode::kConflict,
        fmt::format("job {} is {}; only dead or cancelled jobs can be "
                    "retried (a waiting stitch runs when its chunks are done)",
                    job_id, job->state));
  }
  TRY_ASSIGN(Stmt v, db.Prepare("SELECT state FROM videos WHERE id=?1"));
  v.Bind(1, job->video_id);
  TRY_ASSIGN(bool vrow, v.Step());
  if (vrow && v.Text(0) == "deleting") {
    return MakeError(ErrorCode::kConflict,
                     fmt::format("video {} is being deleted", job->video_id));
  }
  v.Reset();
  // A stitch goes back to waiting; a cancelled group member brings back its
  // cancelled siblings (CancelJob took them all); a dead member comes back
  // alone — the others of its group are done or still running.
  std::string where = "id=?1";
  if (job->parent_id && job->state == "cancelled") {
    where = fmt::format("(id=?1 OR parent_id={}) AND state='cancelled'",
                        *job->parent_id);
  }
  TRY_ASSIGN(
      Stmt s,
      db.Prepare(fmt::format(
          "UPDATE jobs SET state=CASE WHEN kind='stitch' THEN 'waiting' ELSE "
          "'queued' END, attempts=0, last_error=NULL, "
          "run_after=?2, progress=0, fps=NULL, "
          "eta_ms=NULL, started_at=NULL, "
          "finished_at=NULL, updated_at=?2 WHERE {}",
          where)));
  s.Bind(1, job_id).Bind(2, now_ms);
  TRY(s.Run());
  if (!job->parent_id) {
    TRY_ASSIGN(
        Stmt u,
        db.Prepare(
            "UPDATE videos SET state='uploaded', error=NULL, updated_at=?2 "
            "WHERE id=?1 AND state='failed'"));
    u.Bind(1, job->video_id).Bind(2, now_ms);
    return u.Run();
  }
  TRY(UnblockStitch(db, *job->parent_id, now_ms));
  // The video reflects its group: still failed while another member is dead
  // (or cancelled), and processing once none is — the group is part way
  // through, with members done or running.
  TRY_ASSIGN(
      Stmt u,
      db.Prepare("UPDATE videos SET state='processing', error=NULL, "
                 "updated_at=?2 WHERE id=?1 AND state='failed' AND NOT EXISTS "
                 "(SELECT 1 FROM jobs WHERE parent_id=?3 AND state IN "
                 "('dead','cancelled'))"));
  u.Bind(1, job->video_id).Bind(2, now_ms).Bind(3, *job->parent_id);
  return u.Run();
}

Status SetJobPriority(Db& db, int64_t job_id, int64_t priority,
                      int64_t now_ms) {
  if (priority < kMinPriority || priority > kMaxPriority) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("priority must be between {} and {}",
                                 kMinPriority, kMaxPriority));
  }
  TRY_ASSIGN(auto job, GetJob(db, job_id));
  if (!job)
    return MakeError(ErrorCode::kNotFound, fmt::format("no job {}", job_id));
  // The group is named by its transcode parent. Nothing to run (every job
  // of the group done) is a conflict; a dead or cancelled member may run
  // again after a retry.
  int64_t group = job->parent_id.value_or(job_id);
  TRY_ASSIGN(Stmt c, db.Prepare("SELECT COUNT(*) FROM jobs WHERE (id=?1 OR "
                                "parent_id=?1) AND state!='done'"));
  c.Bind(1, group);
  TRY_ASSIGN(bool row, c.Step());
  if (!row || c.Int(0) == 0) {
    return MakeError(ErrorCode::kConflict,
                     fmt::format("job {} is {} and has nothing left to run",
                                 job_id, job->state));
  }
  c.Reset();
  // One priority for the whole group, whatever each member's state: a
  // leased transcode about to split hands it to the children SplitJob
  // inserts (they copy the parent's row), a dead or cancelled member keeps
  // it through its retry, and a done parent still records it.
  TRY_ASSIGN(Stmt s, db.Prepare("UPDATE jobs SET priority=?2, updated_at=?3 "
                                "WHERE id=?1 OR parent_id=?1"));
  s.Bind(1, group).Bind(2, priority).Bind(3, now_ms);
  TRY(s.Run());
  // The video keeps the operator's choice for any job made for it later.
  TRY_ASSIGN(Stmt v, db.Prepare("UPDATE videos SET priority=?2 WHERE id=?1"));
  v.Bind(1, job->video_id).Bind(2, priority);
  return v.Run();
}

Result<std::optional<Job>> GetJob(Db& db, int64_t job_id) {
  TRY_ASSIGN(Stmt s, db.Prepare(fmt::format("SELECT {} FROM jobs WHERE id=?1",
                                            kJobColumns)));
  s.Bind(1, job_id);
  TRY_ASSIGN(bool row, s.Step());
  if (!row) return std::optional<Job>();
  return std::optional<Job>(ReadJob(s));
}

Result<Job> GetLeasedJob(Db& db, const LeaseRef& lease) {
  TRY_ASSIGN(auto job, GetJob(db, lease.job_id));
  if (!job || job->state != "leased" || job->lease_token != lease.token) {
    return LeaseLost(lease);
  }
  return std::move(*job);
}

Result<std::vector<Job>> ListJobs(Db& db, const JobFilter& filter) {
  std::string where;
  for (size_t i = 0; i < filter.states.size(); ++i) {
    where += fmt::format("{}?{}", i ? "," : " WHERE state IN (", i + 2);
  }
  if (!where.empty()) where += ")";
  TRY_ASSIGN(Stmt s, db.Prepare(fmt::format(
                         "SELECT {} FROM jobs{} ORDER BY id DESC LIMIT ?1",
                         kJobColumns, where)));
  s.Bind(1, std::clamp(filter.limit, 1, 1000));
  for (size_t i = 0; i < filter.states.size(); ++i) {
    s.Bind(static_cast<int>(i + 2), filter.states[i]);
  }
  return ReadRows(s, ReadJob);
}

Result<std::map<std::string, int64_t>> CountJobs(Db& db) {
  TRY_ASSIGN(Stmt s, db.Prepare("SELECT COUNT(*) FROM jobs WHERE state=?1"));
  std::map<std::string, int64_t> out;
  for (const char* state :
       {"waiting", "queued", "leased", "dead", "cancelled"}) {
    s.Bind(1, state);
    TRY_ASSIGN(bool row, s.Step());
    out[state] = row ? s.Int(0) : 0;
    s.Reset();
  }
  return out;
}

}  // namespace vodd::catalog
