/* Formatted output to the serial console: %s %d %u %x %c %%. */
#ifndef TINYC_KPRINTF_H
#define TINYC_KPRINTF_H

void kprintf(const char *fmt, ...);

#endif
