/* mkfs.tinyfs: builds tinyc's file-system disk on the build machine. Usage: mkfs OUT SIZE_KIB FILE... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fs.h"

#define SECTOR 512

static int add_file(FILE *out, struct tfs_super *super, struct tfs_dirent *entry, const char *path)
{
	FILE *in = fopen(path, "rb");
	char sector[SECTOR];
	size_t n;
	const char *base = strrchr(path, '/');
	if (!in) {
		perror(path);
		return -1;
	}
	base = base ? base + 1 : path;
	if (strlen(base) >= TFS_NAME_MAX) {
		fprintf(stderr, "mkfs: %s: name longer than %d bytes\n", base, TFS_NAME_MAX - 1);
		fclose(in);
		return -1;
	}
	memset(entry, 0, sizeof *entry);
	strcpy(entry->name, base);
	entry->lba = super->next_free;
	entry->used = 1;
	while ((n = fread(sector, 1, SECTOR, in)) > 0) {
		if (super->next_free >= super->sectors) {
			fprintf(stderr, "mkfs: %s does not fit on the disk\n", path);
			fclose(in);
			return -1;
		}
		memset(sector + n, 0, SECTOR - n);
		fseek(out, (long)super->next_free * SECTOR, SEEK_SET);
		fwrite(sector, 1, SECTOR, out);
		entry->size += (uint32_t)n;
		super->next_free++;
	}
	fclose(in);
	super->files++;
	return 0;
}

int main(int argc, char **argv)
{
	struct tfs_super super;
	struct tfs_dirent dir[TFS_MAX_FILES];
	FILE *out;
	if (argc < 3) {
		fprintf(stderr, "usage: mkfs OUT SIZE_KIB FILE...\n");
		return 2;
	}
	if (argc - 3 > TFS_MAX_FILES) {
		fprintf(stderr, "mkfs: at most %d files\n", TFS_MAX_FILES);
		return 2;
	}
	out = fopen(argv[1], "wb");
	if (!out) {
		perror(argv[1]);
		return 1;
	}
	memset(&super, 0, sizeof super);
	memset(dir, 0, sizeof dir);
	super.magic = TFS_MAGIC;
	super.sectors = (uint32_t)strtoul(argv[2], NULL, 10) * 1024 / SECTOR;
	super.next_free = TFS_DATA_LBA;
	for (int i = 3; i < argc; i++) {
		if (add_file(out, &super, &dir[i - 3], argv[i]) != 0)
			return 1;
	}
	fseek(out, 0, SEEK_SET);
	fwrite(&super, sizeof super, 1, out);
	fwrite(dir, sizeof dir, 1, out);
	/* The disk's full size (holes where nothing was written). */
	fseek(out, (long)super.sectors * SECTOR - 1, SEEK_SET);
	fputc(0, out);
	return fclose(out) == 0 ? 0 : 1;
}
