/*
 * void swtch(struct context **old, struct context *new);  (x86_64 SysV: %rdi, %rsi)
 * Saves the callee-saved registers on the current stack, stores the stack pointer in *old,
 * switches to new and restores its registers. The return address is the saved %rip.
 */
        .text
        .globl swtch
swtch:
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        ret
