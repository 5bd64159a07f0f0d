/* ATA PIO on the primary IDE channel (ports 0x1f0-0x1f7): drive 0 master, drive 1 slave. */
#ifndef TINYC_IDE_H
#define TINYC_IDE_H

#include "types.h"

#define IDE_SECTOR 512

bool ide_present(int drive);
int ide_read(int drive, uint32_t lba, void *buf);
int ide_write(int drive, uint32_t lba, const void *buf);

#endif
