/* System call numbers shared by the kernel and libos. */
#ifndef EXOV6_SYSCALL_H
#define EXOV6_SYSCALL_H
#define SYS_getpid   1
#define SYS_write    2
#define SYS_uptime   3
#define SYS_cap_check 4
#define SYS_exit     5
#define NSYSCALL     6
#endif
