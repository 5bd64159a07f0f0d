// Time: the TSC for monotonic ticks, the CMOS RTC (MC146818, ports 0x70/0x71) for the date.
#include "defs.h"
#include "x86.h"

static uint64_t tsc_boot;

static uint8_t cmos(uint8_t reg) {
  outb(0x70, reg);
  return inb(0x71);
}

static unsigned bcd(uint8_t v, bool binary) { return binary ? v : (v & 0x0F) + (v >> 4) * 10; }

void timeinit(void) {
  tsc_boot = rdtsc();
  while (cmos(0x0A) & 0x80)  // update in progress
    ;
  bool binary = cmos(0x0B) & 0x04;
  unsigned year = bcd(cmos(0x09), binary) + 2000, month = bcd(cmos(0x08), binary), day = bcd(cmos(0x07), binary);
  uint64_t t = ticks_now();
  cprintf("time: ok (rtc %u-%s%u-%s%u, tsc advancing %s)\n", year, month < 10 ? "0" : "", month, day < 10 ? "0" : "", day,
          ticks_now() > t || t > 0 ? "yes" : "no");
}

uint64_t ticks_now(void) { return rdtsc() - tsc_boot; }
