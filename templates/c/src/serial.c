#include "io.h"

#define COM1 0x3f8

void serial_init(void) {
  outb(COM1 + 1, 0x00); /* no interrupts */
  outb(COM1 + 3, 0x80); /* divisor latch */
  outb(COM1 + 0, 0x01); /* 115200 baud */
  outb(COM1 + 1, 0x00);
  outb(COM1 + 3, 0x03); /* 8N1 */
  outb(COM1 + 2, 0xc7); /* FIFO on */
}

static void serial_putc(char c) {
  while ((inb(COM1 + 5) & 0x20) == 0) {
  }
  outb(COM1, (uint8_t)c);
}

void serial_write(const char *text) {
  for (; *text; text++) {
    if (*text == '\n') serial_putc('\r');
    serial_putc(*text);
  }
}

void serial_write_int(int value) {
  char digits[12];
  int n = 0;
  unsigned v = value < 0 ? (unsigned)-value : (unsigned)value;
  do {
    digits[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  if (value < 0) serial_putc('-');
  while (n > 0) serial_putc(digits[--n]);
}

void qemu_exit(uint8_t code) {
  outb(0xf4, code);
}
