/*
 * tinyfs: the file system on tinyc's second disk, shared by the kernel and the host mkfs.
 * Sector 0: superblock. Sectors 1-4: 32 directory entries of 64 bytes. Data from sector 5 on,
 * each file contiguous. All numbers little endian.
 */
#ifndef TINYC_FS_H
#define TINYC_FS_H

#include <stdint.h>

#define TFS_MAGIC 0x31534654u /* "TFS1" */
#define TFS_NAME_MAX 48
#define TFS_MAX_FILES 32
#define TFS_DIR_LBA 1
#define TFS_DIR_SECTORS 4
#define TFS_DATA_LBA (TFS_DIR_LBA + TFS_DIR_SECTORS)

struct tfs_super {
	uint32_t magic;
	uint32_t sectors;   /* size of the disk */
	uint32_t next_free; /* first sector after the last file */
	uint32_t files;
	uint8_t pad[496];
};

struct tfs_dirent {
	char name[TFS_NAME_MAX];
	uint32_t lba;
	uint32_t size;
	uint32_t used;
	uint32_t reserved;
};

#ifdef TINYC_KERNEL
int fs_mount(int drive);
int fs_count(void);
const struct tfs_dirent *fs_entry(int index);
const struct tfs_dirent *fs_find(const char *name);
int fs_read(const struct tfs_dirent *file, char *buf, uint32_t size);
int fs_create(const char *name, const char *data, uint32_t size);
#endif

#endif
