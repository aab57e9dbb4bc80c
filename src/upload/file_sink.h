// One PATCH's writes into uploads/<id>. Used only on the I/O thread: it
// appends at the durable offset, keeps the running checksum, enforces the
// free-space floor before every write, checkpoints (fdatasync + a catalog
// commit) every checkpoint_bytes, flushes early in the background every few
// MiB in between (so the final fdatasync is short), and on Finish makes the
// bytes durable or, on a checksum mismatch, truncates back to where the
// request started.
#pragma once

#include <glib.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vodd/core/result.h"
#include "vodd/upload/tus.h"

namespace vodd::upload {

class FileSink {
 public:
  struct Options {
    std::string path;
    std::string free_space_path;  // statvfs target (the uploads folder)
    int64_t start_offset = 0;
    int64_t min_free_bytes = 0;
    int64_t checkpoint_bytes = 0;  // 0: none
    std::optional<Checksum> checksum;
    // Called on the I/O thread after a checkpoint fdatasync with the new
    // durable offset; the owner commits it to the catalog.
    std::function<void(int64_t)> on_checkpoint;
  };
  explicit FileSink(Options o);
  ~FileSink();
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  // Appends. Errors: kNoSpace (floor or ENOSPC; nothing partial is kept),
  // kIo. After an error every later Write fails the same way.
  Status Write(std::string_view data);
  // As Write, for several pieces written with one pwritev.
  Status Write(const std::vector<std::string_view>& pieces);

  struct Outcome {
    int64_t durable_offset = 0;  // fdatasync'ed end of the file
    bool checksum_mismatch = false;
    std::optional<Error> error;  // first write/sync error
  };
  // Makes the written bytes durable. `discard` (aborted or failed request
  // with a checksum) or a digest mismatch truncates back to start_offset.
  Outcome Finish(bool discard);

 private:
  Status Open();
  // Head and tail through fd_, whole pages through dfd_; returns an errno.
  int WriteAligned(std::string_view piece, off_t off);
  // fdatasync of what is written so far, on the flusher thread.
  void StartEarlyFlush();
  // Waits for a running early flush; returns the errno any of them met.
  int WaitEarlyFlush();
  // Makes everything written durable: the early flushes' error, or
  // fdatasync's; 0 when both succeeded.
  int Sync();
  struct EarlyFlush;
  Options o_;
  int fd_ = -1;
  int dfd_ = -1;  // O_DIRECT, or -1 where the filesystem has no direct I/O
  int64_t pos_ = 0;
  int64_t synced_ = 0;
  int64_t flushed_ = 0;  // end of the bytes the last early flush covers
  std::shared_ptr<EarlyFlush> early_;
  GChecksum* sum_ = nullptr;
  std::optional<Error> error_;
};

}  // namespace vodd::upload
