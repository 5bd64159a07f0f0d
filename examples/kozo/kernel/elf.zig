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

/// A minimal ELF64 LE: header, ".shstrtab" + ".kozo.abi" names, the tag, three section headers.
fn buildElf(buf: []u8) usize {
    @memset(buf, 0);
    @memcpy(buf[0..4], "\x7fELF");
    buf[4] = 2; // ELFCLASS64
    buf[5] = 1; // little endian
    const names = "\x00.shstrtab\x00.kozo.abi\x00";
    const names_off: usize = 64;
    @memcpy(buf[names_off .. names_off + names.len], names);
    const tag_off: usize = 96;
    @memcpy(buf[tag_off .. tag_off + 8], "KOZOABI1");
    const shoff: usize = 128;
    std.mem.writeIntLittle(u64, buf[0x28..0x30], shoff);
    std.mem.writeIntLittle(u16, buf[0x3a..0x3c], 64);
    std.mem.writeIntLittle(u16, buf[0x3c..0x3e], 3);
    std.mem.writeIntLittle(u16, buf[0x3e..0x40], 1);
    // [1] .shstrtab
    const h1 = shoff + 64;
    std.mem.writeIntLittle(u32, buf[h1..][0..4], 1);
    std.mem.writeIntLittle(u64, buf[h1 + 0x18 ..][0..8], names_off);
    std.mem.writeIntLittle(u64, buf[h1 + 0x20 ..][0..8], names.len);
    // [2] .kozo.abi
    const h2 = shoff + 128;
    std.mem.writeIntLittle(u32, buf[h2..][0..4], 11);
    std.mem.writeIntLittle(u64, buf[h2 + 0x18 ..][0..8], tag_off);
    std.mem.writeIntLittle(u64, buf[h2 + 0x20 ..][0..8], 8);
    return shoff + 3 * 64;
}

test "finds a section by name, and null for an absent one" {
    var buf: [512]u8 = undefined;
    const len = buildElf(&buf);
    try std.testing.expectEqualStrings("KOZOABI1", (try section(buf[0..len], ".kozo.abi")).?);
    try std.testing.expect((try section(buf[0..len], ".text")) == null);
}

test "truncations and a section pointing past the end never read out of bounds" {
    var buf: [512]u8 = undefined;
    const len = buildElf(&buf);
    var cut: usize = 0;
    while (cut < len) : (cut += 1) {
        // An error, or (when only fields the reader never needs were cut) the right bytes.
        if (section(buf[0..cut], ".kozo.abi")) |found| {
            if (found) |t| try std.testing.expectEqualStrings("KOZOABI1", t);
        } else |_| {}
    }
    std.mem.writeIntLittle(u64, buf[128 + 128 + 0x20 ..][0..8], 0xffff_ffff_ffff_fff0);
    try std.testing.expectError(error.Truncated, section(buf[0..len], ".kozo.abi"));
}
