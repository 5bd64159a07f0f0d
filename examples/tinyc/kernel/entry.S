/* Kernel entry: the boot sector jumps here (0x10000) in 32-bit protected mode with flat segments. */
	.section .text.entry, "ax"
	.code32
	.globl _start
_start:
	movl $stack_top, %esp
	/* The flat binary carries no .bss: clear it. */
	movl $__bss_start, %edi
	movl $__bss_end, %ecx
	subl %edi, %ecx
	xorl %eax, %eax
	cld
	rep stosb
	call kmain
1:	hlt
	jmp 1b

	.section .bss
	.balign 16
stack:
	.skip 16384
stack_top:
