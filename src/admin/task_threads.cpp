#include "task_threads.h"

#include "vodd/catalog/writer.h"
#include "vodd/core/log.h"

namespace vodd::admin {

TaskThreads::TaskThreads(std::string name, int threads, size_t max_queue,
                         std::string catalog_path)
    : name_(std::move(name)),
      threads_(threads),
      max_queue_(max_queue),
      catalog_path_(std::move(catalog_path)) {}

TaskThreads::~TaskThreads() { Stop(); }

void TaskThreads::Start() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = false;
  }
  for (int i = 0; i < threads_; ++i) {
    workers_.emplace_back([this] { Loop(); });
  }
}

void TaskThreads::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
}

bool TaskThreads::Post(std::function<void(catalog::Db*)> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || queue_.size() >= max_queue_) return false;
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
  return true;
}

void TaskThreads::Loop() {
  std::unique_ptr<catalog::Db> db;
  if (!catalog_path_.empty()) {
    auto r = catalog::OpenReader(catalog_path_);
    if (r) {
      db = std::move(*r);
    } else {
      LOG_ERROR("admin", "{}: cannot open the catalog: {}", name_,
                r.error().message);
    }
  }
  while (true) {
    std::function<void(catalog::Db*)> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task(db.get());
  }
}

}  // namespace vodd::admin
