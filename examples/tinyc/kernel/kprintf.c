/* A small printf for the serial console. */
#include <stdarg.h>
#include "kprintf.h"
#include "serial.h"

static void put_unsigned(uint32_t value, unsigned base)
{
	char digits[16];
	int n = 0;
	do {
		digits[n++] = "0123456789abcdef"[value % base];
		value /= base;
	} while (value);
	while (n--)
		serial_putc(digits[n]);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			serial_putc(*fmt);
			continue;
		}
		switch (*++fmt) {
		case 's': serial_write(va_arg(ap, const char *)); break;
		case 'c': serial_putc((char)va_arg(ap, int)); break;
		case 'u': put_unsigned(va_arg(ap, uint32_t), 10); break;
		case 'x': serial_write("0x"); put_unsigned(va_arg(ap, uint32_t), 16); break;
		case 'd': {
			int v = va_arg(ap, int);
			if (v < 0) {
				serial_putc('-');
				v = -v;
			}
			put_unsigned((uint32_t)v, 10);
			break;
		}
		case '%': serial_putc('%'); break;
		case 0: va_end(ap); return;
		default: serial_putc('%'); serial_putc(*fmt);
		}
	}
	va_end(ap);
}
