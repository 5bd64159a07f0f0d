// ExoV6 kernel main: bring up each subsystem and run its self-test, one line each, then exit
// QEMU through isa-debug-exit (success) — or panic (failure exit).
#include "buf.h"
#include "cap.h"
#include "defs.h"
#include "exokernel.h"
#include "fs.h"
#include "ioapic.h"
#include "memlayout.h"
#include "proc.h"
#include "spinlock.h"
#include "syscall.h"

extern char end[];  // first address after the kernel (kernel.ld)

#define CHECK(cond, what) \
  do {                    \
    if (!(cond)) panic(what); \
  } while (0)

static void test_sync(void) {
  struct spinlock lk;
  initlock(&lk, "test");
  acquire(&lk);
  CHECK(holding(&lk), "sync: not holding after acquire");
  release(&lk);
  CHECK(!holding(&lk), "sync: holding after release");
  acquire(&lk);
  release(&lk);
  cprintf("sync: ok (spinlock acquire/release, %lu acquisitions)\n", (unsigned long)lk.acquisitions);
}

static void test_mem(void) {
  size_t before = kfree_count();
  void *a = kalloc(), *b = kalloc(), *c = kalloc();
  CHECK(a && b && c && a != b && b != c, "mem: kalloc failed");
  CHECK(((uintptr_t)a % PGSIZE) == 0, "mem: unaligned page");
  memset(a, 0xAB, PGSIZE);
  kfree(c);
  CHECK(kalloc() == c, "mem: free list is not LIFO");
  kfree(a), kfree(b), kfree(c);
  CHECK(kfree_count() == before, "mem: pages lost");
  cprintf("mem: ok (kalloc/kfree, %lu free pages)\n", (unsigned long)before);
}

static void test_fs(void) {
  const uint32_t dev = 1, home = 40;
  loginit(dev, 2, 1 + LOGSIZE);
  begin_op();
  struct buf *b = bread(dev, home);
  memmove(b->data, "exov6 block", 12);
  log_write(b);
  brelse(b);
  end_op();
  struct buf *r = bread(dev, home);
  CHECK(memcmp(r->data, "exov6 block", 12) == 0, "fs: block lost");
  bwrite(r);
  brelse(r);
  cprintf("fs: ok (bread/bwrite through the log on a %u-block ram disk)\n", ramdisk_nblocks());
}

static void test_capability(void) {
  cap_id_t id = cap_alloc(EXO_RES_PAGE, 0x1000, EXO_RIGHT_READ, 1);
  struct cap_entry e;
  CHECK(id != 0, "capability: alloc failed");
  CHECK(cap_validate_unified(id, &e) == VALIDATION_SUCCESS && e.cap.resource == 0x1000, "capability: valid cap rejected");
  CHECK(cap_check(id, EXO_RES_PAGE, EXO_RIGHT_WRITE) == VALIDATION_INSUFFICIENT_RIGHTS, "capability: rights not checked");
  CHECK(cap_check(id, EXO_RES_BLOCK, EXO_RIGHT_READ) == VALIDATION_WRONG_TYPE, "capability: type not checked");
  cap_revoke(id);
  cap_validation_result_t r = cap_validate_unified(id, &e);
  CHECK(r == VALIDATION_REVOKED, "capability: revoked cap accepted");
  CHECK(cap_validate_unified(0xFFFF, 0) == VALIDATION_INVALID_ID, "capability: bad id accepted");
  cprintf("capability: ok (cap_validate_unified -> %s after revoke)\n", cap_validation_name(r));
}

static void test_sys(void) {
  CHECK(syscall_dispatch(SYS_getpid, 0, 0) == 0, "sys: getpid outside a process");
  CHECK(syscall_dispatch(99, 0, 0) == -38, "sys: unknown call accepted");
  CHECK(syscall_dispatch(SYS_uptime, 0, 0) > 0, "sys: uptime");
  cprintf("sys: ok (%d system calls in the table)\n", NSYSCALL - 2);
}

void kmain(uint32_t start_info) {
  consoleinit();
  cprintf("\nExoV6 x86_64 exokernel booting (PVH, start info at %p)\n", (void *)(uintptr_t)start_info);
  cprintf("core: ok (long mode, kernel at %p, kmain at %p)\n", (void *)KERNLINK, (void *)kmain);
  test_sync();
  kinit(end, P2V(PHYSTOP));
  test_mem();
  ramdiskinit();
  binit();
  test_fs();
  CHECK(ioapicinit() == 0, "drivers: no I/O APIC");
  cprintf("drivers: ok (uart 16550, ramdisk, ioapic id %u version 0x%x with %u pins)\n", ioapic.id, ioapic.version, ioapic.pins);
  procinit();
  CHECK(ipc_selftest() == 0, "ipc: messages lost");
  cprintf("ipc: ok (10 messages over an atomic ring endpoint)\n");
  ipc_bench();
  capinit();
  test_capability();
  timeinit();
  test_sys();
  cprintf("ExoV6: all self-tests passed\n");
  qemu_exit(0);
}
