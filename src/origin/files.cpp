#include "origin/files.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

namespace vodd::origin {
namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

Result<int> ErrnoResult(int err, const std::string& rel) {
  if (err == ENOENT || err == ENOTDIR) {
    return MakeError(ErrorCode::kNotFound, "no such file: " + rel);
  }
  if (err == ELOOP || err == EXDEV || err == EACCES || err == EPERM) {
    return MakeError(ErrorCode::kPermissionDenied, "refused to open: " + rel);
  }
  return ErrnoError(err, "open " + rel);
}

// Walks `rel` one component at a time with O_NOFOLLOW, refusing "..".
Result<int> OpenPerComponent(int root_fd, const std::string& rel) {
  int dir = root_fd;
  Fd holder;
  size_t pos = 0;
  while (true) {
    size_t slash = rel.find('/', pos);
    std::string part = rel.substr(
        pos, slash == std::string::npos ? std::string::npos : slash - pos);
    if (part.empty() || part == "." || part == "..") {
      return MakeError(ErrorCode::kPermissionDenied, "refused path " + rel);
    }
    bool last = slash == std::string::npos;
    int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (last ? 0 : O_DIRECTORY);
    int fd = openat(dir, part.c_str(), flags);
    if (fd < 0) return ErrnoResult(errno, rel);
    if (last) return fd;
    if (holder.fd >= 0) close(holder.fd);
    holder.fd = fd;
    dir = fd;
    pos = slash + 1;
  }
}

}  // namespace

Result<int> OpenBeneath(int root_fd, const std::string& rel) {
  struct open_how how = {};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  long fd = syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof how);
  if (fd >= 0) return static_cast<int>(fd);
  if (errno == ENOSYS) return OpenPerComponent(root_fd, rel);
  return ErrnoResult(errno, rel);
}

Result<int> OpenRegularBeneath(int root_fd, const std::string& rel,
                               int64_t expected_size) {
  TRY_ASSIGN(int raw, OpenBeneath(root_fd, rel));
  Fd fd{raw};
  struct stat st {};
  if (fstat(fd.fd, &st) != 0) return ErrnoError(errno, "stat " + rel);
  if (!S_ISREG(st.st_mode)) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "not a regular file: " + rel);
  }
  if (expected_size >= 0 && st.st_size != expected_size) {
    return MakeError(ErrorCode::kDataLoss,
                     fmt::format("{} is {} bytes, the catalog says {}", rel,
                                 st.st_size, expected_size));
  }
  fd.fd = -1;
  return raw;
}

Result<glib::BytesPtr> ReadRange(int fd, int64_t offset, int64_t length) {
  auto size = static_cast<size_t>(length);
  auto* buf = static_cast<char*>(g_malloc(size ? size : 1));
  size_t done = 0;
  while (done < size) {
    ssize_t n = pread(fd, buf + done, size - done,
                      static_cast<off_t>(offset) + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      g_free(buf);
      return ErrnoError(err, "read");
    }
    done += static_cast<size_t>(n);
  }
  return glib::BytesPtr(g_bytes_new_take(buf, size));
}

Result<glib::BytesPtr> ReadBeneath(int root_fd, const std::string& rel,
                                   int64_t expected_size, int64_t max_bytes) {
  TRY_ASSIGN(int raw, OpenRegularBeneath(root_fd, rel, expected_size));
  Fd fd{raw};
  struct stat st {};
  if (fstat(fd.fd, &st) != 0) return ErrnoError(errno, "stat " + rel);
  if (st.st_size > max_bytes) {
    return MakeError(ErrorCode::kTooLarge, fmt::format("{} is too large", rel));
  }
  return ReadRange(fd.fd, 0, st.st_size);
}

}  // namespace vodd::origin
