// The worker process main loop: one job, progress and result as JSON lines
// on stdout. The engine runs on its own thread; the main thread forwards
// progress and turns SIGTERM into a cancel flag (no signal handlers, no
// globals: the signals are blocked and collected with sigtimedwait).
#include "vodd/pipeline/worker.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "vodd/core/log.h"

namespace vodd::pipeline {

namespace {

bool WriteLine(int fd, const std::string& line) {
  std::string buf = line + "\n";
  size_t off = 0;
  while (off < buf.size()) {
    ssize_t n = write(fd, buf.data() + off, buf.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

std::optional<std::string> ReadLine(int fd) {
  std::string line;
  char c;
  while (true) {
    ssize_t n = read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (c == '\n') return line;
    line.push_back(c);
    if (line.size() > (1 << 20)) return std::nullopt;
  }
  if (line.empty()) return std::nullopt;
  return line;
}

}  // namespace

int RunWorker(int in_fd, int out_fd, const Engine& engine) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto line = ReadLine(in_fd);
  if (!line) {
    WriteLine(
        out_fd,
        EncodeMsg(ErrorMsg{{ErrorCode::kInvalidArgument, "no job on stdin"}}));
    return 2;
  }
  auto job = DecodeJob(*line);
  if (!job) {
    WriteLine(out_fd, EncodeMsg(ErrorMsg{job.error()}));
    return 2;
  }
  SetLogLevel(job->log_level);
  LOG_INFO("worker", "job {} (lease {}, {}): {} → {}", job->job_id,
           job->lease_token, job->kind, job->source, job->out_dir);

  std::mutex mutex;  // guards latest, fresh, result
  std::condition_variable cv;
  ProgressMsg latest;
  bool fresh = false;
  std::optional<Result<JobOutcome>> result;
  std::atomic<bool> cancel{false};

  std::thread runner([&] {
    auto r = engine(
        *job,
        [&](const ProgressMsg& p) {
          std::lock_guard<std::mutex> lock(mutex);
          latest = p;
          fresh = true;
        },
        &cancel);
    std::lock_guard<std::mutex> lock(mutex);
    result = std::move(r);
    cv.notify_all();
  });

  timespec poll_interval{0, 500'000'000};
  while (true) {
    int sig = sigtimedwait(&stop_signals, nullptr, &poll_interval);
    if (sig == SIGTERM || sig == SIGINT) {
      LOG_INFO("worker", "job {}: signal {}, cancelling", job->job_id, sig);
      cancel = true;
    }
    std::unique_lock<std::mutex> lock(mutex);
    if (fresh) {
      ProgressMsg p = latest;
      fresh = false;
      lock.unlock();
      WriteLine(out_fd, EncodeMsg(p));
      lock.lock();
    }
    if (result) break;
  }
  runner.join();
  if (!*result) {
    LOG_WARN("worker", "job {}: {}", job->job_id, result->error().message);
    WriteLine(out_fd, EncodeMsg(ErrorMsg{result->error()}));
    return 1;
  }
  if (auto* split = std::get_if<SplitPlan>(&**result)) {
    LOG_INFO("worker", "job {}: split into {} chunks", job->job_id,
             split->chunks.size());
    WriteLine(out_fd, EncodeMsg(SplitMsg{std::move(*split)}));
    return 0;
  }
  WriteLine(out_fd, EncodeMsg(ResultMsg{std::get<catalog::PublishedVersion>(
                        std::move(**result))}));
  return 0;
}

}  // namespace vodd::pipeline
