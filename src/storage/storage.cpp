#include "vodd/storage/storage.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "vodd/core/ids.h"
#include "vodd/core/log.h"

namespace vodd::storage {

Status MakeDirs(const std::string& path) {
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    cur = path.substr(0, pos);
    if (cur.empty()) continue;
    if (mkdir(cur.c_str(), 0750) != 0 && errno != EEXIST) {
      return ErrnoError(errno, "mkdir " + cur);
    }
  }
  return Ok();
}

Result<Layout> Layout::Create(const std::string& data_dir) {
  std::string root = data_dir;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (root.empty())
    return MakeError(ErrorCode::kInvalidArgument, "empty data_dir");
  if (root[0] != '/') {
    std::error_code ec;
    root =
        (std::filesystem::current_path(ec) / root).lexically_normal().string();
    if (ec)
      return MakeError(ErrorCode::kIo,
                       "cannot resolve data_dir: " + ec.message());
  }
  Layout l(root);
  for (const auto& d :
       {l.root_, l.DbDir(), l.UploadsDir(), l.SourcesDir(), l.StagingDir(),
        l.MediaRoot(), l.TmpDir(), l.WorkRoot()}) {
    TRY(MakeDirs(d));
  }
  return l;
}

std::string Layout::UploadPath(std::string_view upload_id) const {
  if (!IsLowerHex(upload_id, 32)) std::abort();
  return fmt::format("{}/uploads/{}", root_, upload_id);
}

std::string Layout::SourcePath(std::string_view video_id) const {
  if (!IsLowerHex(video_id, 32)) std::abort();
  return fmt::format("{}/sources/{}", root_, video_id);
}

std::string Layout::VideoDir(std::string_view video_id) const {
  if (!IsLowerHex(video_id, 32)) std::abort();
  return fmt::format("{}/media/{}", root_, video_id);
}

std::string Layout::MediaDir(std::string_view video_id, int64_t version) const {
  return fmt::format("{}/{}", VideoDir(video_id), version);
}

std::string Layout::JobStagingDir(int64_t job_id, int64_t lease_token) const {
  return fmt::format("{}/staging/{}-{}", root_, job_id, lease_token);
}

std::string Layout::GroupWorkDir(int64_t parent_job_id) const {
  return fmt::format("{}/work/{}", root_, parent_job_id);
}

std::string Layout::ChunkWorkDir(int64_t parent_job_id, int chunk_index) const {
  return fmt::format("{}/chunk-{}", GroupWorkDir(parent_job_id), chunk_index);
}

std::string Layout::AudioWorkDir(int64_t parent_job_id) const {
  return GroupWorkDir(parent_job_id) + "/audio";
}

Status FsyncDir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "open dir " + dir);
  int rc = fsync(fd);
  int err = errno;
  close(fd);
  if (rc != 0) return ErrnoError(err, "fsync dir " + dir);
  return Ok();
}

Status AtomicWriteFile(const std::string& dir, const std::string& name,
                       std::string_view data) {
  std::string tmp = fmt::format("{}/.{}.tmp.{}", dir, name, RandomHex(6));
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) return ErrnoError(errno, "create " + tmp);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      unlink(tmp.c_str());
      return ErrnoError(err, "write " + tmp);
    }
    off += static_cast<size_t>(n);
  }
  if (fdatasync(fd) != 0) {
    int err = errno;
    close(fd);
    unlink(tmp.c_str());
    return ErrnoError(err, "fdatasync " + tmp);
  }
  close(fd);
  std::string final_path = dir + "/" + name;
  if (rename(tmp.c_str(), final_path.c_str()) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return ErrnoError(err, "rename " + final_path);
  }
  return FsyncDir(dir);
}

Status FsyncTree(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (!d) return ErrnoError(errno, "opendir " + dir);
  std::vector<std::string> subdirs;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    std::string p = dir + "/" + n;
    struct stat st {};
    if (lstat(p.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      subdirs.push_back(p);
    } else if (S_ISREG(st.st_mode)) {
      int fd = open(p.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || fdatasync(fd) != 0) {
        int err = errno;
        if (fd >= 0) close(fd);
        closedir(d);
        return ErrnoError(err, "fdatasync " + p);
      }
      close(fd);
    }
  }
  closedir(d);
  for (const auto& s : subdirs) TRY(FsyncTree(s));
  return FsyncDir(dir);
}

Status RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec)
    return MakeError(ErrorCode::kIo, "remove " + path + ": " + ec.message());
  return Ok();
}

Result<int64_t> FreeBytes(const std::string& path) {
  struct statvfs s {};
  if (statvfs(path.c_str(), &s) != 0)
    return ErrnoError(errno, "statvfs " + path);
  return static_cast<int64_t>(s.f_bavail) * static_cast<int64_t>(s.f_frsize);
}

}  // namespace vodd::storage
