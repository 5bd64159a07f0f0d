; ventoy-sim: a chainloading MBR for a larger disk holding the Portix image as partition 1,
; the way Ventoy boots an image file: relocate to 0x600, read the image's first sector to
; 0x7c00 and jump to it with DL = drive, DS:SI = our partition entry and BX = 0x5654 ('VT').
bits 16
org 0x600

%ifndef IMAGE_LBA
%define IMAGE_LBA 2048
%endif
%ifndef IMAGE_SECTORS
%define IMAGE_SECTORS 16384
%endif

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    mov si, 0x7c00
    mov di, 0x600
    mov cx, 256
    rep movsw
    jmp 0:relocated
relocated:
    sti
    mov [drive], dl
    mov si, dap
    mov ah, 0x42
    int 0x13
    jc .halt
    mov si, partition1
    mov bx, 0x5654
    mov dl, [drive]
    jmp 0:0x7c00
.halt:
    hlt
    jmp .halt

dap:    db 0x10, 0
        dw 1
        dw 0x7c00, 0
        dq IMAGE_LBA
drive:  db 0

times 446 - ($ - $$) db 0
partition1:
    db 0x80, 0xfe, 0xff, 0xff   ; bootable, CHS start (LBA only)
    db 0x7f                     ; type: the embedded image
    db 0xfe, 0xff, 0xff         ; CHS end
    dd IMAGE_LBA
    dd IMAGE_SECTORS
times 510 - ($ - $$) db 0
dw 0xaa55
