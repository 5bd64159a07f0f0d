/*
 * NØNOS PVH entry for QEMU -kernel. QEMU refuses an ELF64 multiboot kernel, but loads any ELF with
 * a XEN_ELFNOTE_PHYS32_ENTRY note (Xen include/public/elfnote.h, type 18) and starts that entry in
 * 32-bit protected mode, paging off, EBX = the hvm_start_info (Xen arch-x86/hvm/start_info.h).
 * We identity-map the first 1 GiB with 2 MiB pages, enter long mode and jump to kernel_main.
 */
    .section .note.Xen, "a", @note
    .p2align 2
    .long 4                 /* name size */
    .long 4                 /* descriptor size */
    .long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long pvh_start32

    .section .bss.boot, "aw", @nobits
    .p2align 12
boot_pml4:  .skip 4096
boot_pdpt:  .skip 4096
boot_pd:    .skip 4096
boot_stack: .skip 65536
boot_stack_top:

    .section .rodata.boot, "a"
    .p2align 3
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF    /* 0x08: 64-bit code */
    .quad 0x00CF92000000FFFF    /* 0x10: data */
boot_gdt_ptr:
    .word boot_gdt_ptr - boot_gdt - 1
    .quad boot_gdt

    .section .text.boot, "ax"
    .code32
    .global pvh_start32
pvh_start32:
    cli
    movl $boot_stack_top, %esp
    movl %ebx, %esi                     /* hvm_start_info -> kernel_main's 1st argument later */
    /* Zero the page tables (the loader zeroes .bss, but be independent of it). */
    movl $boot_pml4, %edi
    movl $(3 * 4096 / 4), %ecx
    xorl %eax, %eax
    rep stosl
    movl $boot_pdpt, %eax
    orl $3, %eax
    movl %eax, boot_pml4
    movl $boot_pd, %eax
    orl $3, %eax
    movl %eax, boot_pdpt
    xorl %ecx, %ecx
1:  movl %ecx, %eax
    shll $21, %eax
    orl $0x83, %eax                     /* present | writable | 2 MiB */
    movl %eax, boot_pd(,%ecx,8)
    incl %ecx
    cmpl $512, %ecx
    jne 1b
    movl $boot_pml4, %eax
    movl %eax, %cr3
    movl %cr4, %eax
    orl $(1 << 5), %eax                 /* PAE */
    movl %eax, %cr4
    movl $0xC0000080, %ecx              /* EFER.LME */
    rdmsr
    orl $(1 << 8), %eax
    wrmsr
    movl %cr0, %eax
    orl $0x80000001, %eax               /* PG | PE */
    movl %eax, %cr0
    lgdt boot_gdt_ptr
    ljmp $0x08, $long_mode

    .code64
long_mode:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movq $boot_stack_top, %rsp
    movl %esi, %edi                     /* zero-extended start_info pointer */
    call kernel_main
2:  hlt
    jmp 2b
