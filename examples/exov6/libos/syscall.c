// System call stubs: `syscall` with the number in %rax and arguments in %rdi, %rsi.
#include "libos.h"
#include "syscall.h"

long sys_call(long num, long a0, long a1) {
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(num), "D"(a0), "S"(a1) : "rcx", "r11", "memory");
  if (ret < 0) {
    errno = (int)-ret;
    return -1;
  }
  return ret;
}

int getpid(void) { return (int)sys_call(SYS_getpid, 0, 0); }
long write_console(const char *s, size_t n) { return sys_call(SYS_write, (long)s, (long)n); }

void exit_process(int code) {
  sys_call(SYS_exit, code, 0);
  for (;;)
    ;
}
