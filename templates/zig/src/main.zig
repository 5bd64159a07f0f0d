//! A freestanding Zig kernel for QEMU's multiboot loader (-kernel): 32-bit protected mode, no paging.

/// The multiboot v1 header: magic, flags, checksum (they sum to zero). The linker script keeps it first.
const MultibootHeader = extern struct { magic: u32, flags: u32, checksum: u32 };
const MAGIC: u32 = 0x1BADB002;
export const multiboot_header linksection(".multiboot") = MultibootHeader{
    .magic = MAGIC,
    .flags = 0,
    .checksum = 0 -% MAGIC,
};

// Entry: a stack, then kmain. QEMU jumps here with the multiboot magic in eax.
comptime {
    asm (
        \\.section .bss
        \\.align 16
        \\stack_bottom: .skip 16384
        \\stack_top:
        \\.section .text
        \\.global _start
        \\_start:
        \\  mov $stack_top, %esp
        \\  call kmain
        \\1: hlt
        \\  jmp 1b
    );
}

const serial = @import("serial.zig");

export fn kmain() callconv(.C) noreturn {
    serial.init();
    serial.write("Hello from __NAME__\n");
    serial.print("kernel: 6 * 7 = ", multiply(6, 7));
    serial.qemuExit(0);
    while (true) asm volatile ("hlt");
}

fn multiply(a: u32, b: u32) u32 {
    return a * b;
}

/// A panic prints its message on the serial port and stops the machine with a failing code.
pub fn panic(message: []const u8, _: ?*@import("std").builtin.StackTrace, _: ?usize) noreturn {
    serial.write("panic: ");
    serial.write(message);
    serial.write("\n");
    serial.qemuExit(1);
    while (true) asm volatile ("hlt");
}
