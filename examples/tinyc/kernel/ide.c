/* ATA PIO, LBA28, one sector at a time, on the primary channel. */
#include "ide.h"
#include "io.h"

#define ATA_DATA 0x1f0
#define ATA_COUNT 0x1f2
#define ATA_LBA0 0x1f3
#define ATA_LBA1 0x1f4
#define ATA_LBA2 0x1f5
#define ATA_DRIVE 0x1f6
#define ATA_STATUS 0x1f7
#define ATA_COMMAND 0x1f7

#define ST_BSY 0x80
#define ST_DRQ 0x08
#define ST_ERR 0x01

static int wait_ready(void)
{
	for (uint32_t spins = 0; spins < 10000000u; spins++) {
		uint8_t st = inb(ATA_STATUS);
		if (st == 0xff)
			return -1; /* floating bus: no drive */
		if (!(st & ST_BSY))
			return st & ST_ERR ? -1 : 0;
	}
	return -1;
}

static int wait_drq(void)
{
	for (uint32_t spins = 0; spins < 10000000u; spins++) {
		uint8_t st = inb(ATA_STATUS);
		if (st & ST_ERR)
			return -1;
		if (!(st & ST_BSY) && (st & ST_DRQ))
			return 0;
	}
	return -1;
}

static void select_lba(int drive, uint32_t lba)
{
	outb(ATA_DRIVE, (uint8_t)(0xe0 | (drive << 4) | ((lba >> 24) & 0x0f)));
	outb(ATA_COUNT, 1);
	outb(ATA_LBA0, (uint8_t)lba);
	outb(ATA_LBA1, (uint8_t)(lba >> 8));
	outb(ATA_LBA2, (uint8_t)(lba >> 16));
}

bool ide_present(int drive)
{
	outb(ATA_DRIVE, (uint8_t)(0xa0 | (drive << 4)));
	for (int i = 0; i < 4; i++)
		inb(ATA_STATUS); /* 400 ns settle */
	uint8_t st = inb(ATA_STATUS);
	return st != 0 && st != 0xff;
}

int ide_read(int drive, uint32_t lba, void *buf)
{
	uint16_t *words = buf;
	if (wait_ready() != 0)
		return -1;
	select_lba(drive, lba);
	outb(ATA_COMMAND, 0x20); /* READ SECTORS */
	if (wait_drq() != 0)
		return -1;
	for (int i = 0; i < IDE_SECTOR / 2; i++)
		words[i] = inw(ATA_DATA);
	return 0;
}

int ide_write(int drive, uint32_t lba, const void *buf)
{
	const uint16_t *words = buf;
	if (wait_ready() != 0)
		return -1;
	select_lba(drive, lba);
	outb(ATA_COMMAND, 0x30); /* WRITE SECTORS */
	if (wait_drq() != 0)
		return -1;
	for (int i = 0; i < IDE_SECTOR / 2; i++)
		outw(ATA_DATA, words[i]);
	outb(ATA_COMMAND, 0xe7); /* FLUSH CACHE */
	return wait_ready();
}
