/* I/O APIC (Intel 82093AA datasheet §3): IOREGSEL at base+0, IOWIN at base+0x10. */
#ifndef EXOV6_IOAPIC_H
#define EXOV6_IOAPIC_H
#include "types.h"

#define IOAPIC_DEFAULT_BASE 0xFEC00000u
#define IOAPIC_REG_ID  0x00
#define IOAPIC_REG_VER 0x01

struct ioapic_info {
  uint32_t base;     /* physical MMIO base */
  uint8_t id;
  uint8_t version;
  uint8_t pins;      /* redirection entries */
};

extern struct ioapic_info ioapic;
#endif
