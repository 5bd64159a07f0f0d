/* ExoV6 kernel function prototypes (xv6 style: one header for the kernel's cross-file API). */
#ifndef EXOV6_DEFS_H
#define EXOV6_DEFS_H
#include "types.h"

struct buf;
struct proc;
struct spinlock;

/* drivers/uart.c */
void uartinit(void);
void uartputc(int c);
/* drivers/console.c */
void consoleinit(void);
void cprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void panic(const char *msg);
/* drivers/ramdisk.c */
void ramdiskinit(void);
void ramdiskrw(struct buf *b, bool write);
uint32_t ramdisk_nblocks(void);
/* drivers/ioapic.c */
int ioapicinit(void);
/* drivers/qemu_exit.c */
_Noreturn void qemu_exit(int code);
/* mem/kalloc.c */
void kinit(void *vstart, void *vend);
void *kalloc(void);
void kfree(void *page);
size_t kfree_count(void);
/* fs/bio.c */
void binit(void);
struct buf *bread(uint32_t dev, uint32_t blockno);
void bwrite(struct buf *b);
void brelse(struct buf *b);
/* fs/log.c */
void loginit(uint32_t dev, uint32_t start, uint32_t size);
void begin_op(void);
void end_op(void);
void log_write(struct buf *b);
/* core/proc.c */
void procinit(void);
struct proc *myproc(void);
struct proc *allocproc(const char *name, void (*fn)(void));
void yield(void);
void ksleep(void *chan);
void wakeup(void *chan);
/* sched/sched.c */
int scheduler_run(void);
void ipc_bench(void);
/* sys/syscall.c */
long syscall_dispatch(long num, long a0, long a1);
/* time/time.c */
void timeinit(void);
uint64_t ticks_now(void);
/* ipc/ipc.c */
int ipc_selftest(void);
/* capability/cap.c */
void capinit(void);
/* lib */
void *memset(void *dst, int c, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);
void safestrcpy(char *dst, const char *src, size_t n);
#endif
