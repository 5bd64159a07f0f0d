// Entry for the Raspberry Pi 3 (BCM2837). QEMU's raspi3b loads the ELF at 0x80000 and starts core 0
// here; cores 1-3 wait in QEMU's spin table, and any core that does arrive is parked.
.section .text.boot
.global _start
_start:
    mrs     x1, mpidr_el1
    and     x1, x1, #3
    cbz     x1, 2f
1:  wfe
    b       1b
2:  ldr     x1, =_start            // the stack grows down from the kernel's load address
    mov     sp, x1
    ldr     x1, =__bss_start
    ldr     x2, =__bss_end
3:  cmp     x1, x2
    b.hs    4f
    str     xzr, [x1], #8
    b       3b
4:  bl      kmain
5:  wfe
    b       5b
