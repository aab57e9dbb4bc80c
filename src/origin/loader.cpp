#include "origin/loader.h"

#include "vodd/catalog/writer.h"
#include "vodd/core/log.h"

namespace vodd::origin {
namespace {
// Bounded so a flood of cold requests turns into 503s, not unbounded memory.
constexpr size_t kMaxQueued = 4096;
}  // namespace

Loader::Loader(std::string catalog_path, int threads)
    : catalog_path_(std::move(catalog_path)),
      threads_(threads < 1 ? 1 : threads) {}

Loader::~Loader() { Stop(); }

void Loader::Start() {
  std::lock_guard lock(mutex_);
  if (!workers_.empty() || stopping_) return;
  for (int i = 0; i < threads_; ++i) workers_.emplace_back([this] { Run(); });
}

void Loader::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
}

bool Loader::Post(Task t) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= kMaxQueued) return false;
    queue_.push_back(std::move(t));
  }
  cv_.notify_one();
  return true;
}

void Loader::Run() {
  std::unique_ptr<catalog::Db> db;
  while (true) {
    Task task;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    if (!db) {
      auto opened = catalog::OpenReader(catalog_path_);
      if (opened) {
        db = std::move(*opened);
      } else {
        LOG_ERROR("origin", "catalog reader: {}", opened.error().message);
      }
    }
    task(db.get());
  }
}

}  // namespace vodd::origin
