; Portix interrupt service routines (nasm -f elf64, linked into the Rust kernel).
; isr_timer: IRQ 0 (vector 32) -> timer_handler(), EOI to the master PIC.
; isr_exc0..31: CPU exceptions -> exception_handler(vector, error_code, rip), which never returns.
bits 64
section .text

extern timer_handler
extern exception_handler

global isr_timer
isr_timer:
    ; The CPU pushed 5 qwords on a 16-byte aligned stack; 9 more keep the call aligned.
    push rax
    push rcx
    push rdx
    push rsi
    push rdi
    push r8
    push r9
    push r10
    push r11
    cld
    call timer_handler
    mov al, 0x20
    out 0x20, al
    pop r11
    pop r10
    pop r9
    pop r8
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rax
    iretq

%macro EXCEPTION 1
global isr_exc%1
isr_exc%1:
%if %1 != 8 && %1 != 10 && %1 != 11 && %1 != 12 && %1 != 13 && %1 != 14 && %1 != 17 && %1 != 21 && %1 != 29 && %1 != 30
    push 0                      ; no error code from the CPU: keep the frame uniform
%endif
    push %1
    jmp exception_common
%endmacro

%assign i 0
%rep 32
EXCEPTION i
%assign i i+1
%endrep

exception_common:
    mov rdi, [rsp]              ; vector
    mov rsi, [rsp + 8]          ; error code
    mov rdx, [rsp + 16]         ; rip
    and rsp, -16
    call exception_handler
.hang:
    cli
    hlt
    jmp .hang

section .rodata
global isr_exception_table
isr_exception_table:
%assign i 0
%rep 32
    dq isr_exc %+ i
%assign i i+1
%endrep
