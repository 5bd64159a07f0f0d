/* The initrd (kiln's cpio() output) linked into the aarch64 kernel: kiln passes the CPIO's
   folder as an include path, and the assembler finds it by name. */
.section .rodata.initrd, "a"
.balign 16
.global kozo_initrd_start
.global kozo_initrd_end
kozo_initrd_start:
    .incbin "kozo-initrd.cpio"
kozo_initrd_end:

.section .note.GNU-stack, "", @progbits
