/*
 * ExoV6 x86_64 entry. QEMU's `-kernel` refuses ELF64 multiboot kernels, so the kernel carries a
 * PVH ELF note (Xen public/elfnote.h: XEN_ELFNOTE_PHYS32_ENTRY = 18, owner "Xen"): QEMU loads the
 * ELF at its physical (LMA) addresses and jumps to `pvh_start` in 32-bit protected mode, paging
 * off, %ebx = physical address of the hvm_start_info (x86/HVM direct boot ABI, Xen docs).
 *
 * pvh_start builds 4-level page tables (identity map of the first 4 GiB with 2 MiB pages, and the
 * first 1 GiB again at KERNBASE = 0xffffffff80000000), enables PAE + long mode + paging, loads a
 * 64-bit GDT and jumps to the higher-half kernel (kmain).
 */
#include "memlayout.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18

        .section .note.Xen, "a", @note
        .p2align 2
        .long 4                         /* namesz: "Xen\0" */
        .long 4                         /* descsz */
        .long XEN_ELFNOTE_PHYS32_ENTRY  /* type */
        .asciz "Xen"
        .long pvh_start                 /* physical 32-bit entry */

        .section .boot.text, "ax", @progbits
        .code32
        .globl pvh_start
pvh_start:
        cli
        movl    %ebx, boot_start_info         /* hvm_start_info, for kmain */
        movl    $boot_stack_top, %esp

        /* PML4[0] -> identity PDPT, PML4[511] -> higher-half PDPT. */
        movl    $boot_pdpt_low, %eax
        orl     $0x3, %eax
        movl    %eax, boot_pml4
        movl    $boot_pdpt_high, %eax
        orl     $0x3, %eax
        movl    %eax, boot_pml4 + 511 * 8

        /* Identity PDPT[0..3] -> the four page directories (4 GiB). */
        xorl    %ecx, %ecx
1:      movl    %ecx, %eax
        shll    $12, %eax
        addl    $boot_pd, %eax
        orl     $0x3, %eax
        movl    %eax, boot_pdpt_low(, %ecx, 8)
        incl    %ecx
        cmpl    $4, %ecx
        jne     1b
        /* Higher-half PDPT[510] -> the first page directory (KERNBASE maps physical 0..1 GiB). */
        movl    $boot_pd, %eax
        orl     $0x3, %eax
        movl    %eax, boot_pdpt_high + 510 * 8

        /* 2048 PD entries of 2 MiB: present | writable | page size; PCD|PWT above 3 GiB (MMIO). */
        xorl    %ecx, %ecx
2:      movl    %ecx, %eax
        shll    $21, %eax
        orl     $0x83, %eax
        cmpl    $1536, %ecx
        jb      3f
        orl     $0x18, %eax
3:      movl    %eax, boot_pd(, %ecx, 8)
        movl    %ecx, %eax
        shrl    $11, %eax
        movl    %eax, boot_pd + 4(, %ecx, 8)
        incl    %ecx
        cmpl    $2048, %ecx
        jne     2b

        movl    %cr4, %eax
        orl     $(1 << 5), %eax                /* PAE */
        movl    %eax, %cr4
        movl    $boot_pml4, %eax
        movl    %eax, %cr3
        movl    $0xC0000080, %ecx              /* EFER */
        rdmsr
        orl     $(1 << 8), %eax                /* LME */
        wrmsr
        movl    %cr0, %eax
        orl     $((1 << 31) | (1 << 16) | 1), %eax   /* PG | WP | PE */
        movl    %eax, %cr0

        lgdt    boot_gdt_desc
        ljmp    $0x08, $long_mode_low

        .code64
long_mode_low:
        movw    $0x10, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %ss
        xorw    %ax, %ax
        movw    %ax, %fs
        movw    %ax, %gs
        /* Now jump to the higher half: 64-bit absolute addresses, no 32-bit relocations. */
        movabsq $kstack_top, %rsp
        movabsq $higher_half, %rax
        jmp     *%rax

        .section .boot.data, "aw", @progbits
        .p2align 3
boot_gdt:
        .quad   0
        .quad   0x00AF9A000000FFFF              /* 0x08: 64-bit code */
        .quad   0x00CF92000000FFFF              /* 0x10: data */
boot_gdt_desc:
        .word   boot_gdt_desc - boot_gdt - 1
        .long   boot_gdt
        .globl  boot_start_info
boot_start_info:
        .long   0

        .section .boot.bss, "aw", @nobits
        .p2align 12
boot_pml4:      .skip 4096
boot_pdpt_low:  .skip 4096
boot_pdpt_high: .skip 4096
boot_pd:        .skip 4096 * 4
boot_stack:     .skip 4096
boot_stack_top:

        .text
higher_half:
        xorl    %ebp, %ebp
        movabsq $boot_start_info, %rax          /* still identity-mapped */
        movl    (%rax), %edi                    /* argument: physical address of hvm_start_info */
        call    kmain
4:      cli
        hlt
        jmp     4b

        .bss
        .p2align 12
        .globl kstack
kstack: .skip KSTACKSIZE
kstack_top:
