#define TINYC_KERNEL
#include "fs.h"
#include "kprintf.h"
#include "shell.h"

int cmd_ls(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	for (int i = 0; i < fs_count(); i++) {
		const struct tfs_dirent *e = fs_entry(i);
		kprintf("%s %u\n", e->name, e->size);
	}
	return 0;
}
