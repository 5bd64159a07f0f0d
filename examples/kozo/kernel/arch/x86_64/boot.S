/*
 * KOZO x86_64 entry (GNU as syntax, assembled by clang through kiln's cc.obj, asm layer).
 * Multiboot2 §3.1 header; GRUB enters _start32 in 32-bit protected mode with paging off,
 * EAX = 0x36d76289, EBX = the information address. We build page tables (identity map of the
 * first 1 GiB plus the same 1 GiB at the higher half, -2 GiB), enable PAE, long mode and NX
 * (EFER.LME, EFER.NXE), and jump to the higher-half kernel (code model "kernel").
 */
.set KERNEL_VMA, 0xffffffff80000000

.section .multiboot2, "a"
.balign 8
mb2_header:
    .long 0xe85250d6                    /* magic */
    .long 0                             /* architecture: i386 protected mode */
    .long mb2_header_end - mb2_header
    .long -(0xe85250d6 + (mb2_header_end - mb2_header))
    .balign 8
    .short 0, 0                         /* end tag */
    .long 8
mb2_header_end:

/* kiln-boot's entry note (name "kiln-boot", type 1 KILN_BOOT_NOTE_ENTRY): GRUB takes the ELF
   entry (_start32, 32-bit), kiln-boot jumps to this 64-bit address with its boot-info record. */
.section .note.kiln-boot, "a", @note
.balign 4
    .long 10                            /* namesz: "kiln-boot" and its NUL */
    .long 8                             /* descsz */
    .long 1                             /* type */
    .asciz "kiln-boot"
    .balign 4
    .quad kozo_kiln_entry

.section .boot.text, "ax"
.code32
.global _start32
_start32:
    cli
    mov $boot_stack_top, %esp
    mov %eax, %edi                      /* multiboot2 magic  -> 1st argument */
    mov %ebx, %esi                      /* information address -> 2nd argument */

    /* PML4[0] and PML4[511] -> PDPT tables; PDPT_low[0] and PDPT_high[510] -> one PD of 2 MiB pages. */
    mov $pdpt_low, %eax
    or $3, %eax
    mov %eax, pml4
    mov $pdpt_high, %eax
    or $3, %eax
    mov %eax, pml4 + 511 * 8
    mov $pd, %eax
    or $3, %eax
    mov %eax, pdpt_low
    mov %eax, pdpt_high + 510 * 8
    xor %ecx, %ecx
1:  mov %ecx, %eax
    shl $21, %eax
    or $0x83, %eax                      /* present, writable, 2 MiB page */
    mov %eax, pd(, %ecx, 8)
    inc %ecx
    cmp $512, %ecx
    jne 1b

    mov %cr4, %eax
    or $(1 << 5), %eax                  /* PAE */
    mov %eax, %cr4
    mov $pml4, %eax
    mov %eax, %cr3
    mov $0xc0000080, %ecx               /* EFER */
    rdmsr
    or $((1 << 8) | (1 << 11)), %eax    /* LME, NXE */
    wrmsr
    mov %cr0, %eax
    or $((1 << 31) | 1), %eax           /* PG, PE */
    mov %eax, %cr0
    lgdt gdt64_ptr
    ljmp $0x08, $long_mode

.code64
long_mode:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %ax, %ax
    mov %ax, %fs
    mov %ax, %gs
    movabs $higher_half, %rax
    jmp *%rax

.balign 8
gdt64:
    .quad 0
    .quad 0x00af9a000000ffff            /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff            /* 0x10: data */
gdt64_end:
gdt64_ptr:
    .short gdt64_end - gdt64 - 1
    .long gdt64

.section .text.kozo_entry, "ax"
higher_half:
    movabs $kernel_stack_top, %rsp
    mov %edi, %edi                      /* zero-extend both arguments */
    mov %esi, %esi
    xor %ebp, %ebp
    call kozo_x86_64_main
2:  cli
    hlt
    jmp 2b

/* kiln-boot's entry (the loader reads it from the note below): already in long mode on the
   loader's page tables, interrupts off, rdi = boot-info record. Same stack and EFER.NXE as the
   multiboot2 path; the loader's tables set no NX bit, so NXE changes nothing in them. */
.global kozo_kiln_entry
kozo_kiln_entry:
    movabs $kernel_stack_top, %rsp
    xor %ebp, %ebp
    mov %rdi, %r12
    mov $0xc0000080, %ecx               /* EFER */
    rdmsr
    or $(1 << 11), %eax                 /* NXE */
    wrmsr
    mov %r12, %rdi
    call kozo_x86_64_kiln_main
3:  cli
    hlt
    jmp 3b

/* void kozo_cpuid(u32 leaf, u32 out[4]) (System V: rdi, rsi) */
.global kozo_cpuid
.type kozo_cpuid, @function
kozo_cpuid:
    push %rbx
    mov %edi, %eax
    xor %ecx, %ecx
    cpuid
    mov %eax, 0(%rsi)
    mov %ebx, 4(%rsi)
    mov %ecx, 8(%rsi)
    mov %edx, 12(%rsi)
    pop %rbx
    ret
.size kozo_cpuid, . - kozo_cpuid

.section .boot.bss, "aw", @nobits
.balign 4096
pml4:      .skip 4096
pdpt_low:  .skip 4096
pdpt_high: .skip 4096
pd:        .skip 4096
boot_stack: .skip 4096
boot_stack_top:

.section .data.kozo, "aw"
/* The boot protocol this kernel was entered by (kept in .data so the RW segment has file
   contents: kiln's ELF reader refuses a filesz-0 PT_LOAD whose offset lies past a stripped file's end). */
.global kozo_boot_protocol
kozo_boot_protocol: .ascii "multiboot2\0"

.section .bss.kozo_stack, "aw", @nobits
.balign 16
kernel_stack: .skip 65536
kernel_stack_top:

.section .note.GNU-stack, "", @progbits
