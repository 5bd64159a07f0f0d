/* tinyc: a 32-bit teaching kernel. Serial console, IDE, tinyfs on the second disk, a shell. */
#define TINYC_KERNEL
#include "fs.h"
#include "ide.h"
#include "kprintf.h"
#include "serial.h"
#include "shell.h"

void kmain(void)
{
	serial_init();
	kprintf("tinyc: 32-bit kernel at %x\n", 0x10000);
	if (!ide_present(1)) {
		kprintf("tinyc: no second IDE disk (file system)\n");
	} else if (fs_mount(1) != 0) {
		kprintf("tinyc: disk 1 holds no tinyfs\n");
	} else {
		kprintf("tinyc: tinyfs mounted, %d files\n", fs_count());
	}
	shell_run();
}
