#include "kprintf.h"
#include "shell.h"

int cmd_echo(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		kprintf(i + 1 < argc ? "%s " : "%s", argv[i]);
	kprintf("\n");
	return 0;
}
