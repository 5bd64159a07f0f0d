// Console: cprintf (%d %u %x %p %s %c %%, l/ll modifiers) on the serial port, under a lock;
// panic prints and exits QEMU with a failure code.
#include <stdarg.h>
#include "defs.h"
#include "spinlock.h"

static struct spinlock conslock = SPINLOCK_INIT("console");
static bool panicked;

static void putc_console(int c) {
  if (c == '\n') uartputc('\r');
  uartputc(c);
}

static void printnum(uint64_t x, unsigned base, bool negative) {
  static const char digits[] = "0123456789abcdef";
  char buf[24];
  int i = 0;
  do {
    buf[i++] = digits[x % base];
    x /= base;
  } while (x);
  if (negative) buf[i++] = '-';
  while (--i >= 0) putc_console(buf[i]);
}

void consoleinit(void) { uartinit(); }

void cprintf(const char *fmt, ...) {
  va_list ap;
  bool locking = !panicked;
  if (locking) acquire(&conslock);
  va_start(ap, fmt);
  for (const char *p = fmt; *p; p++) {
    if (*p != '%') {
      putc_console(*p);
      continue;
    }
    int longs = 0;
    while (*++p == 'l') longs++;
    switch (*p) {
    case 'd': {
      int64_t v = longs ? va_arg(ap, int64_t) : va_arg(ap, int);
      printnum(v < 0 ? (uint64_t)-v : (uint64_t)v, 10, v < 0);
      break;
    }
    case 'u': printnum(longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 10, false); break;
    case 'x': printnum(longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 16, false); break;
    case 'p':
      putc_console('0');
      putc_console('x');
      printnum((uint64_t)(uintptr_t)va_arg(ap, void *), 16, false);
      break;
    case 's': {
      const char *s = va_arg(ap, const char *);
      for (s = s ? s : "(null)"; *s; s++) putc_console(*s);
      break;
    }
    case 'c': putc_console(va_arg(ap, int)); break;
    case '%': putc_console('%'); break;
    case '\0': p--; break;
    default:
      putc_console('%');
      putc_console(*p);
    }
  }
  va_end(ap);
  if (locking) release(&conslock);
}

_Noreturn void panic(const char *msg) {
  __asm__ volatile("cli");
  panicked = true;
  cprintf("panic: %s\n", msg);
  qemu_exit(1);
}
