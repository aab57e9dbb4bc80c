// The hot-object cache: open file descriptors of published files (segments,
// init segments, images) keyed by their path under the media root, so the
// lane can sendfile(2) them without an open per request. Bounded by a count
// and by the total size of the files held open (origin.cache_mib), and each
// entry lives at most kMaxAgeMs so a file removed from disk is not kept
// alive for long. Not thread-safe: the origin guards it with its mutex.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>

namespace vodd::origin {

// An open, size-checked regular file; closes the fd when the last
// reference (cache entry or response in flight) goes.
struct OpenFile {
  int fd = -1;
  int64_t size = 0;
  OpenFile(int f, int64_t s) : fd(f), size(s) {}
  ~OpenFile() {
    if (fd >= 0) close(fd);
  }
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;
};
using OpenFilePtr = std::shared_ptr<const OpenFile>;

class SegmentCache {
 public:
  static constexpr size_t kMaxFiles = 1024;
  static constexpr int64_t kMaxAgeMs = 60000;
  explicit SegmentCache(int64_t budget_bytes) : budget_(budget_bytes) {}
  // The cached file, or null (absent or older than kMaxAgeMs). Marks the
  // entry recent.
  OpenFilePtr Get(const std::string& key, int64_t now_ms);
  // Inserts (or replaces) `key`, evicting least recently used entries until
  // count and bytes fit. Files above a quarter of the budget are not kept.
  void Put(const std::string& key, OpenFilePtr file, int64_t now_ms);
  int64_t bytes() const { return bytes_; }
  size_t size() const { return map_.size(); }

 private:
  struct Entry {
    std::string key;
    OpenFilePtr file;
    int64_t opened_ms = 0;
  };
  void Erase(std::list<Entry>::iterator it);
  const int64_t budget_;
  int64_t bytes_ = 0;
  std::list<Entry> lru_;  // front = most recent
  std::unordered_map<std::string, std::list<Entry>::iterator> map_;
};

}  // namespace vodd::origin
