#include "file_sink.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>

#include "io_thread.h"
#include "vodd/core/log.h"
#include "vodd/storage/storage.h"

namespace vodd::upload {
namespace {

GChecksumType ToGlib(ChecksumAlgo a) {
  switch (a) {
    case ChecksumAlgo::kSha1:
      return G_CHECKSUM_SHA1;
    case ChecksumAlgo::kSha256:
      return G_CHECKSUM_SHA256;
    case ChecksumAlgo::kMd5:
      return G_CHECKSUM_MD5;
  }
  return G_CHECKSUM_SHA1;
}

// Starts a flush of this many written bytes in the background, so the
// fdatasync before the 204 has only the rest to push through the disk's
// cache (measured: ~1 ms per MiB on this VM, i.e. a quarter of a 50 MiB
// PATCH's time when all of it waited for the end). A running flush slows
// the writes behind it, and the final fdatasync waits for it: with 5 MiB
// PATCHes from tus-js-client, last byte to fdatasync'ed took 5.2–5.6 ms at
// 4 MiB, 2.0–3.5 ms at 2 MiB and 2.1–3.3 ms at 1 MiB (three interleaved
// rounds, 512 MiB each; docs/benchmarks.md run 21).
constexpr int64_t kEarlyFlushBytes = 2 << 20;

// One thread for every sink's early flushes: they only shorten the final
// fdatasync, they make nothing durable that anyone relies on. Never
// stopped: it lives as long as the process.
IoThread& Flusher() {
  static IoThread* thread = [] {
    auto* t = new IoThread();
    t->Start();
    return t;
  }();
  return *thread;
}

}  // namespace

// What the sink and its early flush share. The flush runs on a dup of the
// fd, i.e. the same open file description: an error it sees is not reported
// again to the final fdatasync (Linux reports a writeback error once per
// description), so it is kept here for Finish.
struct FileSink::EarlyFlush {
  std::mutex mutex;
  std::condition_variable cv;
  bool running = false;
  int error = 0;
};

FileSink::FileSink(Options o)
    : o_(std::move(o)),
      pos_(o_.start_offset),
      synced_(pos_),
      flushed_(pos_),
      early_(std::make_shared<EarlyFlush>()) {
  if (o_.checksum) sum_ = g_checksum_new(ToGlib(o_.checksum->algo));
}

FileSink::~FileSink() {
  if (fd_ >= 0) close(fd_);
  if (dfd_ >= 0) close(dfd_);
  if (sum_) g_checksum_free(sum_);
}

Status FileSink::Open() {
  if (fd_ >= 0) return Ok();
  fd_ = open(o_.path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd_ < 0) return ErrnoError(errno, "open " + o_.path);
  // Whole pages go around the page cache when the filesystem allows it
  // (tmpfs may not): no copy into the cache, and fdatasync has only the
  // partial pages and the metadata left to flush.
  dfd_ = open(o_.path.c_str(), O_WRONLY | O_CLOEXEC | O_DIRECT);
  return Ok();
}

// Writes [data, data+len) at `off` completely. Returns 0 or an errno.
static int PwriteAll(int fd, const char* data, size_t len, off_t off) {
  while (len > 0) {
    ssize_t n = pwrite(fd, data, len, off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += n;
    len -= static_cast<size_t>(n);
    off += n;
  }
  return 0;
}

int FileSink::WriteAligned(std::string_view p, off_t off) {
  constexpr size_t kPage = 4096;
  size_t head = (kPage - static_cast<size_t>(off) % kPage) % kPage;
  size_t mid = (p.size() - head) / kPage * kPage;
  if (int e = PwriteAll(fd_, p.data(), head, off)) return e;
  off += static_cast<off_t>(head);
  int e = PwriteAll(dfd_, p.data() + head, mid, off);
  if (e == EINVAL) {  // the filesystem refuses direct I/O after all
    close(dfd_);
    dfd_ = -1;
    e = PwriteAll(fd_, p.data() + head, mid, off);
  }
  if (e) return e;
  off += static_cast<off_t>(mid);
  return PwriteAll(fd_, p.data() + head + mid, p.size() - head - mid, off);
}

Status FileSink::Write(std::string_view data) {
  return Write(std::vector<std::string_view>{data});
}

Status FileSink::Write(const std::vector<std::string_view>& pieces) {
  if (error_) return tl::unexpected(*error_);
  auto fail = [this](Error e) -> Status {
    error_ = e;
    return tl::unexpected(std::move(e));
  };
  size_t total = 0;
  for (auto p : pieces) total += p.size();
  if (total == 0) return Ok();
  if (auto st = Open(); !st) return fail(st.error());
  auto free_bytes = storage::FreeBytes(o_.free_space_path);
  if (!free_bytes) return fail(free_bytes.error());
  if (*free_bytes - static_cast<int64_t>(total) < o_.min_free_bytes) {
    return fail(Error{ErrorCode::kNoSpace, "free space below the floor"});
  }
  // Keep only whole writes: the partial tail would not be in the checksum.
  auto write_failed = [&](int err) {
    if (ftruncate(fd_, static_cast<off_t>(pos_)) != 0) {
      LOG_WARN("upload", "truncate {} after a failed write: {}", o_.path,
               errno);
    }
    if (err == ENOSPC || err == EDQUOT) {
      return fail(Error{ErrorCode::kNoSpace, "disk full"});
    }
    return fail(ErrnoError(err, "write " + o_.path).value());
  };
  size_t done = 0;
  std::vector<iovec> iov;
  // One piece whose memory is page-aligned like its file offset (the blocks
  // of a request read by TusHandler itself): O_DIRECT for its whole pages.
  constexpr size_t kPage = 4096;
  if (dfd_ >= 0 && pieces.size() == 1 && total >= 2 * kPage &&
      reinterpret_cast<uintptr_t>(pieces[0].data()) % kPage ==
          static_cast<uint64_t>(pos_) % kPage) {
    if (int err = WriteAligned(pieces[0], static_cast<off_t>(pos_))) {
      return write_failed(err);
    }
    done = total;
  }
  while (done < total) {
    iov.clear();
    size_t skip = done;
    for (auto p : pieces) {
      if (skip >= p.size()) {
        skip -= p.size();
        continue;
      }
      iov.push_back({const_cast<char*>(p.data()) + skip, p.size() - skip});
      skip = 0;
      if (iov.size() == IOV_MAX) break;
    }
    ssize_t n = pwritev(fd_, iov.data(), static_cast<int>(iov.size()),
                        static_cast<off_t>(pos_) + static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return write_failed(errno);
    }
    done += static_cast<size_t>(n);
  }
  if (sum_) {
    for (auto p : pieces) {
      g_checksum_update(sum_, reinterpret_cast<const guchar*>(p.data()),
                        static_cast<gssize>(p.size()));
    }
  }
  // Start writeback of this piece now, so the fdatasync before the 204 only
  // waits for the tail instead of the whole request body.
  sync_file_range(fd_, static_cast<off_t>(pos_), static_cast<off_t>(total),
                  SYNC_FILE_RANGE_WRITE);
  pos_ += static_cast<int64_t>(total);
  // A request with a checksum may still be discarded, so it never checkpoints.
  if (!sum_ && o_.checkpoint_bytes > 0 &&
      pos_ - synced_ >= o_.checkpoint_bytes) {
    if (int err = Sync())
      return fail(ErrnoError(err, "fdatasync " + o_.path).value());
    synced_ = flushed_ = pos_;
    if (o_.on_checkpoint) o_.on_checkpoint(pos_);
  } else if (pos_ - flushed_ >= kEarlyFlushBytes) {
    StartEarlyFlush();
  }
  return Ok();
}

int FileSink::Sync() {
  if (int err = WaitEarlyFlush()) return err;
  return fdatasync(fd_) == 0 ? 0 : errno;
}

int FileSink::WaitEarlyFlush() {
  std::unique_lock<std::mutex> lock(early_->mutex);
  early_->cv.wait(lock, [this] { return !early_->running; });
  return early_->error;
}

void FileSink::StartEarlyFlush() {
  {
    std::lock_guard<std::mutex> lock(early_->mutex);
    if (early_->running) return;  // one at a time; the next write retries
    early_->running = true;
  }
  int dup_fd = dup(fd_);
  if (dup_fd < 0) {
    std::lock_guard<std::mutex> lock(early_->mutex);
    early_->running = false;
    return;
  }
  flushed_ = pos_;
  Flusher().Post([state = early_, dup_fd] {
    int err = fdatasync(dup_fd) == 0 ? 0 : errno;
    close(dup_fd);
    {
      std::lock_guard<std::mutex> lock(state->mutex);
      if (err && !state->error) state->error = err;
      state->running = false;
    }
    state->cv.notify_all();
  });
}

FileSink::Outcome FileSink::Finish(bool discard) {
  Outcome out;
  out.error = error_;
  if (fd_ < 0 && pos_ == o_.start_offset) {
    out.durable_offset = pos_;
    return out;
  }
  if (auto st = Open(); !st) {
    out.error = st.error();
    out.durable_offset = o_.start_offset;
    return out;
  }
  bool truncate_back = discard && sum_;
  if (sum_ && !truncate_back) {
    std::string digest(DigestSize(o_.checksum->algo), '\0');
    gsize len = digest.size();
    g_checksum_get_digest(sum_, reinterpret_cast<guint8*>(digest.data()), &len);
    if (digest != o_.checksum->digest) {
      truncate_back = true;
      out.checksum_mismatch = true;
    }
  }
  if (truncate_back && pos_ != o_.start_offset) {
    if (ftruncate(fd_, static_cast<off_t>(o_.start_offset)) != 0) {
      out.error = ErrnoError(errno, "truncate " + o_.path).value();
    }
    pos_ = o_.start_offset;
  }
  if (int err = Sync()) {
    out.error = ErrnoError(err, "fdatasync " + o_.path).value();
    out.durable_offset = synced_;
  } else {
    synced_ = pos_;
    out.durable_offset = pos_;
  }
  close(fd_);
  fd_ = -1;
  if (dfd_ >= 0) close(dfd_);
  dfd_ = -1;
  return out;
}

}  // namespace vodd::upload
