#define TINYC_KERNEL
#include "fs.h"
#include "kprintf.h"
#include "kstring.h"
#include "shell.h"

int cmd_write(int argc, char **argv)
{
	char text[SHELL_LINE_MAX];
	size_t len = 0;
	if (argc < 2) {
		kprintf("usage: write NAME WORDS...\n");
		return 1;
	}
	for (int i = 2; i < argc; i++) {
		size_t n = kstrlen(argv[i]);
		if (len + n + 2 > sizeof text)
			break;
		kmemcpy(text + len, argv[i], n);
		len += n;
		text[len++] = i + 1 < argc ? ' ' : '\n';
	}
	if (fs_create(argv[1], text, (uint32_t)len) != 0) {
		kprintf("write: %s: cannot create\n", argv[1]);
		return 1;
	}
	kprintf("wrote %u bytes to %s\n", (uint32_t)len, argv[1]);
	return 0;
}
