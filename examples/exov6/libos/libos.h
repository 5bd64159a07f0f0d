/* libos: the user-level OS personality over ExoV6's system calls. */
#ifndef EXOV6_LIBOS_H
#define EXOV6_LIBOS_H
#include <stddef.h>
#include <stdint.h>

extern _Thread_local int errno;

long sys_call(long num, long a0, long a1);
int getpid(void);
long write_console(const char *s, size_t n);
void exit_process(int code) __attribute__((noreturn));
int user_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#endif
