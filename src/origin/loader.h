// The origin's loader threads: a small pool that runs catalog reads,
// manifest rendering and file reads off the HTTP thread. Each thread owns a
// read-only catalog connection, opened on first use. Tasks post their
// results back to the HTTP thread themselves (glib::Post).
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

namespace vodd::origin {

class Loader {
 public:
  // A task gets the thread's catalog connection, or null when it could not
  // be opened (the task reports that as its own error).
  using Task = std::function<void(catalog::Db* db)>;

  Loader(std::string catalog_path, int threads);
  ~Loader();
  void Start();
  // Drops queued tasks and joins the threads. Idempotent.
  void Stop();
  // Any thread. False after Stop or when the queue is full (the caller
  // answers 503).
  bool Post(Task t);

 private:
  void Run();
  const std::string catalog_path_;
  const int threads_;
  std::mutex mutex_;  // guards queue_, stopping_
  std::condition_variable cv_;
  std::deque<Task> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace vodd::origin
