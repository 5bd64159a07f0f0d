/* Write-ahead log on the RAM disk (xv6 log.c): a header block, then logged copies of blocks. */
#ifndef EXOV6_FS_H
#define EXOV6_FS_H
#include "types.h"
#include "spinlock.h"

#define LOGSIZE 8

struct logheader {
  uint32_t n;
  uint32_t block[LOGSIZE];
};

struct log {
  struct spinlock lock;
  uint32_t start;
  uint32_t size;
  uint32_t dev;
  int outstanding;
  int committing;
  uint32_t commits;
  struct logheader lh;
};
#endif
