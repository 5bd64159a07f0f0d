/* Kernel-wide entry points: panic and power-off through QEMU's isa-debug-exit device. */
#ifndef TINYC_KERNEL_H
#define TINYC_KERNEL_H

#include "types.h"

#define DEBUG_EXIT_PORT 0xf4

void panic(const char *why) __attribute__((noreturn));
void machine_exit(uint8_t code) __attribute__((noreturn));

#endif
