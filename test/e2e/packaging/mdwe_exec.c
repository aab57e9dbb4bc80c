// mdwe_exec PROGRAM ARGS...: runs PROGRAM under the seccomp filter systemd
// 252 installs for MemoryDenyWriteExecute=yes on x86-64
// (seccomp_memory_deny_write_execute in src/shared/seccomp-util.c): EPERM for
// mmap with PROT_WRITE|PROT_EXEC, mprotect/pkey_mprotect adding PROT_EXEC,
// and shmat with SHM_EXEC. Lets the packaging test check, without systemd as
// PID 1, that the daemon and an ORC-using GStreamer pipeline run with the
// unit's environment. Other architectures: exits 77 (skip).
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARG2_LO (offsetof(struct seccomp_data, args) + 2 * 8)
#define LOAD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define DENY BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM)
#define ALLOW BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

int main(int argc, char** argv) {
#if defined(__x86_64__)
  struct sock_filter filter[] = {
      LOAD(offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      ALLOW,
      LOAD(offsetof(struct seccomp_data, nr)),
      /* mmap: deny PROT_WRITE|PROT_EXEC together */
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mmap, 0, 5),
      LOAD(ARG2_LO),
      BPF_STMT(BPF_ALU | BPF_AND | BPF_K, PROT_WRITE | PROT_EXEC),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PROT_WRITE | PROT_EXEC, 0, 1),
      DENY,
      ALLOW,
      /* mprotect, pkey_mprotect: deny PROT_EXEC */
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mprotect, 1, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_pkey_mprotect, 0, 5),
      LOAD(ARG2_LO),
      BPF_STMT(BPF_ALU | BPF_AND | BPF_K, PROT_EXEC),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PROT_EXEC, 0, 1),
      DENY,
      ALLOW,
      /* shmat: deny SHM_EXEC */
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_shmat, 0, 5),
      LOAD(ARG2_LO),
      BPF_STMT(BPF_ALU | BPF_AND | BPF_K, SHM_EXEC),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SHM_EXEC, 0, 1),
      DENY,
      ALLOW,
      ALLOW,
  };
  struct sock_fprog prog = {sizeof(filter) / sizeof(filter[0]), filter};
  if (argc < 2) {
    fprintf(stderr, "usage: mdwe_exec PROGRAM [ARGS...]\n");
    return 2;
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
    perror("mdwe_exec: seccomp");
    return 3;
  }
  execvp(argv[1], argv + 1);
  perror("mdwe_exec: exec");
  return 127;
#else
  (void)argc;
  (void)argv;
  return 77;
#endif
}
