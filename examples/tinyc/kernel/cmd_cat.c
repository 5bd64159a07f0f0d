#define TINYC_KERNEL
#include "fs.h"
#include "kprintf.h"
#include "serial.h"
#include "shell.h"

static char buffer[4096];

int cmd_cat(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const struct tfs_dirent *file = fs_find(argv[i]);
		if (!file) {
			kprintf("cat: %s: no such file\n", argv[i]);
			continue;
		}
		int n = fs_read(file, buffer, sizeof buffer - 1);
		if (n < 0) {
			kprintf("cat: %s: read error\n", argv[i]);
			continue;
		}
		buffer[n] = 0;
		serial_write(buffer);
	}
	return 0;
}
