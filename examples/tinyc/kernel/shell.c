/* The shell loop: read a line, split it into words, run the command of that name. */
#include "kprintf.h"
#include "kstring.h"
#include "serial.h"
#include "shell.h"

static int split(char *line, char **argv)
{
	int argc = 0;
	while (*line && argc < SHELL_ARGS_MAX) {
		while (*line == ' ')
			*line++ = 0;
		if (!*line)
			break;
		argv[argc++] = line;
		while (*line && *line != ' ')
			line++;
	}
	return argc;
}

void shell_run(void)
{
	char line[SHELL_LINE_MAX];
	char *argv[SHELL_ARGS_MAX];
	for (;;) {
		serial_write(SHELL_PROMPT);
		readline(line, sizeof line);
		int argc = split(line, argv);
		if (argc == 0)
			continue;
		int found = 0;
		for (int i = 0; i < command_count && !found; i++) {
			if (kstrcmp(argv[0], commands[i].name) == 0) {
				found = 1;
				commands[i].run(argc, argv);
			}
		}
		if (!found)
			kprintf("%s: no such command (try help)\n", argv[0]);
	}
}
