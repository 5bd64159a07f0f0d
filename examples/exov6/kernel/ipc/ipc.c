// IPC endpoints: a single-producer single-consumer ring with C11 atomics (release on publish,
// acquire on consume); a receiver with nothing to read sleeps on the endpoint.
#include <stdatomic.h>
#include "defs.h"
#include "proc.h"

#define RING 4
_Static_assert((RING & (RING - 1)) == 0, "ring size is a power of two");

struct endpoint {
  _Atomic uint32_t head, tail;
  uint64_t msg[RING];
};

static struct endpoint ep;
static uint64_t received_sum;
static int received;

static bool ipc_send(struct endpoint *e, uint64_t m) {
  uint32_t t = atomic_load_explicit(&e->tail, memory_order_relaxed);
  if (t - atomic_load_explicit(&e->head, memory_order_acquire) == RING) return false;
  e->msg[t % RING] = m;
  atomic_store_explicit(&e->tail, t + 1, memory_order_release);
  wakeup(e);
  return true;
}

static bool ipc_recv(struct endpoint *e, uint64_t *m) {
  uint32_t h = atomic_load_explicit(&e->head, memory_order_relaxed);
  if (h == atomic_load_explicit(&e->tail, memory_order_acquire)) return false;
  *m = e->msg[h % RING];
  atomic_store_explicit(&e->head, h + 1, memory_order_release);
  return true;
}

static void producer(void) {
  for (uint64_t i = 1; i <= 10; i++) {
    while (!ipc_send(&ep, i)) yield();
  }
}

static void consumer(void) {
  while (received < 10) {
    uint64_t m;
    if (ipc_recv(&ep, &m)) {
      received_sum += m;
      received++;
    } else {
      ksleep(&ep);
    }
  }
}

int ipc_selftest(void) {
  if (!allocproc("consumer", consumer) || !allocproc("producer", producer)) return -1;
  int switches = scheduler_run();
  cprintf("sched: ok (%d context switches between 2 kernel threads)\n", switches);
  return received == 10 && received_sum == 55 ? 0 : -1;
}
