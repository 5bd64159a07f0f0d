/* The serial shell: a table of commands, each in its own file (kernel/cmd_*.c). */
#ifndef TINYC_SHELL_H
#define TINYC_SHELL_H

#define SHELL_PROMPT "tinyc> "
#define SHELL_LINE_MAX 128
#define SHELL_ARGS_MAX 8

struct command {
	const char *name;
	const char *help;
	int (*run)(int argc, char **argv);
};

int cmd_echo(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_cat(int argc, char **argv);
int cmd_write(int argc, char **argv);
int cmd_exit(int argc, char **argv);
int cmd_help(int argc, char **argv);

extern const struct command commands[];
extern const int command_count;

int readline(char *buf, int size);
void shell_run(void);

#endif
