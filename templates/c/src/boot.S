/* Multiboot v1 header and entry: QEMU -kernel jumps to _start in 32-bit protected mode. */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0

    .section .multiboot, "a"
    .align 4
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

    .section .bss
    .align 16
stack_bottom:
    .skip 16384
stack_top:

    .section .text
    .global _start
_start:
    mov $stack_top, %esp
    call kmain
1:  hlt
    jmp 1b
