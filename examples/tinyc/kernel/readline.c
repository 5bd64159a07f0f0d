/* Line input with echo and backspace. */
#include "serial.h"
#include "shell.h"

int readline(char *buf, int size)
{
	int n = 0;
	for (;;) {
		char c = serial_getc();
		if (c == '\r' || c == '\n') {
			serial_putc('\n');
			buf[n] = 0;
			return n;
		}
		if ((c == 8 || c == 127) && n > 0) {
			n--;
			serial_write("\b \b");
		} else if (c >= ' ' && n + 1 < size) {
			buf[n++] = c;
			serial_putc(c);
		}
	}
}
