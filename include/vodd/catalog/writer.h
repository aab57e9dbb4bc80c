// The single writer: one thread owns the daemon's only read-write SQLite
// connection, and every mutation is a closure posted to it. Each closure runs
// inside its own BEGIN IMMEDIATE … COMMIT; an error result rolls it back.
// Completion callbacks run on the writer thread after COMMIT (or ROLLBACK);
// the HTTP thread hands them back to its main context with glib::Post.
//
// Readers open their own read-only connections (OpenReader) on their own
// threads; WAL lets them read while the writer commits.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "vodd/catalog/db.h"
#include "vodd/core/metrics.h"
#include "vodd/core/result.h"

namespace vodd::catalog {

class Writer {
 public:
  // Opens `path` read-write, migrates it (refusing a newer schema) and starts
  // the writer thread. `metrics` may be null.
  static Result<std::unique_ptr<Writer>> Create(const std::string& path,
                                                MetricsRegistry* metrics);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Queues `fn`; runs it in a transaction on the writer thread; then calls
  // `done` (may be empty) with its result, on the writer thread. Any thread.
  // After Stop(), `done` gets kCancelled at once.
  template <typename T>
  void Post(std::function<Result<T>(Db&)> fn,
            std::function<void(Result<T>)> done = {}) {
    Enqueue([fn = std::move(fn), done = std::move(done)](Db* db) mutable {
      Result<T> r =
          db ? RunInTxn<T>(*db, fn)
             : Result<T>(MakeError(ErrorCode::kCancelled, "catalog closed"));
      if (done) done(std::move(r));
    });
  }

  // As Post, returning a future. Never wait on it from the HTTP thread.
  template <typename T>
  std::future<Result<T>> Submit(std::function<Result<T>(Db&)> fn) {
    auto p = std::make_shared<std::promise<Result<T>>>();
    auto f = p->get_future();
    Post<T>(std::move(fn), [p](Result<T> r) { p->set_value(std::move(r)); });
    return f;
  }

  // Blocking Submit(...).get(), for CLI commands, tests and worker threads.
  template <typename T>
  Result<T> Call(std::function<Result<T>(Db&)> fn) {
    return Submit<T>(std::move(fn)).get();
  }

  // Finishes queued work, checkpoints the WAL, closes the connection.
  // Idempotent.
  void Stop();
  size_t QueueDepth() const;
  const std::string& path() const { return path_; }

 private:
  Writer(std::string path, std::unique_ptr<Db> db, MetricsRegistry* metrics);
  using Task = std::function<void(Db*)>;
  void Enqueue(Task t);
  void Loop();

  template <typename T>
  static Result<T> RunInTxn(Db& db, std::function<Result<T>(Db&)>& fn) {
    auto txn = Txn::Begin(db);
    if (!txn) return tl::unexpected(txn.error());
    Result<T> r = fn(db);
    if (!r) return r;  // ~Txn rolls back
    auto c = txn->Commit();
    if (!c) return tl::unexpected(c.error());
    return r;
  }

  const std::string path_;
  std::unique_ptr<Db> db_;  // writer thread only, after Create
  Histogram* commit_seconds_ = nullptr;
  mutable std::mutex mutex_;  // guards queue_, stopping_
  std::condition_variable cv_;
  std::deque<Task> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

// A read-only connection for the calling thread.
Result<std::unique_ptr<Db>> OpenReader(const std::string& path);

}  // namespace vodd::catalog
