#include "io.h"

static int add(int a, int b) { return a + b; }

void kmain(void) {
  serial_init();
  serial_write("Hello from __NAME__\n");
  serial_write("kernel: 2 + 2 = ");
  serial_write_int(add(2, 2));
  serial_write("\n");
  qemu_exit(0);
  for (;;) __asm__ volatile("hlt");
}
