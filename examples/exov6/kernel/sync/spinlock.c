// Spinlocks over C11 atomic_flag: test-and-set with acquire/release ordering, interrupts
// disabled while any lock is held (pushcli/popcli nest, as in xv6).
#include <stdatomic.h>
#include "defs.h"
#include "spinlock.h"
#include "x86.h"

static int ncli;
static bool intena;

void initlock(struct spinlock *lk, const char *name) {
  atomic_flag_clear_explicit(&lk->locked, memory_order_relaxed);
  lk->name = name;
  lk->cpu = -1;
  lk->acquisitions = 0;
}

void pushcli(void) {
  bool enabled = (readeflags() & FL_IF) != 0;
  cli();
  if (ncli++ == 0) intena = enabled;
}

void popcli(void) {
  if (readeflags() & FL_IF) panic("popcli: interruptible");
  if (--ncli < 0) panic("popcli: unbalanced");
  if (ncli == 0 && intena) sti();
}

bool holding(struct spinlock *lk) {
  pushcli();
  bool r = lk->cpu == 0;
  popcli();
  return r;
}

void acquire(struct spinlock *lk) {
  pushcli();
  if (lk->cpu == 0) panic("acquire: already holding");
  while (atomic_flag_test_and_set_explicit(&lk->locked, memory_order_acquire))
    __builtin_ia32_pause();
  lk->cpu = 0;
  lk->acquisitions++;
}

void release(struct spinlock *lk) {
  if (lk->cpu != 0) panic("release: not holding");
  lk->cpu = -1;
  atomic_flag_clear_explicit(&lk->locked, memory_order_release);
  popcli();
}
