// user_printf: %d %x %s %c into a buffer, then one write system call.
#include <stdarg.h>
#include "libos.h"

static size_t put_num(char *buf, size_t at, size_t cap, unsigned long v, unsigned base) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = "0123456789abcdef"[v % base];
    v /= base;
  } while (v);
  while (n > 0 && at < cap) buf[at++] = tmp[--n];
  return at;
}

int user_printf(const char *fmt, ...) {
  char buf[256];
  size_t at = 0;
  va_list ap;
  va_start(ap, fmt);
  for (const char *p = fmt; *p && at < sizeof buf; p++) {
    if (*p != '%') {
      buf[at++] = *p;
      continue;
    }
    switch (*++p) {
    case 'd': {
      int v = va_arg(ap, int);
      if (v < 0 && at < sizeof buf) buf[at++] = '-';
      at = put_num(buf, at, sizeof buf, v < 0 ? -(unsigned long)v : (unsigned long)v, 10);
      break;
    }
    case 'x': at = put_num(buf, at, sizeof buf, va_arg(ap, unsigned), 16); break;
    case 's':
      for (const char *s = va_arg(ap, const char *); *s && at < sizeof buf; s++) buf[at++] = *s;
      break;
    case 'c': buf[at++] = (char)va_arg(ap, int); break;
    default: buf[at++] = *p;
    }
  }
  va_end(ap);
  return (int)write_console(buf, at);
}
