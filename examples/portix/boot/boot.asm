; Portix stage 1: the 512-byte boot sector at LBA 0.
; Loads stage 2 (64 sectors from LBA 1) and jumps to it. Sectors are read one at a time by
; read_lba: BIOS int 13h extended read, falling back to CHS (int 13h AH=02 with the geometry
; from AH=08) where extended reads are missing — e.g. SeaBIOS's El Torito hard-disk emulation.
; Stage 2 calls read_lba through the pointer at 0x7c07, so both stages share one disk routine.
; Bytes 446..509 stay zero: kiln writes the FAT storage partition's entry there.
; When chainloaded (ventoy-sim), BX = 0x5654 and DS:SI points at our partition entry: every
; LBA is then relative to that partition's start (base_lba).
bits 16
org 0x7c00

%define STAGE2_ADDR    0x7e00
%define STAGE2_SECTORS 64

start:
    jmp short main
    nop
base_lba:    dd 0               ; 0x7c03: first LBA of this image on the boot disk
read_vector: dw read_lba        ; 0x7c07: stage 2 calls [0x7c07]
drive:       db 0               ; 0x7c09: BIOS drive number

main:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    cmp bx, 0x5654              ; 'VT': chainloaded from a larger disk
    jne .direct
    mov eax, [si + 8]           ; partition entry: start LBA
    mov [base_lba], eax
.direct:
    sti
    mov [drive], dl
    mov eax, 1                  ; stage 2 starts at LBA 1 of the image
    mov bx, STAGE2_ADDR
    mov cx, STAGE2_SECTORS
.next:
    call read_lba
    jc error
    inc eax
    add bx, 512
    loop .next
    mov dl, [drive]
    jmp 0x0000:STAGE2_ADDR

; read_lba: reads one sector. EAX = LBA inside the image, ES:BX = buffer. CF set on error.
; Preserves every register.
read_lba:
    pushad
    add eax, [base_lba]
    mov [dap_lba], eax
    mov [dap_offset], bx
    mov [dap_segment], es
    mov si, dap
    mov ah, 0x42
    mov dl, [drive]
    int 0x13
    jnc .done
    ; CHS fallback.
    mov eax, [dap_lba]
    push eax
    push es
    mov ah, 0x08
    mov dl, [drive]
    int 0x13                    ; CL[5:0] = sectors per track, DH = last head
    pop es
    pop eax
    jc .done
    movzx ecx, cl
    and cl, 0x3f                ; sectors per track
    movzx esi, dh
    inc esi                     ; heads
    xor edx, edx
    div ecx                     ; eax = LBA / spt, edx = LBA % spt
    inc dl
    mov [chs_sector], dl
    xor edx, edx
    div esi                     ; eax = cylinder, edx = head
    mov dh, dl
    mov ch, al
    mov cl, ah
    shl cl, 6
    or cl, [chs_sector]
    mov dl, [drive]
    mov bx, [dap_offset]
    mov ax, 0x0201
    int 0x13
.done:
    popad
    ret

error:
    mov si, msg_error
.print:
    lodsb
    test al, al
    jz .halt
    mov dx, 0x3f8
    out dx, al
    jmp .print
.halt:
    cli
    hlt
    jmp .halt

dap:         db 0x10, 0
             dw 1
dap_offset:  dw 0
dap_segment: dw 0
dap_lba:     dq 0
chs_sector:  db 0
msg_error:   db 'Portix stage1: disk read error', 13, 10, 0

times 446 - ($ - $$) db 0
times 64 db 0                   ; partition table (written by kiln)
dw 0xaa55
