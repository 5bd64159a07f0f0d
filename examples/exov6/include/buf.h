/* Buffer cache entries (xv6 bio): one disk block each, LRU list, a lock per buffer. */
#ifndef EXOV6_BUF_H
#define EXOV6_BUF_H
#include "types.h"

#define BSIZE 512
#define NBUF  16

struct buf {
  bool valid;       /* data holds the block */
  bool dirty;       /* written, not yet on disk */
  uint32_t dev;
  uint32_t blockno;
  uint32_t refcnt;
  struct buf *prev, *next;  /* LRU list */
  uint8_t data[BSIZE];
};
_Static_assert(BSIZE % 512 == 0, "a block is whole sectors");
#endif
