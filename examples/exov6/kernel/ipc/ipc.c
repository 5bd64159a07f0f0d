// IPC endpoints: a single-producer single-consumer ring with C11 atomics (release on publish,
// acquire on consume); a receiver with nothing to read sleeps on the endpoint.
#include <stdatomic.h>
#include "defs.h"
#include "proc.h"
#include "x86.h"

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

// Performance figures in TSC cycles (the seed's targets: IPC < 500, context switch < 1,000 on
// hardware). IPC: one message sent and received through an endpoint (the non-blocking path).
// Context switch: one hand-off between two kernel threads through yield() and the scheduler.
#define BENCH_ROUNDS 1000

static struct endpoint bench_ep;
static int bench_yields;

static void yielder(void) {
  for (int i = 0; i < BENCH_ROUNDS; i++) {
    bench_yields++;
    yield();
  }
}

void ipc_bench(void) {
  uint64_t m = 0, sum = 0;
  uint64_t t0 = rdtsc();
  for (uint64_t i = 0; i < BENCH_ROUNDS; i++) {
    ipc_send(&bench_ep, i);
    ipc_recv(&bench_ep, &m);
    sum += m;
  }
  uint64_t ipc = (rdtsc() - t0) / BENCH_ROUNDS;
  if (!allocproc("yield-a", yielder) || !allocproc("yield-b", yielder)) return;
  t0 = rdtsc();
  int switches = scheduler_run();
  uint64_t ctx = (rdtsc() - t0) / (uint64_t)(switches > 0 ? switches : 1);
  cprintf("perf: ipc: %lu cycles per message (%d messages, checksum %lu)\n", (unsigned long)ipc, BENCH_ROUNDS, (unsigned long)sum);
  cprintf("perf: context switch: %lu cycles (%d switches between 2 kernel threads)\n", (unsigned long)ctx, switches);
}
