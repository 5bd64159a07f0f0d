// Physical page allocator (xv6 kalloc): a locked free list of 4 KiB pages between the end of
// the kernel and PHYSTOP, addressed through the higher-half mapping. kfree fills with junk.
#include "defs.h"
#include "memlayout.h"
#include "spinlock.h"

struct run {
  struct run *next;
};

static struct {
  struct spinlock lock;
  struct run *freelist;
  size_t nfree;
} kmem;

void kinit(void *vstart, void *vend) {
  initlock(&kmem.lock, "kmem");
  uintptr_t p = ((uintptr_t)vstart + PGSIZE - 1) & ~(uintptr_t)(PGSIZE - 1);
  for (; p + PGSIZE <= (uintptr_t)vend; p += PGSIZE) kfree((void *)p);
}

void kfree(void *page) {
  uintptr_t a = (uintptr_t)page;
  if (a % PGSIZE || a < KERNBASE || V2P(a) >= PHYSTOP) panic("kfree: bad page");
  memset(page, 0x5A, PGSIZE);  // junk: catch use after free
  struct run *r = page;
  acquire(&kmem.lock);
  r->next = kmem.freelist;
  kmem.freelist = r;
  kmem.nfree++;
  release(&kmem.lock);
}

void *kalloc(void) {
  acquire(&kmem.lock);
  struct run *r = kmem.freelist;
  if (r) {
    kmem.freelist = r->next;
    kmem.nfree--;
  }
  release(&kmem.lock);
  return r;
}

size_t kfree_count(void) {
  acquire(&kmem.lock);
  size_t n = kmem.nfree;
  release(&kmem.lock);
  return n;
}
