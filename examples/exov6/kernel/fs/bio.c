// Buffer cache (xv6 bio): NBUF buffers in an LRU list under one lock; bread returns a buffer
// with the block's contents, bwrite writes it to the disk, brelse moves it to the front.
#include "buf.h"
#include "defs.h"
#include "spinlock.h"

static struct {
  struct spinlock lock;
  struct buf buf[NBUF];
  struct buf head;
  uint64_t hits, misses;
} bcache;

void binit(void) {
  initlock(&bcache.lock, "bcache");
  bcache.head.prev = bcache.head.next = &bcache.head;
  for (struct buf *b = bcache.buf; b < bcache.buf + NBUF; b++) {
    b->next = bcache.head.next;
    b->prev = &bcache.head;
    bcache.head.next->prev = b;
    bcache.head.next = b;
  }
}

static struct buf *bget(uint32_t dev, uint32_t blockno) {
  acquire(&bcache.lock);
  for (struct buf *b = bcache.head.next; b != &bcache.head; b = b->next) {
    if (b->dev == dev && b->blockno == blockno) {
      b->refcnt++;
      bcache.hits++;
      release(&bcache.lock);
      return b;
    }
  }
  for (struct buf *b = bcache.head.prev; b != &bcache.head; b = b->prev) {
    if (b->refcnt == 0 && !b->dirty) {
      b->dev = dev;
      b->blockno = blockno;
      b->valid = false;
      b->refcnt = 1;
      bcache.misses++;
      release(&bcache.lock);
      return b;
    }
  }
  panic("bget: no buffers");
}

struct buf *bread(uint32_t dev, uint32_t blockno) {
  struct buf *b = bget(dev, blockno);
  if (!b->valid) ramdiskrw(b, false);
  return b;
}

void bwrite(struct buf *b) {
  if (b->refcnt == 0) panic("bwrite: buffer not held");
  ramdiskrw(b, true);
}

void brelse(struct buf *b) {
  acquire(&bcache.lock);
  if (b->refcnt == 0) panic("brelse: not held");
  if (--b->refcnt == 0) {
    b->next->prev = b->prev;
    b->prev->next = b->next;
    b->next = bcache.head.next;
    b->prev = &bcache.head;
    bcache.head.next->prev = b;
    bcache.head.next = b;
  }
  release(&bcache.lock);
}
