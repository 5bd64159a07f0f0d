/* 16550 UART on COM1: 115200 8N1, polled. */
#include "io.h"
#include "serial.h"

void serial_init(void)
{
	outb(COM1 + 1, 0x00); /* no interrupts */
	outb(COM1 + 3, 0x80); /* DLAB */
	outb(COM1 + 0, 0x01); /* divisor 1: 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03); /* 8N1 */
	outb(COM1 + 2, 0xc7); /* FIFO on, cleared */
	outb(COM1 + 4, 0x03); /* DTR, RTS */
}

void serial_putc(char c)
{
	if (c == '\n')
		serial_putc('\r');
	while (!(inb(COM1 + 5) & 0x20))
		;
	outb(COM1, (uint8_t)c);
}

char serial_getc(void)
{
	while (!(inb(COM1 + 5) & 0x01))
		__asm__ volatile("pause");
	return (char)inb(COM1);
}

void serial_write(const char *s)
{
	while (*s)
		serial_putc(*s++);
}
