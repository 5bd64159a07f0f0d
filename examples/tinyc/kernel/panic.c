/* Stopping: a panic message, or leaving QEMU through isa-debug-exit. */
#include "io.h"
#include "kernel.h"
#include "kprintf.h"

void machine_exit(uint8_t code)
{
	outb(DEBUG_EXIT_PORT, code); /* QEMU exits with (code << 1) | 1 */
	for (;;)
		__asm__ volatile("cli; hlt");
}

void panic(const char *why)
{
	kprintf("PANIC: %s\n", why);
	for (;;)
		__asm__ volatile("cli; hlt");
}
