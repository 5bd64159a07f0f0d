//! Output on the UEFI console (ConOut: the screen, and the serial port when the firmware mirrors
//! it there, as OVMF and AAVMF do). Lines are UTF-8 formatted, converted to UCS-2, `\n` → `\r\n`.
const std = @import("std");
const uefi = std.os.uefi;
const arch = @import("arch.zig");

/// Counter ticks spent inside the firmware's OutputString (the loader reports them: on a slow
/// console they are a visible share of the boot time).
pub var ticks: u64 = 0;

var line_buf: [1024]u8 = undefined;

/// Writes `kiln-boot: ` + the formatted text + a new line.
pub fn print(comptime fmt: []const u8, args: anytype) void {
    const text = std.fmt.bufPrint(&line_buf, "kiln-boot: " ++ fmt ++ "\n", args) catch line_buf[0..];
    write(text);
}

/// Writes UTF-8 text as it is (ASCII only is expected; other bytes become '?').
pub fn write(text: []const u8) void {
    const out = uefi.system_table.con_out orelse return;
    const t = arch.counter();
    defer ticks += arch.counter() - t;
    var chunk: [129:0]u16 = undefined;
    var n: usize = 0;
    for (text) |c| {
        if (c == '\n') {
            chunk[n] = '\r';
            n += 1;
        }
        chunk[n] = if (c < 0x80) c else '?';
        n += 1;
        if (n >= 126) {
            chunk[n] = 0;
            _ = out.outputString(&chunk);
            n = 0;
        }
    }
    if (n > 0) {
        chunk[n] = 0;
        _ = out.outputString(&chunk);
    }
}

/// `221 KiB` / `3 MiB` / `512 bytes`.
pub fn formatSize(buf: []u8, bytes: u64) []const u8 {
    if (bytes < 1024) return std.fmt.bufPrint(buf, "{d} bytes", .{bytes}) catch "?";
    if (bytes < 10 << 20) return std.fmt.bufPrint(buf, "{d} KiB", .{(bytes + 1023) / 1024}) catch "?";
    return std.fmt.bufPrint(buf, "{d} MiB", .{(bytes + (1 << 20) - 1) >> 20}) catch "?";
}
