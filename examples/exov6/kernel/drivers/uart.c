// 16550 UART on COM1 (0x3F8): 115200 8N1, polled transmit.
#include "defs.h"
#include "x86.h"

#define COM1 0x3F8

void uartinit(void) {
  outb(COM1 + 1, 0x00);  // no interrupts
  outb(COM1 + 3, 0x80);  // DLAB
  outb(COM1 + 0, 0x01);  // divisor 1 = 115200 baud
  outb(COM1 + 1, 0x00);
  outb(COM1 + 3, 0x03);  // 8N1
  outb(COM1 + 2, 0xC7);  // FIFO on
  outb(COM1 + 4, 0x03);
}

void uartputc(int c) {
  for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
    ;
  outb(COM1, (uint8_t)c);
}
