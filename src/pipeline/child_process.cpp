// fork/exec of the worker. Between fork and exec only async-signal-safe
// calls are made (the daemon is multi-threaded): prctl, setrlimit, dup2,
// close_range, sigprocmask, signal, execv.
#include "child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include <fmt/format.h>

namespace vodd::pipeline {

Result<ChildProcess> ChildProcess::Spawn(const std::vector<std::string>& argv,
                                         const Limits& limits) {
  if (argv.empty()) return MakeError(ErrorCode::kInvalidArgument, "empty argv");
  std::vector<std::string> copy = argv;
  std::vector<char*> cargv;
  for (auto& a : copy) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  int in_pipe[2], out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0) return ErrnoError(errno, "pipe");
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    int err = errno;
    close(in_pipe[0]);
    close(in_pipe[1]);
    return ErrnoError(err, "pipe");
  }
  rlimit no_core{0, 0};
  rlimit nofile{limits.max_open_files, limits.max_open_files};
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1]}) close(fd);
    return ErrnoError(err, "fork");
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent died before prctl
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    setrlimit(RLIMIT_CORE, &no_core);
    setrlimit(RLIMIT_NOFILE, &nofile);
    if (dup2(in_pipe[0], 0) < 0 || dup2(out_pipe[1], 1) < 0) _exit(127);
    close_range(3, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  return ChildProcess(pid, in_pipe[1], out_pipe[0]);
}

ChildProcess::ChildProcess(ChildProcess&& o) noexcept
    : pid_(o.pid_),
      stdin_fd_(o.stdin_fd_),
      stdout_fd_(o.stdout_fd_),
      status_(o.status_) {
  o.pid_ = -1;
  o.stdin_fd_ = o.stdout_fd_ = -1;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !status_) {
    kill(pid_, SIGKILL);
    int st = 0;
    while (waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
  }
  CloseStdin();
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

void ChildProcess::CloseStdin() {
  if (stdin_fd_ >= 0) close(stdin_fd_);
  stdin_fd_ = -1;
}

void ChildProcess::Signal(int sig) {
  if (pid_ > 0 && !status_) kill(pid_, sig);
}

std::optional<int> ChildProcess::TryWait() {
  if (status_ || pid_ <= 0) return status_;
  int st = 0;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) status_ = st;
  return status_;
}

int ChildProcess::WaitOrKill(int64_t grace_ms) {
  auto end =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  while (!TryWait()) {
    if (std::chrono::steady_clock::now() >= end) {
      Signal(SIGKILL);
      int st = 0;
      while (waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
      }
      status_ = st;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return *status_;
}

std::string SignalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : fmt::format("signal {}", sig);
}

std::string DescribeWaitStatus(int status) {
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    return fmt::format("worker killed by signal {} ({})", sig, SignalName(sig));
  }
  if (WIFEXITED(status)) {
    return fmt::format("worker exited with status {}", WEXITSTATUS(status));
  }
  return fmt::format("worker ended with wait status {}", status);
}

}  // namespace vodd::pipeline
