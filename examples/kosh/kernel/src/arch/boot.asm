; Kosh x86_64 entry. GRUB (multiboot2) enters _start in 32-bit protected mode with paging off,
; EAX = 0x36d76289 and EBX = the multiboot2 information. We identity-map the first 1 GiB with
; 2 MiB pages, enable PAE + long mode + paging, load a 64-bit GDT and call kernel_main(magic, info).
; Multiboot2 specification, §3.1 (header) and §3.3 (machine state).

section .multiboot2 progbits alloc noexec nowrite align=8
mb2_header:
    dd 0xE85250D6                   ; magic
    dd 0                            ; architecture: i386 protected mode
    dd mb2_end - mb2_header         ; header length
    dd -(0xE85250D6 + 0 + (mb2_end - mb2_header))
    dw 0, 0                         ; end tag
    dd 8
mb2_end:

section .bss nobits alloc noexec write align=4096
pml4:   resb 4096
pdpt:   resb 4096
pd:     resb 4096
stack_bottom:
    resb 64 * 1024
stack_top:

section .rodata progbits alloc noexec nowrite align=16
gdt64:
    dq 0
    dq 0x00AF9A000000FFFF           ; 0x08: 64-bit code, present, ring 0
    dq 0x00CF92000000FFFF           ; 0x10: data
gdt64_end:
gdt64_ptr:
    dw gdt64_end - gdt64 - 1
    dq gdt64

section .text.boot progbits alloc exec nowrite align=16
bits 32
global _start
extern kernel_main
_start:
    cli
    mov esp, stack_top
    mov edi, eax                    ; multiboot2 magic -> 1st argument
    mov esi, ebx                    ; information pointer -> 2nd argument

    mov eax, pdpt
    or eax, 0x3                     ; present | writable
    mov [pml4], eax
    mov eax, pd
    or eax, 0x3
    mov [pdpt], eax
    xor ecx, ecx
.map:
    mov eax, ecx
    shl eax, 21
    or eax, 0x83                    ; present | writable | 2 MiB page
    mov [pd + ecx * 8], eax
    mov dword [pd + ecx * 8 + 4], 0
    inc ecx
    cmp ecx, 512
    jne .map

    mov eax, pml4
    mov cr3, eax
    mov eax, cr4
    or eax, 1 << 5                  ; PAE
    mov cr4, eax
    mov ecx, 0xC0000080             ; EFER
    rdmsr
    or eax, 1 << 8                  ; LME
    wrmsr
    mov eax, cr0
    or eax, (1 << 31) | 1           ; PG | PE
    mov cr0, eax
    lgdt [gdt64_ptr]
    jmp 0x08:long_mode

bits 64
long_mode:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor ax, ax
    mov fs, ax
    mov gs, ax
    mov rsp, stack_top
    mov edi, edi                    ; zero-extend the two arguments
    mov esi, esi
    call kernel_main
.hang:
    hlt
    jmp .hang
