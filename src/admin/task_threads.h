// A small fixed pool of threads with a bounded queue, each thread optionally
// holding its own read-only catalog connection. The admin module runs its
// catalog reads and file removals on one pool and Argon2id hashing on
// another (two threads = at most two 64 MiB hashes at once).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "vodd/catalog/db.h"

namespace vodd::admin {

class TaskThreads {
 public:
  // `catalog_path` empty: tasks get a null Db.
  TaskThreads(std::string name, int threads, size_t max_queue,
              std::string catalog_path);
  ~TaskThreads();
  void Start();
  // Runs queued tasks to the end, then joins. Idempotent.
  void Stop();
  // Queues `task`; false when the queue is full or stopped. Any thread.
  bool Post(std::function<void(catalog::Db*)> task);

 private:
  void Loop();
  const std::string name_;
  const int threads_;
  const size_t max_queue_;
  const std::string catalog_path_;
  std::mutex mutex_;  // guards queue_, stopping_
  std::condition_variable cv_;
  std::deque<std::function<void(catalog::Db*)>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace vodd::admin
