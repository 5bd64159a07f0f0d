// System call dispatch: a table indexed by the numbers of include/syscall.h.
#include "cap.h"
#include "defs.h"
#include "proc.h"
#include "syscall.h"

static long sys_getpid(long a0, long a1) {
  (void)a0, (void)a1;
  struct proc *p = myproc();
  return p ? p->pid : 0;
}

static long sys_write(long a0, long a1) {
  const char *s = (const char *)a0;
  for (long i = 0; i < a1; i++) cprintf("%c", s[i]);
  return a1;
}

static long sys_uptime(long a0, long a1) {
  (void)a0, (void)a1;
  return (long)ticks_now();
}

static long sys_cap_check(long a0, long a1) {
  return cap_check((cap_id_t)a0, EXO_RES_PAGE, (uint32_t)a1);
}

static long (*const syscalls[NSYSCALL])(long, long) = {
  [SYS_getpid] = sys_getpid,
  [SYS_write] = sys_write,
  [SYS_uptime] = sys_uptime,
  [SYS_cap_check] = sys_cap_check,
};

long syscall_dispatch(long num, long a0, long a1) {
  if (num <= 0 || num >= NSYSCALL || !syscalls[num]) return -38;  // -ENOSYS
  return syscalls[num](a0, a1);
}
