/* Spinlocks: C11 atomics, interrupts off while held (pushcli/popcli nesting per CPU). */
#ifndef EXOV6_SPINLOCK_H
#define EXOV6_SPINLOCK_H
#include <stdatomic.h>
#include "types.h"

struct spinlock {
  atomic_flag locked;
  const char *name;
  int cpu;        /* holder, -1 when free */
  uint64_t acquisitions;
};

#define SPINLOCK_INIT(n) { ATOMIC_FLAG_INIT, (n), -1, 0 }

void initlock(struct spinlock *lk, const char *name);
void acquire(struct spinlock *lk);
void release(struct spinlock *lk);
bool holding(struct spinlock *lk);
void pushcli(void);
void popcli(void);
#endif
