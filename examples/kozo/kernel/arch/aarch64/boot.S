/*
 * KOZO aarch64 entry (assembled by clang through kiln's cc.obj, asm layer). Two ways in:
 * - _start, the ELF entry: QEMU's -kernel starts it at EL1 with the MMU off. Secondary cores park.
 * - kozo_kiln_entry, named by the kiln-boot note below: kiln-boot jumps there at EL1 with the MMU
 *   on (the firmware's identity map), DAIF masked, x0 = the boot-info record.
 * Both allow FP/SIMD at EL1 (CPACR_EL1.FPEN = 0b11: the kernel itself is built without FP, but
 * compiler_rt helpers may touch SIMD registers), install the vector table, zero .bss and call
 * kozo_aarch64_main(record or 0).
 */
.section .note.kiln-boot, "a", @note
.balign 4
    .long 10                            /* namesz: "kiln-boot" and its NUL */
    .long 8                             /* descsz */
    .long 1                             /* type: KILN_BOOT_NOTE_ENTRY */
    .asciz "kiln-boot"
    .balign 4
    .quad kozo_kiln_entry

.section .text.boot, "ax"
.global _start
_start:
    mrs x1, mpidr_el1
    and x1, x1, #0xff
    cbnz x1, park
    mov x19, #0                         /* no boot-info record */
    b common
.global kozo_kiln_entry
kozo_kiln_entry:
    mov x19, x0                         /* the boot-info record */
common:
    ldr x1, =stack_top
    mov sp, x1
    mov x1, #(3 << 20)
    msr cpacr_el1, x1
    ldr x1, =kozo_vectors
    msr vbar_el1, x1
    isb
    ldr x1, =__bss_start
    ldr x2, =__bss_end
1:  cmp x1, x2
    b.hs 2f
    str xzr, [x1], #8
    b 1b
2:  mov x0, x19
    bl kozo_aarch64_main
park:
    wfe
    b park

/* Exception vectors (ARM DDI 0487, D1.10.2): 16 entries of 0x80 bytes, 2 KiB aligned. IRQs
   (current EL with SP_EL0 or SP_ELx: entries 1 and 5) go to kozo_aarch64_irq; everything else
   is reported by kozo_aarch64_unexpected. */
.macro vector index
    .balign 128
    mov x0, #\index
    b unexpected
.endm
.macro irq_vector
    .balign 128
    b irq
.endm

.section .text.vectors, "ax"
.balign 2048
.global kozo_vectors
kozo_vectors:
    vector 0
    irq_vector
    vector 2
    vector 3
    vector 4
    irq_vector
    vector 6
    vector 7
    vector 8
    vector 9
    vector 10
    vector 11
    vector 12
    vector 13
    vector 14
    vector 15

/* Saves the caller-saved registers (AAPCS64: x0-x18, x30; x29 with it), calls the handler. */
irq:
    sub sp, sp, #176
    stp x0, x1, [sp, #0]
    stp x2, x3, [sp, #16]
    stp x4, x5, [sp, #32]
    stp x6, x7, [sp, #48]
    stp x8, x9, [sp, #64]
    stp x10, x11, [sp, #80]
    stp x12, x13, [sp, #96]
    stp x14, x15, [sp, #112]
    stp x16, x17, [sp, #128]
    stp x18, x29, [sp, #144]
    str x30, [sp, #160]
    bl kozo_aarch64_irq
    ldp x0, x1, [sp, #0]
    ldp x2, x3, [sp, #16]
    ldp x4, x5, [sp, #32]
    ldp x6, x7, [sp, #48]
    ldp x8, x9, [sp, #64]
    ldp x10, x11, [sp, #80]
    ldp x12, x13, [sp, #96]
    ldp x14, x15, [sp, #112]
    ldp x16, x17, [sp, #128]
    ldp x18, x29, [sp, #144]
    ldr x30, [sp, #160]
    add sp, sp, #176
    eret

unexpected:
    mrs x1, esr_el1
    mrs x2, elr_el1
    bl kozo_aarch64_unexpected
    b park

.section .bss.stack, "aw", @nobits
.balign 16
stack: .skip 65536
stack_top:

.section .note.GNU-stack, "", @progbits
