// I/O APIC discovery: read its ID and version registers through the MMIO window
// (identity-mapped uncached by the boot page tables).
#include "defs.h"
#include "ioapic.h"

struct ioapic_info ioapic = { .base = IOAPIC_DEFAULT_BASE };

static uint32_t ioapic_read(struct ioapic_info *info, uint32_t reg) {
  volatile uint32_t *mmio = (volatile uint32_t *)(uintptr_t)info->base;
  mmio[0] = reg;
  return mmio[4];
}

int ioapicinit(void) {
  struct ioapic_info *info = &ioapic;
  uint32_t ver = ioapic_read(info, IOAPIC_REG_VER);
  info->id = (uint8_t)(ioapic_read(info, IOAPIC_REG_ID) >> 24);
  info->version = (uint8_t)(ver & 0xFF);
  info->pins = (uint8_t)(((ver >> 16) & 0xFF) + 1);
  return info->version != 0 && info->pins > 0 ? 0 : -1;
}
