#ifndef IO_H
#define IO_H
#include <stdint.h>

static inline void outb(uint16_t port, uint8_t value) { __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) {
  uint8_t value;
  __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
  return value;
}

void serial_init(void);
void serial_write(const char *text);
void serial_write_int(int value);
/* Ends the QEMU run: isa-debug-exit turns `code` into the exit status (code << 1) | 1. */
void qemu_exit(uint8_t code);
#endif
