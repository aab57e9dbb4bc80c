// A worker child process: fork/exec with pipes for stdin and stdout, the
// parent-death signal and resource limits set between fork and exec.
// Private to the pipeline module.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "vodd/core/result.h"

namespace vodd::pipeline {

class ChildProcess {
 public:
  struct Limits {
    uint64_t max_open_files = 1024;
    // RLIMIT_CORE is always 0: a crashing demuxer leaves no core with media
    // data behind.
  };
  // Starts argv[0] with `argv`. The child's stdin and stdout are pipes
  // (stdin_fd()/stdout_fd() here, both O_CLOEXEC so other children never
  // inherit them); stderr is shared with the daemon (its log). The child gets
  // SIGKILL when the calling *thread* exits (PR_SET_PDEATHSIG), so call this
  // from a thread that outlives the child. Errors: kIo.
  static Result<ChildProcess> Spawn(const std::vector<std::string>& argv,
                                    const Limits& limits);
  ChildProcess(ChildProcess&& o) noexcept;
  ChildProcess& operator=(ChildProcess&&) = delete;
  // Kills (SIGKILL) and reaps a child that is still running; closes the pipes.
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  int stdin_fd() const { return stdin_fd_; }
  int stdout_fd() const { return stdout_fd_; }
  void CloseStdin();
  void Signal(int sig);
  // The wait status if the child has exited (reaps it), else nullopt.
  std::optional<int> TryWait();
  // Waits up to `grace_ms`, then SIGKILLs and waits. Returns the wait status.
  int WaitOrKill(int64_t grace_ms);

 private:
  ChildProcess(pid_t pid, int in, int out)
      : pid_(pid), stdin_fd_(in), stdout_fd_(out) {}
  pid_t pid_ = -1;
  int stdin_fd_ = -1, stdout_fd_ = -1;
  std::optional<int> status_;
};

// "worker killed by signal 11 (SIGSEGV)", "worker exited with status 3".
std::string DescribeWaitStatus(int status);
// "SIGSEGV" for 11.
std::string SignalName(int sig);

}  // namespace vodd::pipeline
