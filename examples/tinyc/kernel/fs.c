/* tinyfs in the kernel: the superblock and directory are read once and written back on create. */
#define TINYC_KERNEL
#include "fs.h"
#include "ide.h"
#include "kstring.h"

static int fs_drive = -1;
static struct tfs_super super;
static struct tfs_dirent dir[TFS_MAX_FILES];

int fs_mount(int drive)
{
	if (ide_read(drive, 0, &super) != 0 || super.magic != TFS_MAGIC)
		return -1;
	for (int s = 0; s < TFS_DIR_SECTORS; s++) {
		if (ide_read(drive, TFS_DIR_LBA + s, (char *)dir + s * IDE_SECTOR) != 0)
			return -1;
	}
	fs_drive = drive;
	return 0;
}

int fs_count(void)
{
	int n = 0;
	for (int i = 0; i < TFS_MAX_FILES; i++)
		n += dir[i].used ? 1 : 0;
	return n;
}

const struct tfs_dirent *fs_entry(int index)
{
	int n = 0;
	for (int i = 0; i < TFS_MAX_FILES; i++) {
		if (dir[i].used && n++ == index)
			return &dir[i];
	}
	return 0;
}

const struct tfs_dirent *fs_find(const char *name)
{
	for (int i = 0; i < TFS_MAX_FILES; i++) {
		if (dir[i].used && kstrcmp(dir[i].name, name) == 0)
			return &dir[i];
	}
	return 0;
}

int fs_read(const struct tfs_dirent *file, char *buf, uint32_t size)
{
	char sector[IDE_SECTOR];
	uint32_t done = 0;
	if (size > file->size)
		size = file->size;
	for (uint32_t lba = file->lba; done < size; lba++) {
		if (ide_read(fs_drive, lba, sector) != 0)
			return -1;
		uint32_t n = size - done < IDE_SECTOR ? size - done : IDE_SECTOR;
		kmemcpy(buf + done, sector, n);
		done += n;
	}
	return (int)done;
}

static int write_metadata(void)
{
	if (ide_write(fs_drive, 0, &super) != 0)
		return -1;
	for (int s = 0; s < TFS_DIR_SECTORS; s++) {
		if (ide_write(fs_drive, TFS_DIR_LBA + s, (char *)dir + s * IDE_SECTOR) != 0)
			return -1;
	}
	return 0;
}

int fs_create(const char *name, const char *data, uint32_t size)
{
	char sector[IDE_SECTOR];
	struct tfs_dirent *slot = 0;
	uint32_t sectors = (size + IDE_SECTOR - 1) / IDE_SECTOR;
	if (fs_drive < 0 || fs_find(name) || super.next_free + sectors > super.sectors)
		return -1;
	for (int i = 0; i < TFS_MAX_FILES && !slot; i++) {
		if (!dir[i].used)
			slot = &dir[i];
	}
	if (!slot)
		return -1;
	for (uint32_t s = 0; s < sectors; s++) {
		uint32_t n = size - s * IDE_SECTOR < IDE_SECTOR ? size - s * IDE_SECTOR : IDE_SECTOR;
		kmemset(sector, 0, sizeof sector);
		kmemcpy(sector, data + s * IDE_SECTOR, n);
		if (ide_write(fs_drive, super.next_free + s, sector) != 0)
			return -1;
	}
	kmemset(slot, 0, sizeof *slot);
	kstrlcpy(slot->name, name, TFS_NAME_MAX);
	slot->lba = super.next_free;
	slot->size = size;
	slot->used = 1;
	super.next_free += sectors;
	super.files++;
	return write_metadata();
}
