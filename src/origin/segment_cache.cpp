#include "origin/segment_cache.h"

namespace vodd::origin {

void SegmentCache::Erase(std::list<Entry>::iterator it) {
  bytes_ -= it->file->size;
  map_.erase(it->key);
  lru_.erase(it);
}

OpenFilePtr SegmentCache::Get(const std::string& key, int64_t now_ms) {
  auto it = map_.find(key);
  if (it == map_.end()) return nullptr;
  if (now_ms - it->second->opened_ms > kMaxAgeMs) {
    Erase(it->second);
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->file;
}

void SegmentCache::Put(const std::string& key, OpenFilePtr file,
                       int64_t now_ms) {
  if (file->size > budget_ / 4) return;
  if (auto it = map_.find(key); it != map_.end()) Erase(it->second);
  while (!lru_.empty() &&
         (bytes_ + file->size > budget_ || map_.size() >= kMaxFiles)) {
    Erase(std::prev(lru_.end()));
  }
  bytes_ += file->size;
  lru_.push_front(Entry{key, std::move(file), now_ms});
  map_[key] = lru_.begin();
}

}  // namespace vodd::origin
