/*
 * KOZO aarch64 entry (assembled by clang through kiln's cc.obj, asm layer). QEMU's -kernel
 * starts an ELF at its entry in EL1 with the MMU off. Secondary cores park; the boot core
 * allows FP/SIMD at EL1 (CPACR_EL1.FPEN = 0b11: the kernel itself is built without FP, but
 * compiler_rt helpers may touch SIMD registers), zeroes .bss, and calls kozo_aarch64_main.
 */
.section .text.boot, "ax"
.global _start
_start:
    mrs x1, mpidr_el1
    and x1, x1, #0xff
    cbnz x1, park
    ldr x1, =stack_top
    mov sp, x1
    mov x1, #(3 << 20)
    msr cpacr_el1, x1
    isb
    ldr x1, =__bss_start
    ldr x2, =__bss_end
1:  cmp x1, x2
    b.hs 2f
    str xzr, [x1], #8
    b 1b
2:  bl kozo_aarch64_main
park:
    wfe
    b park

.section .bss.stack, "aw", @nobits
.balign 16
stack: .skip 65536
stack_top:

.section .note.GNU-stack, "", @progbits
