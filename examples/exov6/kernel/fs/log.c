// Write-ahead log (xv6 log.c, simplified to one outstanding group): log_write records a block,
// end_op commits: copy each block to the log area, write the header (the commit point),
// install the blocks at home, clear the header.
#include "buf.h"
#include "defs.h"
#include "fs.h"

struct log fs_log;

static void write_head(void) {
  struct buf *b = bread(fs_log.dev, fs_log.start);
  memmove(b->data, &fs_log.lh, sizeof(fs_log.lh));
  bwrite(b);
  brelse(b);
}

static void install_trans(void) {
  for (uint32_t i = 0; i < fs_log.lh.n; i++) {
    struct buf *from = bread(fs_log.dev, fs_log.start + 1 + i);
    struct buf *to = bread(fs_log.dev, fs_log.lh.block[i]);
    memmove(to->data, from->data, BSIZE);
    bwrite(to);
    to->dirty = false;
    brelse(from);
    brelse(to);
  }
}

static void recover(void) {
  struct buf *b = bread(fs_log.dev, fs_log.start);
  memmove(&fs_log.lh, b->data, sizeof(fs_log.lh));
  brelse(b);
  install_trans();
  fs_log.lh.n = 0;
  write_head();
}

void loginit(uint32_t dev, uint32_t start, uint32_t size) {
  _Static_assert(sizeof(struct logheader) <= BSIZE, "the log header fits one block");
  initlock(&fs_log.lock, "log");
  fs_log.dev = dev;
  fs_log.start = start;
  fs_log.size = size;
  recover();
}

void begin_op(void) {
  acquire(&fs_log.lock);
  if (fs_log.committing) panic("begin_op: commit in progress");
  fs_log.outstanding++;
  release(&fs_log.lock);
}

void log_write(struct buf *b) {
  acquire(&fs_log.lock);
  if (fs_log.lh.n >= LOGSIZE || fs_log.lh.n >= fs_log.size - 1) panic("log_write: transaction too big");
  uint32_t i = 0;
  while (i < fs_log.lh.n && fs_log.lh.block[i] != b->blockno) i++;
  fs_log.lh.block[i] = b->blockno;
  if (i == fs_log.lh.n) fs_log.lh.n++;
  b->dirty = true;  // stays in the cache until installed
  release(&fs_log.lock);
}

static void commit(void) {
  if (fs_log.lh.n == 0) return;
  for (uint32_t i = 0; i < fs_log.lh.n; i++) {
    struct buf *to = bread(fs_log.dev, fs_log.start + 1 + i);
    struct buf *from = bread(fs_log.dev, fs_log.lh.block[i]);
    memmove(to->data, from->data, BSIZE);
    bwrite(to);
    brelse(from);
    brelse(to);
  }
  write_head();   // the commit point
  install_trans();
  fs_log.lh.n = 0;
  write_head();
  fs_log.commits++;
}

void end_op(void) {
  acquire(&fs_log.lock);
  bool do_commit = --fs_log.outstanding == 0;
  if (do_commit) fs_log.committing = 1;
  release(&fs_log.lock);
  if (do_commit) {
    commit();
    acquire(&fs_log.lock);
    fs_log.committing = 0;
    release(&fs_log.lock);
  }
}
