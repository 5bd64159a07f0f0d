/* The serial console on COM1 (0x3f8): the only console tinyc has. */
#ifndef TINYC_SERIAL_H
#define TINYC_SERIAL_H

#include "types.h"

#define COM1 0x3f8

void serial_init(void);
void serial_putc(char c);
char serial_getc(void);
void serial_write(const char *s);

#endif
