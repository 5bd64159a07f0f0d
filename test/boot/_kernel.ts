// A minimal kernel for kiln-boot's tests, in C against the generated boot-info header: it prints
// the boot-info record it received (memory map, initrd, command line, addresses, timing) on the
// serial port the record names, then exits QEMU (isa-debug-exit / semihosting).
export const KERNEL_C = `/* A minimal kernel for kiln-boot tests: prints the boot-info record it received and exits. */
#include "kiln_boot_abi.h"

#ifndef PAD_BYTES
#define PAD_BYTES 1
#endif
/* Non-zero data so the file has the size of a real kernel (verification and copy cost). */
__attribute__((used)) const unsigned char kernel_pad[PAD_BYTES] = { 0x5a };

static const kiln_boot_info_t *bi;

#if defined(__x86_64__)
static inline void outb(unsigned short p, unsigned char v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(p)); }
static inline unsigned char inb(unsigned short p) { unsigned char v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static void putch(char c) {
  unsigned short port = (unsigned short)bi->serial_base;
  while (!(inb(port + 5) & 0x20)) {}
  outb(port, (unsigned char)c);
}
static void finish(int code) {
  outb(0xf4, (unsigned char)code); /* isa-debug-exit */
  for (;;) __asm__ volatile("cli; hlt");
}
#else
static void putch(char c) {
  volatile unsigned int *uart = (volatile unsigned int *)bi->serial_base;
  while (uart[0x18 / 4] & (1u << 5)) {}
  uart[0] = (unsigned int)c;
}
static void finish(int code) {
  unsigned long block[2] = { 0x20026, (unsigned long)code }; /* semihosting SYS_EXIT */
  register unsigned long x0 __asm__("x0") = 0x18;
  register unsigned long x1 __asm__("x1") = (unsigned long)block;
  __asm__ volatile("hlt #0xf000" : : "r"(x0), "r"(x1) : "memory");
  for (;;) {}
}
#endif

static void puts_(const char *s) { while (*s) { if (*s == '\\n') putch('\\r'); putch(*s++); } }
static void hex(unsigned long v) {
  char b[17]; int i = 16; b[16] = 0;
  do { b[--i] = "0123456789abcdef"[v & 15]; v >>= 4; } while (v && i);
  puts_("0x"); puts_(b + i);
}
static void dec(unsigned long v) {
  char b[21]; int i = 20; b[20] = 0;
  do { b[--i] = (char)('0' + v % 10); v /= 10; } while (v && i);
  puts_(b + i);
}
static void byte2(unsigned char v) { putch("0123456789abcdef"[v >> 4]); putch("0123456789abcdef"[v & 15]); }

void kernel_main(const kiln_boot_info_t *info) {
  bi = info;
  if (info->magic != KILN_BOOT_MAGIC || info->version != KILN_BOOT_VERSION) finish(3);
  puts_("KERNEL: boot info ok, version "); dec(info->version); puts_(" size "); dec(info->size); puts_("\\n");
  const kiln_boot_memory_region_t *map = (const kiln_boot_memory_region_t *)info->memory_map;
  unsigned long usable = 0; int kernel_region = 0;
  for (unsigned i = 0; i < info->memory_map_entries; i++) {
    if (map[i].kind == KILN_BOOT_MEMORY_KIND_USABLE) usable += map[i].pages * 4096;
    if (map[i].kind == KILN_BOOT_MEMORY_KIND_KERNEL && map[i].base <= info->kernel_phys_base && info->kernel_phys_base < map[i].base + map[i].pages * 4096) kernel_region = 1;
  }
  puts_("KERNEL: memory map entries="); dec(info->memory_map_entries); puts_(" usable_mib="); dec(usable >> 20);
  puts_(" kernel_region="); puts_(kernel_region ? "yes" : "no"); puts_("\\n");
  puts_("KERNEL: initrd size="); dec(info->initrd_size); puts_(" first=");
  const unsigned char *ird = (const unsigned char *)info->initrd_base;
  for (unsigned i = 0; i < 16 && i < info->initrd_size; i++) byte2(ird[i]);
  puts_("\\n");
  puts_("KERNEL: cmdline=["); puts_((const char *)info->cmdline); puts_("] size="); dec(info->cmdline_size); puts_("\\n");
  puts_("KERNEL: entry="); hex(info->entry); puts_(" bias="); hex(info->load_bias); puts_(" phys="); hex(info->kernel_phys_base);
  puts_(" flags="); hex(info->flags); puts_(" running_at="); hex((unsigned long)&kernel_main); puts_("\\n");
  puts_("KERNEL: framebuffer="); hex(info->framebuffer.base); puts_(" "); dec(info->framebuffer.width); puts_("x"); dec(info->framebuffer.height);
  puts_(" format="); dec(info->framebuffer.format); puts_(" rsdp="); hex(info->acpi_rsdp); puts_(" dtb="); hex(info->device_tree);
  puts_(" serial="); dec(info->serial_kind); puts_("@"); hex(info->serial_base); puts_("\\n");
  puts_("KERNEL: loader_ticks="); dec(info->loader_ticks); puts_(" counter_hz="); dec(info->counter_hz); puts_(" loader_us=");
  unsigned long per_us = info->counter_hz / 1000000 ? info->counter_hz / 1000000 : 1;
  dec(info->loader_ticks / per_us); puts_(" exit_us="); dec(info->exit_ticks / per_us); puts_("\\n");
  puts_("KERNEL: pad="); byte2(kernel_pad[0]); puts_(" done\\n");
  finish(0);
}
`;

export const START_S = `    .section .text.start, "ax"
    .globl _start
_start:
#if defined(__x86_64__)
    call kernel_main
1:  hlt
    jmp 1b
#else
    bl kernel_main
1:  wfi
    b 1b
#endif
`;

/** One linker script for identity and higher-half kernels: --defsym KERNEL_VMA / KERNEL_LMA. */
export const LINK_LD = `ENTRY(_start)
SECTIONS {
  . = KERNEL_VMA;
  .text : AT(KERNEL_LMA) { *(.text.start) *(.text*) }
  .rodata : { *(.rodata*) }
  .data : { *(.data*) }
  .bss : { *(.bss*) *(COMMON) }
  /DISCARD/ : { *(.comment) *(.note*) *(.eh_frame*) }
}
`;
