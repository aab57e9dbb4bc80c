// The on-disk layout under data_dir and the durable file operations. This is
// the only module that builds paths; callers pass validated ids.
//
//   <data_dir>/db/catalog.db{,-wal,-shm}   SQLite catalog
//   <data_dir>/uploads/<id>                tus upload data (one file each)
//   <data_dir>/sources/<video>             local files added by `vodd ingest`
//   <data_dir>/staging/<job>-<token>/      a job's private output
//   <data_dir>/media/<video>/<version>/    published, immutable media
//   <data_dir>/work/<parent_job>/chunk-<i>/  a split group's finished chunk
//   <data_dir>/work/<parent_job>/audio/      … and its audio; kept until the
//                                            group's stitch has published
//   <data_dir>/tmp/                        scratch (probe files, …)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "vodd/core/result.h"

namespace vodd::storage {

class Layout {
 public:
  // Creates the folders (mode 0750) if missing. Errors: kIo, kPermissionDenied.
  static Result<Layout> Create(const std::string& data_dir);

  const std::string& root() const { return root_; }
  std::string DbDir() const { return root_ + "/db"; }
  std::string CatalogPath() const { return root_ + "/db/catalog.db"; }
  std::string UploadsDir() const { return root_ + "/uploads"; }
  std::string SourcesDir() const { return root_ + "/sources"; }
  std::string StagingDir() const { return root_ + "/staging"; }
  std::string MediaRoot() const { return root_ + "/media"; }
  std::string TmpDir() const { return root_ + "/tmp"; }
  std::string WorkRoot() const { return root_ + "/work"; }
  // Ids must be validated by the caller (IsLowerHex); these abort on a bad one
  // rather than build a path from hostile input.
  std::string UploadPath(std::string_view upload_id) const;
  // An ingested source; relative form "sources/<video>" is videos.source_path.
  std::string SourcePath(std::string_view video_id) const;
  std::string MediaDir(std::string_view video_id, int64_t version) const;
  std::string VideoDir(std::string_view video_id) const;
  std::string JobStagingDir(int64_t job_id, int64_t lease_token) const;
  // The durable outputs of the split group of transcode job `parent_job_id`.
  std::string GroupWorkDir(int64_t parent_job_id) const;
  std::string ChunkWorkDir(int64_t parent_job_id, int chunk_index) const;
  std::string AudioWorkDir(int64_t parent_job_id) const;

 private:
  explicit Layout(std::string root) : root_(std::move(root)) {}
  std::string root_;
};

// temp → fdatasync → rename → fsync(dir). Errors: kIo, kNoSpace.
Status AtomicWriteFile(const std::string& dir, const std::string& name,
                       std::string_view data);
// fsync a folder so renames and creations inside it are durable.
Status FsyncDir(const std::string& dir);
// fsync every regular file in `dir` (recursively) and then each folder.
Status FsyncTree(const std::string& dir);
// Removes a tree; missing is fine. Errors: kIo.
Status RemoveTree(const std::string& path);
// Free bytes available to an unprivileged writer on the filesystem of `path`.
Result<int64_t> FreeBytes(const std::string& path);
// mkdir -p with mode 0750.
Status MakeDirs(const std::string& path);

}  // namespace vodd::storage
