//! COM1 (16550 UART at 0x3f8) and QEMU's isa-debug-exit device (0xf4).

const COM1: u16 = 0x3f8;

fn outb(port: u16, value: u8) void {
    asm volatile ("outb %[value], %[port]"
        :
        : [value] "{al}" (value),
          [port] "{dx}" (port),
    );
}

fn inb(port: u16) u8 {
    return asm volatile ("inb %[port], %[value]"
        : [value] "={al}" (-> u8),
        : [port] "{dx}" (port),
    );
}

pub fn init() void {
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x80);
    outb(COM1 + 0, 0x01);
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03);
    outb(COM1 + 2, 0xc7);
}

fn putc(c: u8) void {
    while (inb(COM1 + 5) & 0x20 == 0) {}
    outb(COM1, c);
}

pub fn write(text: []const u8) void {
    for (text) |c| {
        if (c == '\n') putc('\r');
        putc(c);
    }
}

/// Writes `label`, the decimal value and a newline.
pub fn print(label: []const u8, value: u32) void {
    write(label);
    var digits: [10]u8 = undefined;
    var n: usize = 0;
    var v = value;
    while (true) {
        digits[n] = @as(u8, @intCast(v % 10)) + '0';
        n += 1;
        v /= 10;
        if (v == 0) break;
    }
    while (n > 0) {
        n -= 1;
        putc(digits[n]);
    }
    write("\n");
}

/// isa-debug-exit: QEMU exits with (code << 1) | 1.
pub fn qemuExit(code: u8) void {
    outb(0xf4, code);
}
