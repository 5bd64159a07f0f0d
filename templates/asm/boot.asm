; Minimal BIOS boot sector: serial output on COM1 (0x3f8), then isa-debug-exit (0xf4).
bits 16
org 0x7c00

start:
    cli
    xor ax, ax
    mov ds, ax
    mov si, message
.next:
    lodsb
    test al, al
    jz .done
    mov dx, 0x3fd          ; line status: wait for the transmitter
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    mov al, [si - 1]
    mov dx, 0x3f8
    out dx, al
    jmp .next
.done:
    mov dx, 0xf4           ; isa-debug-exit: QEMU exits with (0 << 1) | 1 = 1
    xor ax, ax
    out dx, al
.halt:
    hlt
    jmp .halt

message: db 'Hello from __NAME__', 13, 10, 0

times 510 - ($ - $$) db 0
dw 0xaa55
