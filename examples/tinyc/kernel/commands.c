/* The command table: one line per command, each implemented in kernel/cmd_<name>.c. */
#include "shell.h"

const struct command commands[] = {
	{ "help", "list the commands", cmd_help },
	{ "echo", "print its arguments", cmd_echo },
	{ "ls", "list the files on disk 1", cmd_ls },
	{ "cat", "print a file", cmd_cat },
	{ "write", "write NAME WORDS...: create a file on disk 1", cmd_write },
	{ "exit", "power off (QEMU isa-debug-exit)", cmd_exit },
};
const int command_count = sizeof commands / sizeof commands[0];
