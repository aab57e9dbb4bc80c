#include "vodd/catalog/writer.h"

#include <chrono>

#include "vodd/catalog/schema.h"
#include "vodd/core/log.h"

namespace vodd::catalog {

Result<std::unique_ptr<Writer>> Writer::Create(const std::string& path,
                                               MetricsRegistry* metrics) {
  TRY_ASSIGN(auto db, Db::Open(path, Db::Mode::kReadWrite));
  TRY(Migrate(*db));
  return std::unique_ptr<Writer>(new Writer(path, std::move(db), metrics));
}

Writer::Writer(std::string path, std::unique_ptr<Db> db,
               MetricsRegistry* metrics)
    : path_(std::move(path)), db_(std::move(db)) {
  if (metrics) {
    commit_seconds_ = metrics->GetHistogram(
        "vodd_sqlite_commit_duration_seconds",
        "Time the catalog writer spent per transaction.",
        {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1});
    metrics->AddCallbackGauge(
        "vodd_sqlite_writer_queue_depth",
        "Transactions waiting for the catalog writer.",
        [this] { return static_cast<double>(QueueDepth()); });
  }
  thread_ = std::thread([this] { Loop(); });
}

Writer::~Writer() { Stop(); }

void Writer::Enqueue(Task t) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stopping_) {
      queue_.push_back(std::move(t));
      cv_.notify_one();
      return;
    }
  }
  t(nullptr);  // closed: report kCancelled on the caller's thread
}

size_t Writer::QueueDepth() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size();
}

void Writer::Loop() {
  using clock = std::chrono::steady_clock;
  auto last_checkpoint = clock::now();
  bool dirty = false;
  while (true) {
    Task task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait_for(lock, std::chrono::seconds(5),
                   [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        if (stopping_) break;
        // Idle: keep the WAL short.
        if (dirty &&
            clock::now() - last_checkpoint > std::chrono::seconds(30)) {
          lock.unlock();
          if (!db_->Exec("PRAGMA wal_checkpoint(TRUNCATE)")) {
            LOG_WARN("catalog", "idle checkpoint failed");
          }
          last_checkpoint = clock::now();
          dirty = false;
        }
        continue;
      }
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    auto t0 = clock::now();
    task(db_.get());
    dirty = true;
    if (commit_seconds_) {
      commit_seconds_->Observe(
          std::chrono::duration<double>(clock::now() - t0).count());
    }
  }
  if (!db_->Exec("PRAGMA wal_checkpoint(TRUNCATE)")) {
    LOG_WARN("catalog", "final checkpoint failed");
  }
  db_.reset();
}

void Writer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

Result<std::unique_ptr<Db>> OpenReader(const std::string& path) {
  return Db::Open(path, Db::Mode::kReadOnly);
}

}  // namespace vodd::catalog
