// The hot-object LRU: file bytes (segments, init segments, images) keyed by
// their path under the media root, bounded by a byte budget. HTTP thread
// only; no lock. Values are refcounted GBytes, so a response body shares the
// cached bytes without copying.
#pragma once

#include <glib.h>

#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>

#include "vodd/glib/ptr.h"

namespace vodd::origin {

class SegmentCache {
 public:
  explicit SegmentCache(int64_t budget_bytes) : budget_(budget_bytes) {}
  // A new reference to the cached bytes, or null. Marks the entry recent.
  glib::BytesPtr Get(const std::string& key);
  // Inserts (or replaces) `key`, evicting least recently used entries until
  // the total fits. Objects above a quarter of the budget are not kept.
  void Put(const std::string& key, GBytes* bytes);
  int64_t bytes() const { return bytes_; }
  size_t size() const { return map_.size(); }

 private:
  struct Entry {
    std::string key;
    glib::BytesPtr bytes;
  };
  const int64_t budget_;
  int64_t bytes_ = 0;
  std::list<Entry> lru_;  // front = most recent
  std::unordered_map<std::string, std::list<Entry>::iterator> map_;
};

}  // namespace vodd::origin
