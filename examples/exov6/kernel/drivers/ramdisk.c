// A RAM disk: NBLOCKS blocks of BSIZE bytes taken from kalloc'ed pages, read and written by bio.
#include "buf.h"
#include "defs.h"
#include "memlayout.h"

#define NBLOCKS 64
#define BLOCKS_PER_PAGE (PGSIZE / BSIZE)

static uint8_t *pages[NBLOCKS / BLOCKS_PER_PAGE];
static uint64_t reads, writes;

void ramdiskinit(void) {
  for (size_t i = 0; i < NELEM(pages); i++) {
    pages[i] = kalloc();
    if (!pages[i]) panic("ramdisk: out of memory");
    memset(pages[i], 0, PGSIZE);
  }
}

uint32_t ramdisk_nblocks(void) { return NBLOCKS; }

void ramdiskrw(struct buf *b, bool write) {
  if (b->blockno >= NBLOCKS) panic("ramdisk: block out of range");
  uint8_t *p = pages[b->blockno / BLOCKS_PER_PAGE] + (b->blockno % BLOCKS_PER_PAGE) * BSIZE;
  if (write) {
    memmove(p, b->data, BSIZE);
    b->dirty = false;
    writes++;
  } else {
    memmove(b->data, p, BSIZE);
    b->valid = true;
    reads++;
  }
}
