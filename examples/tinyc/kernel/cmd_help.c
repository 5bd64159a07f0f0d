#include "kprintf.h"
#include "shell.h"

int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	for (int i = 0; i < command_count; i++)
		kprintf("  %s - %s\n", commands[i].name, commands[i].help);
	return 0;
}
