; Portix stage 2 (at most 64 sectors, loaded at 0x7e00 by stage 1).
; Loads the kernel (through stage 1's disk routine) to 0x10000, enables A20, builds identity page
; tables for the first GiB, enters long mode, copies the kernel to 1 MiB and jumps to it.
; kernel_lba and kernel_sectors are patched by kiln from the disk layout (one source of truth:
; kiln.config.ts); the values below are only placeholders.
bits 16
org 0x7e00

%ifndef VERBOSE
%define VERBOSE 0
%endif
%define LOAD_SEG   0x1000       ; kernel staging buffer at 0x10000 (up to 384 KiB)
%define KERNEL_ADDR 0x100000
%define PAGE_TABLES 0x70000

stage2:
    jmp short main              ; offset 0
    nop
    nop
kernel_lba:     dd 0            ; offset 4: kernel LBA inside the image   (patched by kiln)
kernel_sectors: dw 0            ; offset 8: kernel size in sectors        (patched by kiln)
verbose:        db VERBOSE      ; offset 10

main:
    call serial_init
    mov si, msg_hello
    call puts
    cmp word [kernel_sectors], 0
    je fail_unpatched
    cmp word [kernel_sectors], 768
    ja fail_too_big

    ; A20 through the fast gate (port 0x92).
    in al, 0x92
    or al, 2
    and al, 0xfe
    out 0x92, al

    ; Load the kernel sector by sector with stage 1's read_lba (extended read or CHS).
    mov eax, [kernel_lba]
    mov cx, [kernel_sectors]
    mov bx, LOAD_SEG
.load:
    mov es, bx
    push bx
    xor bx, bx
    call [0x7c07]               ; stage 1: read_lba(EAX, ES:BX)
    pop bx
    jc fail_disk
    inc eax
    add bx, 512 / 16
    loop .load
    xor bx, bx
    mov es, bx
.loaded:
    cmp byte [verbose], 0
    je .quiet
    mov si, msg_loaded
    call puts
.quiet:
    cli
    ; Page tables: PML4, PDPT, PD (512 x 2 MiB identity pages).
    mov ax, PAGE_TABLES >> 4
    mov es, ax
    xor di, di
    xor eax, eax
    mov ecx, 3 * 1024
    rep stosd
    mov dword [es:0x0000], PAGE_TABLES + 0x1003
    mov dword [es:0x1000], PAGE_TABLES + 0x2003
    mov di, 0x2000
    mov eax, 0x83               ; present, writable, 2 MiB page
    mov ecx, 512
.pd:
    mov [es:di], eax
    mov dword [es:di + 4], 0
    add eax, 0x200000
    add di, 8
    loop .pd
    xor ax, ax
    mov es, ax

    lgdt [gdt_desc]
    mov eax, cr4
    or eax, 1 << 5              ; PAE
    mov cr4, eax
    mov eax, PAGE_TABLES
    mov cr3, eax
    mov ecx, 0xc0000080         ; EFER
    rdmsr
    or eax, 1 << 8              ; LME
    wrmsr
    mov eax, cr0
    or eax, 0x80000001          ; PG | PE: straight from real mode into long mode
    mov cr0, eax
    jmp 0x08:long_mode

fail_disk:
    mov si, msg_disk
    jmp fail
fail_unpatched:
    mov si, msg_unpatched
    jmp fail
fail_too_big:
    mov si, msg_too_big
fail:
    call puts
.halt:
    cli
    hlt
    jmp .halt

serial_init:                    ; COM1, 115200 8N1
    mov dx, 0x3f9
    xor al, al
    out dx, al
    mov dx, 0x3fb
    mov al, 0x80
    out dx, al
    mov dx, 0x3f8
    mov al, 1
    out dx, al
    mov dx, 0x3f9
    xor al, al
    out dx, al
    mov dx, 0x3fb
    mov al, 3
    out dx, al
    mov dx, 0x3fa
    mov al, 0xc7
    out dx, al
    ret

puts:                           ; DS:SI zero-terminated
    lodsb
    test al, al
    jz .done
    mov ah, al
    mov dx, 0x3fd
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    mov al, ah
    mov dx, 0x3f8
    out dx, al
    jmp puts
.done:
    ret

bits 64
long_mode:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov fs, ax
    mov gs, ax
    mov rsi, LOAD_SEG << 4
    mov rdi, KERNEL_ADDR
    movzx rcx, word [kernel_sectors]
    shl rcx, 9
    cld
    rep movsb
    mov rsp, 0x90000
    movzx rdi, byte [verbose]   ; first argument of the kernel's _start
    mov rax, KERNEL_ADDR
    jmp rax

align 8
gdt:
    dq 0
    dq 0x00af9a000000ffff       ; 0x08: 64-bit code
    dq 0x00cf92000000ffff       ; 0x10: data
gdt_desc:
    dw gdt_desc - gdt - 1
    dd gdt


msg_hello:      db 'Portix stage2: loading kernel', 13, 10, 0
msg_loaded:     db 'Portix stage2: kernel loaded, entering long mode', 13, 10, 0
msg_disk:       db 'Portix stage2: disk read error', 13, 10, 0
msg_unpatched:  db 'Portix stage2: kernel location not patched (build with kiln)', 13, 10, 0
msg_too_big:    db 'Portix stage2: kernel larger than 384 KiB', 13, 10, 0
