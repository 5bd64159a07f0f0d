/*
 * tinyc's BIOS boot block (at most 510 bytes: kiln pads it and writes the 0x55AA signature).
 * Loads 64 sectors from LBA 1 of the boot disk to 0x10000 with INT 13h extensions, enables A20,
 * enters 32-bit protected mode with flat segments and jumps to the kernel.
 */
	.code16
	.section .text
	.globl _start
_start:
	cli
	xorw %ax, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw $0x7c00, %sp
	sti
	movw $dap, %si
	movb $0x42, %ah
	int $0x13
	jc fail
	inb $0x92, %al
	orb $2, %al
	outb %al, $0x92
	cli
	lgdt gdt_desc
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmp $0x08, $protected

fail:
	movw $0x3f8, %dx
	movb $'!', %al
	outb %al, %dx
1:	hlt
	jmp 1b

	.code32
protected:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %fs
	movw %ax, %gs
	movw %ax, %ss
	movl $0x90000, %esp
	movl $0x10000, %eax
	jmp *%eax

	.balign 8
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff /* code: base 0, limit 4 GiB, 32-bit */
	.quad 0x00cf92000000ffff /* data */
gdt_desc:
	.word gdt_desc - gdt - 1
	.long gdt
dap:
	.byte 16, 0
	.word 64          /* sectors */
	.word 0, 0x1000   /* offset, segment: 0x10000 */
	.quad 1           /* first LBA */
