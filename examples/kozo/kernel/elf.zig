//! Finds a named section in an ELF64 little-endian file (System V gABI, ch. 4 "Sections":
//! e_shoff/e_shentsize/e_shnum/e_shstrndx, section header sh_name/sh_offset/sh_size),
//! bounds-checked: a service binary from the initrd is untrusted input.
const std = @import("std");

pub const Error = error{ NotElf64, Truncated };

fn rd(comptime T: type, b: []const u8, off: usize) Error!T {
    if (off > b.len or b.len - off < @sizeOf(T)) return error.Truncated;
    return std.mem.readIntLittle(T, b[off..][0..@sizeOf(T)]);
}

/// The contents of section `name`, or null if the file has none.
pub fn section(b: []const u8, name: []const u8) Error!?[]const u8 {
    if (b.len < 64 or !std.mem.eql(u8, b[0..4], "\x7fELF") or b[4] != 2 or b[5] != 1) return error.NotElf64;
    const shoff = try rd(u64, b, 0x28);
    const shentsize = try rd(u16, b, 0x3a);
    const shnum = try rd(u16, b, 0x3c);
    const shstrndx = try rd(u16, b, 0x3e);
    if (shentsize < 64 or shstrndx >= shnum or shoff > b.len) return error.Truncated;
    const base: usize = @intCast(shoff);
    const strtab_hdr = base + @as(usize, shstrndx) * shentsize;
    const str_off = try rd(u64, b, strtab_hdr + 0x18);
    const str_size = try rd(u64, b, strtab_hdr + 0x20);
    if (str_off > b.len or b.len - str_off < str_size) return error.Truncated;
    const strtab = b[@intCast(str_off)..@intCast(str_off + str_size)];
    var i: usize = 0;
    while (i < shnum) : (i += 1) {
        const h = base + i * shentsize;
        const name_off = try rd(u32, b, h);
        if (name_off >= strtab.len) continue;
        const rest = strtab[name_off..];
        const end = std.mem.indexOfScalar(u8, rest, 0) orelse continue;
        if (!std.mem.eql(u8, rest[0..end], name)) continue;
        const off = try rd(u64, b, h + 0x18);
        const size = try rd(u64, b, h + 0x20);
        if (off > b.len or b.len - off < size) return error.Truncated;
        return b[@intCast(off)..@intCast(off + size)];
    }
    return null;
}

test "not an ELF" {
    try std.testing.expectError(error.NotElf64, section("hello", ".text"));
}
