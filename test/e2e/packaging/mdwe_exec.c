// mdwe_exec [--syscalls FILE] PROGRAM ARGS...: runs PROGRAM under the seccomp
// filters systemd 252 installs for vodd.service on x86-64, so the packaging
// test can check the sandbox without systemd as PID 1:
//  * MemoryDenyWriteExecute=yes (seccomp_memory_deny_write_execute in
//    src/shared/seccomp-util.c): EPERM for mmap with PROT_WRITE|PROT_EXEC,
//    mprotect/pkey_mprotect adding PROT_EXEC, shmat with SHM_EXEC;
//  * with --syscalls, SystemCallFilter= as an allow-list: FILE holds the
//    allowed syscall numbers, one per line (the test expands the unit's
//    groups with `systemd-analyze syscall-filter`); any other syscall fails
//    with EPERM (SystemCallErrorNumber=EPERM).
// Other architectures: exits 77 (skip).
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARG2_LO (offsetof(struct seccomp_data, args) + 2 * 8)
#define LOAD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define JEQ(k, t, f) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (t), (f))
#define DENY BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM)
#define ALLOW BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

static struct sock_filter prog[4096];
static unsigned short len;

static void Emit(struct sock_filter f) {
  if (len == sizeof(prog) / sizeof(prog[0])) {
    fprintf(stderr, "mdwe_exec: filter too long\n");
    exit(2);
  }
  prog[len++] = f;
}

// Six instructions: if the syscall number (in A) is `nr`, deny when
// (arg2 & mask) == mask, else allow (`allow_rest`) or reload the number and
// fall through to the allow-list.
static void MaskRule(unsigned nr, unsigned mask, int allow_rest) {
  Emit((struct sock_filter)JEQ(nr, 0, 5));
  Emit((struct sock_filter)LOAD(ARG2_LO));
  Emit((struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K, mask));
  Emit((struct sock_filter)JEQ(mask, 0, 1));
  Emit((struct sock_filter)DENY);
  if (allow_rest) {
    Emit((struct sock_filter)ALLOW);
  } else {
    Emit((struct sock_filter)LOAD(offsetof(struct seccomp_data, nr)));
  }
}

int main(int argc, char** argv) {
#if defined(__x86_64__)
  const char* allow_file = NULL;
  int first = 1;
  if (argc > 2 && strcmp(argv[1], "--syscalls") == 0) {
    allow_file = argv[2];
    first = 3;
  }
  if (argc <= first) {
    fprintf(stderr, "usage: mdwe_exec [--syscalls FILE] PROGRAM [ARGS...]\n");
    return 2;
  }
  Emit((struct sock_filter)LOAD(offsetof(struct seccomp_data, arch)));
  Emit((struct sock_filter)JEQ(AUDIT_ARCH_X86_64, 1, 0));
  Emit((struct sock_filter)ALLOW);
  Emit((struct sock_filter)LOAD(offsetof(struct seccomp_data, nr)));
  // MemoryDenyWriteExecute: checked first; a call that passes it still has
  // to be on the allow-list.
  int allow_rest = allow_file == NULL;
  MaskRule(__NR_mmap, PROT_WRITE | PROT_EXEC, allow_rest);
  MaskRule(__NR_mprotect, PROT_EXEC, allow_rest);
  MaskRule(__NR_pkey_mprotect, PROT_EXEC, allow_rest);
  MaskRule(__NR_shmat, SHM_EXEC, allow_rest);
  if (allow_file == NULL) {
    Emit((struct sock_filter)ALLOW);
  } else {
    FILE* f = fopen(allow_file, "r");
    if (!f) {
      perror(allow_file);
      return 2;
    }
    unsigned nr;
    while (fscanf(f, "%u", &nr) == 1) {
      Emit((struct sock_filter)JEQ(nr, 0, 1));
      Emit((struct sock_filter)ALLOW);
    }
    fclose(f);
    Emit((struct sock_filter)DENY);
  }
  struct sock_fprog fprog = {len, prog};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) != 0) {
    perror("mdwe_exec: seccomp");
    return 3;
  }
  execvp(argv[first], argv + first);
  perror("mdwe_exec: exec");
  return 127;
#else
  (void)argc;
  (void)argv;
  return 77;
#endif
}
