#include "kernel.h"
#include "kprintf.h"
#include "shell.h"

int cmd_exit(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	kprintf("bye\n");
	machine_exit(0);
}
