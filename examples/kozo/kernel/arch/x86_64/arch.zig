//! x86_64: COM1 console, CPUID feature report, multiboot2 boot information (the initrd is the
//! first module GRUB loaded), isa-debug-exit. boot.S switches to long mode and calls
//! kozo_x86_64_main with the multiboot2 magic and information address; through kiln-boot, it
//! calls kozo_x86_64_kiln_main with the boot-info record.
const kernel = @import("../../main.zig");
const kilnboot = @import("../../kilnboot.zig");

const COM1: u16 = 0x3f8;
const MB2_MAGIC: u32 = 0x36d76289;

extern fn kozo_cpuid(leaf: u32, out: *[4]u32) void;

fn outb(port: u16, v: u8) void {
    asm volatile ("outb %[v], %[p]"
        :
        : [v] "{al}" (v),
          [p] "{dx}" (port),
    );
}
fn inb(port: u16) u8 {
    return asm volatile ("inb %[p], %[v]"
        : [v] "={al}" (-> u8),
        : [p] "{dx}" (port),
    );
}

fn serialInit() void {
    outb(COM1 + 1, 0x00); // no interrupts
    outb(COM1 + 3, 0x80); // DLAB
    outb(COM1 + 0, 0x01); // 115200 baud
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03); // 8N1
    outb(COM1 + 2, 0xc7); // FIFO
    outb(COM1 + 4, 0x03);
}

pub fn putc(c: u8) void {
    var spins: u32 = 0;
    while (inb(COM1 + 5) & 0x20 == 0 and spins < 100000) : (spins += 1) {}
    outb(COM1, c);
}

/// QEMU's isa-debug-exit (iobase 0xf4): QEMU exits with (code << 1) | 1; the CPU then halts.
pub fn exit(code: u8) noreturn {
    outb(0xf4, code);
    while (true) asm volatile ("cli; hlt");
}

pub fn describeCpu() void {
    var r: [4]u32 = undefined;
    kozo_cpuid(1, &r);
    const x2apic = r[2] & (1 << 21) != 0;
    const pae = r[3] & (1 << 6) != 0;
    kozo_cpuid(0x80000001, &r);
    const nx = r[3] & (1 << 20) != 0;
    kernel.print("cpu: long mode, higher-half kernel at 0x{x}, pae={} nx={} x2apic={}\n", .{ @intFromPtr(&kozo_x86_64_main), pae, nx, x2apic });
}

fn rd32(addr: usize) u32 {
    return @as(*align(1) const u32, @ptrFromInt(addr)).*;
}

fn cstr(addr: usize, max: usize) []const u8 {
    const p: [*]const u8 = @ptrFromInt(addr);
    var n: usize = 0;
    while (n < max and p[n] != 0) n += 1;
    return p[0..n];
}

/// kiln-boot's entry (boot.S `kozo_kiln_entry`, named by the kernel's kiln-boot note): 64-bit mode
/// on the loader's page tables (low memory identity-mapped, the kernel at its higher-half
/// addresses), rdi = the boot-info record.
export fn kozo_x86_64_kiln_main(info: u64) callconv(.C) noreturn {
    serialInit();
    const h = kilnboot.read(info) orelse {
        kernel.print("KOZO: entered at the kiln-boot entry without a kiln-boot record\n", .{});
        exit(5);
    };
    kernel.kmain(h.initrd, h.cmdline);
}

export fn kozo_x86_64_main(magic: u32, info: u32) callconv(.C) noreturn {
    serialInit();
    if (magic != MB2_MAGIC) {
        kernel.print("KOZO: not started by a multiboot2 loader (magic 0x{x})\n", .{magic});
        exit(5);
    }
    // Multiboot2 §3.6: total_size, reserved, then 8-aligned tags until type 0.
    const base: usize = info;
    const total = rd32(base);
    var off: usize = 8;
    var initrd: ?[]const u8 = null;
    var cmdline: []const u8 = "";
    while (off + 8 <= total) {
        const tag_type = rd32(base + off);
        const size = rd32(base + off + 4);
        if (tag_type == 0 or size < 8) break;
        switch (tag_type) {
            1 => cmdline = cstr(base + off + 8, size - 8),
            3 => if (initrd == null) {
                const start = rd32(base + off + 8);
                const end = rd32(base + off + 12);
                if (end > start) initrd = @as([*]const u8, @ptrFromInt(@as(usize, start)))[0 .. end - start];
            },
            else => {},
        }
        off += (size + 7) & ~@as(usize, 7);
    }
    kernel.kmain(initrd, cmdline);
}
