// Staging → media rename inside the writer's transaction, the same for a
// split group's chunk outputs (staging → work/), the startup sweep, the
// collection of retired versions and video deletion (see publish.h for the
// order and why it is crash-safe).
#include "vodd/pipeline/publish.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "vodd/catalog/deletion.h"
#include "vodd/catalog/jobs.h"
#include "vodd/catalog/media.h"
#include "vodd/catalog/videos.h"
#include "vodd/core/ids.h"
#include "vodd/core/log.h"

namespace vodd::pipeline {

namespace {

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    closedir(d);
  }
  return out;
}

bool PlainName(const std::string& n) {
  if (n.empty() || n.size() > 32) return false;
  for (char c : n) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  }
  return true;
}

Status CheckFile(const std::string& path, int64_t size) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return MakeError(ErrorCode::kDataLoss, "worker output is missing " + path);
  }
  if (!S_ISREG(st.st_mode) || st.st_size != size) {
    return MakeError(
        ErrorCode::kDataLoss,
        fmt::format("worker output {} has {} bytes, the index says {}", path,
                    st.st_size, size));
  }
  return Ok();
}

// The source file of a video when it is one `vodd ingest` copied (uploads/
// belongs to the upload module), else "".
std::string IngestedSource(const storage::Layout& layout,
                           const std::string& video_id,
                           const std::string& source_path) {
  if (IsLowerHex(video_id, 32) && source_path == "sources/" + video_id) {
    return layout.SourcePath(video_id);
  }
  return "";
}

// The work folder of one group member; "" for a stitch (it has none).
std::string MemberWorkDir(const storage::Layout& layout, int64_t parent,
                          const catalog::GroupMember& m) {
  if (m.kind == "chunk") return layout.ChunkWorkDir(parent, m.index);
  if (m.kind == "audio") return layout.AudioWorkDir(parent);
  return "";
}

bool AllDigits(const std::string& s) {
  return !s.empty() && s.size() < 19 &&
         s.find_first_not_of("0123456789") == std::string::npos;
}

// Startup sweep of work/ (no job runs yet): a group keeps the folders of its
// done members until its stitch is done; everything else goes.
Status RecoverWork(catalog::Writer& writer, const storage::Layout& layout) {
  std::vector<int64_t> parents;
  for (const auto& name : ListDir(layout.WorkRoot())) {
    if (AllDigits(name)) {
      parents.push_back(std::stoll(name));
    } else {
      LOG_INFO("pipeline", "removing unexpected work/{}", name);
      TRY(storage::RemoveTree(layout.WorkRoot() + "/" + name));
    }
  }
  using Groups = std::vector<std::vector<catalog::GroupMember>>;
  auto groups =
      writer.Call<Groups>([&parents](catalog::Db& db) -> Result<Groups> {
        Groups out;
        for (int64_t p : parents) {
          TRY_ASSIGN(auto g, catalog::ListGroup(db, p));
          out.push_back(std::move(g));
        }
        return out;
      });
  if (!groups) return tl::unexpected(groups.error());
  for (size_t i = 0; i < parents.size(); ++i) {
    const auto& members = (*groups)[i];
    std::string dir = layout.GroupWorkDir(parents[i]);
    bool unfinished = std::any_of(members.begin(), members.end(), [](auto& m) {
      return m.kind == "stitch" && m.state != "done";
    });
    if (!unfinished) {
      LOG_INFO("pipeline", "removing work of finished group {}", parents[i]);
      TRY(storage::RemoveTree(dir));
      continue;
    }
    std::set<std::string> keep;
    for (const auto& m : members) {
      std::string d = MemberWorkDir(layout, parents[i], m);
      if (!d.empty() && m.state == "done") keep.insert(d);
    }
    for (const auto& name : ListDir(dir)) {
      if (keep.count(dir + "/" + name)) continue;
      LOG_INFO("pipeline", "removing work {}/{} of an unfinished job",
               parents[i], name);
      TRY(storage::RemoveTree(dir + "/" + name));
    }
    TRY(storage::FsyncDir(dir));
  }
  return storage::FsyncDir(layout.WorkRoot());
}

Status RemoveVideoFiles(const storage::Layout& layout,
                        const std::string& video_id,
                        const std::string& source_path) {
  TRY(storage::RemoveTree(layout.VideoDir(video_id)));
  std::string src = IngestedSource(layout, video_id, source_path);
  if (!src.empty() && unlink(src.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError(errno, "unlink " + src);
  }
  TRY(storage::FsyncDir(layout.MediaRoot()));
  return Ok();
}

}  // namespace

Status VerifyStagedOutput(const std::string& dir,
                          const catalog::PublishedVersion& published) {
  if (published.renditions.empty()) {
    return MakeError(ErrorCode::kDataLoss, "worker produced no renditions");
  }
  for (const auto& r : published.renditions) {
    if (!PlainName(r.name)) {
      return MakeError(ErrorCode::kDataLoss,
                       "bad rendition name \"" + r.name + "\"");
    }
    if (r.segments.empty()) {
      return MakeError(ErrorCode::kDataLoss,
                       "rendition " + r.name + " has no segments");
    }
    TRY(CheckFile(fmt::format("{}/{}/init.mp4", dir, r.name), r.init_size));
    for (const auto& s : r.segments) {
      TRY(CheckFile(fmt::format("{}/{}/{}.m4s", dir, r.name, s.number),
                    s.size));
    }
  }
  if (published.thumbnails) {
    TRY(CheckFile(dir + "/poster.jpg", published.thumbnails->poster_size));
    TRY(CheckFile(dir + "/sprite.jpg", published.thumbnails->sprite_size));
  }
  return Ok();
}

namespace {

// Renames the worker's output `staging` to `target` in `dir` (made if
// missing). A folder already at `target` is left from an attempt that crashed
// before its COMMIT: the catalog never referenced it.
Status MoveStaged(const std::string& staging, const std::string& dir,
                  const std::string& target) {
  TRY(storage::MakeDirs(dir));
  TRY(storage::RemoveTree(target));
  if (rename(staging.c_str(), target.c_str()) != 0) {
    return ErrnoError(errno, "rename " + staging + " → " + target);
  }
  return Ok();
}

// After the transaction failed: the output goes back to staging (where
// RecoverStorage finds it at the latest), or is removed where it is.
void UnmoveStaged(const std::string& target, const std::string& staging) {
  if (rename(target.c_str(), staging.c_str()) != 0) {
    storage::RemoveTree(target);
  }
}

}  // namespace

Result<int64_t> PublishStaged(catalog::Db& db, const storage::Layout& layout,
                              const catalog::LeaseRef& lease,
                              catalog::PublishedVersion published,
                              const std::string& staging, int64_t now_ms) {
  TRY_ASSIGN(catalog::Job job, catalog::GetLeasedJob(db, lease));
  TRY_ASSIGN(auto video, catalog::GetVideo(db, job.video_id));
  if (!video || video->state == "deleting" || !IsLowerHex(video->id, 32)) {
    return MakeError(ErrorCode::kConflict,
                     "video " + job.video_id + " is gone");
  }
  int64_t version = video->version + 1;
  std::string video_dir = layout.VideoDir(video->id);
  std::string target = layout.MediaDir(video->id, version);
  TRY(MoveStaged(staging, video_dir, target));
  auto commit_part = [&]() -> Status {
    TRY(storage::FsyncDir(video_dir));
    TRY(storage::FsyncDir(layout.StagingDir()));
    published.video_id = video->id;
    published.version = version;
    published.published_at = now_ms;
    TRY(catalog::CompleteJob(db, lease, now_ms));
    return catalog::PublishVersion(db, published, now_ms);
  };
  if (auto s = commit_part(); !s) {
    UnmoveStaged(target, staging);
    return tl::unexpected(s.error());
  }
  return version;
}

std::vector<catalog::ChildJob> GroupFromPlan(const SplitPlan& plan) {
  std::vector<catalog::ChildJob> out;
  for (size_t i = 0; i < plan.chunks.size(); ++i) {
    const ChunkSpec& c = plan.chunks[i];
    out.push_back(
        {"chunk", c.index, ChunkPayload(plan, static_cast<int>(i)), c.end_ms});
  }
  if (plan.audio) {
    out.push_back({"audio", 0, AudioPayload(plan),
                   plan.chunks.empty() ? 0 : plan.chunks.front().end_ms});
  }
  out.push_back({"stitch", 0, StitchPayload(plan), plan.duration_ms});
  return out;
}

Result<bool> KeepStagedPart(catalog::Db& db, const storage::Layout& layout,
                            const catalog::LeaseRef& lease,
                            const std::string& staging, int64_t now_ms) {
  TRY_ASSIGN(catalog::Job job, catalog::GetLeasedJob(db, lease));
  if (!job.parent_id || (job.kind != "chunk" && job.kind != "audio")) {
    return MakeError(ErrorCode::kInternal,
                     fmt::format("job {} ({}) is not a chunk or audio job",
                                 job.id, job.kind));
  }
  TRY_ASSIGN(auto members, catalog::ListGroup(db, *job.parent_id));
  auto self = std::find_if(members.begin(), members.end(),
                           [&](const auto& m) { return m.id == job.id; });
  if (self == members.end()) {
    return MakeError(ErrorCode::kInternal,
                     fmt::format("job {} is not in its group", job.id));
  }
  std::string group_dir = layout.GroupWorkDir(*job.parent_id);
  std::string target = MemberWorkDir(layout, *job.parent_id, *self);
  TRY(MoveStaged(staging, group_dir, target));
  auto commit_part = [&]() -> Result<bool> {
    TRY(storage::FsyncDir(group_dir));
    TRY(storage::FsyncDir(layout.WorkRoot()));
    TRY(storage::FsyncDir(layout.StagingDir()));
    TRY(catalog::CompleteJob(db, lease, now_ms));
    TRY_ASSIGN(auto after, catalog::ListGroup(db, *job.parent_id));
    return std::any_of(after.begin(), after.end(), [](const auto& m) {
      return m.kind == "stitch" && m.state == "queued";
    });
  };
  auto unblocked = commit_part();
  if (!unblocked) UnmoveStaged(target, staging);
  return unblocked;
}

Result<std::vector<std::string>> StitchInputs(catalog::Db& db,
                                              const storage::Layout& layout,
                                              int64_t parent_job_id) {
  TRY_ASSIGN(auto members, catalog::ListGroup(db, parent_job_id));
  std::vector<std::string> out;
  for (const auto& m : members) {  // chunks by index, then audio
    std::string dir = MemberWorkDir(layout, parent_job_id, m);
    if (dir.empty()) continue;
    if (m.state != "done") {
      return MakeError(ErrorCode::kFailedPrecondition,
                       fmt::format("group {}: {} job {} is {}", parent_job_id,
                                   m.kind, m.id, m.state));
    }
    out.push_back(std::move(dir));
  }
  return out;
}

Status RemoveGroupWork(const storage::Layout& layout, int64_t parent_job_id) {
  TRY(storage::RemoveTree(layout.GroupWorkDir(parent_job_id)));
  return storage::FsyncDir(layout.WorkRoot());
}

Result<int> CollectRetiredVersions(catalog::Writer& writer,
                                   const storage::Layout& layout,
                                   int64_t now_ms, int64_t grace_ms) {
  constexpr int kBatch = 64;
  using Refs = std::vector<catalog::VersionRef>;
  int collected = 0;
  while (true) {
    // Rows first, in one transaction: from its COMMIT on nothing points at
    // these folders. A crash before the files go leaves orphan folders
    // that RecoverStorage removes.
    size_t listed = 0;
    auto gone = writer.Call<Refs>([&](catalog::Db& db) -> Result<Refs> {
      TRY_ASSIGN(auto expired,
                 catalog::ListExpiredVersions(db, now_ms, grace_ms, kBatch));
      listed = expired.size();
      Refs out;
      for (auto& v : expired) {
        TRY_ASSIGN(bool deleted, catalog::DeleteRetiredVersion(db, v));
        if (deleted) out.push_back(std::move(v));
      }
      return out;
    });
    if (!gone) return tl::unexpected(gone.error());
    for (const auto& v : *gone) {
      if (!IsLowerHex(v.video_id, 32)) continue;  // never built a path
      LOG_INFO("pipeline", "removing retired media {}/{} (grace over)",
               v.video_id, v.version);
      TRY(storage::RemoveTree(layout.MediaDir(v.video_id, v.version)));
      TRY(storage::FsyncDir(layout.VideoDir(v.video_id)));
      ++collected;
    }
    // Fewer than a batch, or nothing collectable in it: done for now.
    if (listed < static_cast<size_t>(kBatch) || gone->empty()) break;
  }
  return collected;
}

Status RecoverStorage(catalog::Writer& writer, const storage::Layout& layout,
                      int64_t now_ms, int64_t version_grace_ms) {
  // 0. Retired versions whose grace is over: rows, then media.
  if (version_grace_ms >= 0) {
    TRY_ASSIGN(int n, CollectRetiredVersions(writer, layout, now_ms,
                                             version_grace_ms));
    (void)n;
  }

  // 1. Staging: no job runs yet, so every folder is a crash leftover.
  for (const auto& name : ListDir(layout.StagingDir())) {
    LOG_INFO("pipeline", "removing leftover staging {}", name);
    TRY(storage::RemoveTree(layout.StagingDir() + "/" + name));
  }
  TRY(storage::FsyncDir(layout.StagingDir()));

  // 2. Deletions interrupted by a crash.
  auto deleting = writer.Call<std::vector<std::pair<std::string, std::string>>>(
      [](catalog::Db& db) { return catalog::ListDeletingVideos(db); });
  if (!deleting) return tl::unexpected(deleting.error());
  for (const auto& [id, source] : *deleting) {
    LOG_INFO("pipeline", "finishing the deletion of video {}", id);
    if (IsLowerHex(id, 32)) TRY(RemoveVideoFiles(layout, id, source));
    TRY(writer.Call<bool>([id = id](catalog::Db& db) -> Result<bool> {
      TRY(catalog::DeleteVideoRows(db, id));
      return true;
    }));
  }

  // 3. Media the catalog does not reference.
  std::vector<std::string> video_ids;
  for (auto& name : ListDir(layout.MediaRoot())) {
    if (IsLowerHex(name, 32)) {
      video_ids.push_back(std::move(name));
    } else {
      LOG_WARN("pipeline", "unexpected entry media/{} left alone", name);
    }
  }
  // One transaction for all lookups, however many videos there are.
  using Refs = std::vector<std::optional<std::vector<int64_t>>>;
  auto refs = writer.Call<Refs>([&video_ids](catalog::Db& db) -> Result<Refs> {
    Refs out;
    for (const auto& id : video_ids) {
      TRY_ASSIGN(auto one, catalog::RetainedVersions(db, id));
      out.push_back(std::move(one));
    }
    return out;
  });
  if (!refs) return tl::unexpected(refs.error());
  for (size_t i = 0; i < video_ids.size(); ++i) {
    const std::string& video_id = video_ids[i];
    const auto& ref = (*refs)[i];
    std::string dir = layout.VideoDir(video_id);
    if (!ref) {
      LOG_INFO("pipeline", "removing media of unknown video {}", video_id);
      TRY(storage::RemoveTree(dir));
      continue;
    }
    std::set<std::string> keep;  // the current version and those in grace
    for (int64_t v : *ref) keep.insert(std::to_string(v));
    for (const auto& version : ListDir(dir)) {
      if (keep.count(version)) continue;
      LOG_INFO("pipeline", "removing unreferenced media {}/{}", video_id,
               version);
      TRY(storage::RemoveTree(dir + "/" + version));
    }
  }
  TRY(storage::FsyncDir(layout.MediaRoot()));

  // 4. Work folders of split groups.
  return RecoverWork(writer, layout);
}

Status DeleteVideo(catalog::Writer& writer, const storage::Layout& layout,
                   const std::string& video_id, int64_t now_ms) {
  if (!IsLowerHex(video_id, 32)) {
    return MakeError(ErrorCode::kNotFound, "no video " + video_id);
  }
  using Marked = std::pair<std::string, std::vector<int64_t>>;
  auto marked = writer.Call<Marked>([&](catalog::Db& db) -> Result<Marked> {
    TRY_ASSIGN(auto groups, catalog::ListGroupParents(db, video_id));
    TRY_ASSIGN(auto source, catalog::MarkVideoDeleting(db, video_id, now_ms));
    return Marked{std::move(source), std::move(groups)};
  });
  if (!marked) return tl::unexpected(marked.error());
  TRY(RemoveVideoFiles(layout, video_id, marked->first));
  // A crash before this is finished by RecoverStorage: the rows are gone
  // by then, so these groups count as finished.
  for (int64_t parent : marked->second) TRY(RemoveGroupWork(layout, parent));
  auto done = writer.Call<bool>([&](catalog::Db& db) -> Result<bool> {
    TRY(catalog::DeleteVideoRows(db, video_id));
    return true;
  });
  if (!done) return tl::unexpected(done.error());
  return Ok();
}

}  // namespace vodd::pipeline
