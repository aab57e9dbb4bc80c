#include "origin/segment_cache.h"

namespace vodd::origin {

glib::BytesPtr SegmentCache::Get(const std::string& key) {
  auto it = map_.find(key);
  if (it == map_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return glib::BytesPtr(g_bytes_ref(it->second->bytes.get()));
}

void SegmentCache::Put(const std::string& key, GBytes* bytes) {
  auto size = static_cast<int64_t>(g_bytes_get_size(bytes));
  if (size > budget_ / 4) return;
  if (auto it = map_.find(key); it != map_.end()) {
    bytes_ -= static_cast<int64_t>(g_bytes_get_size(it->second->bytes.get()));
    lru_.erase(it->second);
    map_.erase(it);
  }
  while (!lru_.empty() && bytes_ + size > budget_) {
    bytes_ -= static_cast<int64_t>(g_bytes_get_size(lru_.back().bytes.get()));
    map_.erase(lru_.back().key);
    lru_.pop_back();
  }
  lru_.push_front(Entry{key, glib::BytesPtr(g_bytes_ref(bytes))});
  map_[key] = lru_.begin();
  bytes_ += size;
}

}  // namespace vodd::origin
