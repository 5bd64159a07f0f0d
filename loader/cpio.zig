//! CPIO "newc" (and "crc") archive reading for the initrd check: the 110-byte ASCII header
//! (magic 070701/070702, thirteen 8-digit hex fields), the name padded to 4 bytes, the data
//! padded to 4 bytes, up to `TRAILER!!!` (cpio(5), "New ASCII Format").
const std = @import("std");

pub const Entry = struct {
    /// The name as kiln's reader shows it: leading `./` and `/`, trailing `/` removed.
    name: []const u8,
    data: []const u8,
    regular: bool,
};

pub const Iterator = struct {
    bytes: []const u8,
    at: usize = 0,

    pub fn next(self: *Iterator) error{Invalid}!?Entry {
        if (self.bytes.len - self.at < 110) return error.Invalid;
        const h = self.bytes[self.at..][0..110];
        if (!std.mem.eql(u8, h[0..6], "070701") and !std.mem.eql(u8, h[0..6], "070702")) return error.Invalid;
        const mode = try hex(h[14..22]);
        const size = try hex(h[54..62]);
        const namesize = try hex(h[94..102]);
        const name_at = self.at + 110;
        if (namesize == 0 or namesize > self.bytes.len - name_at) return error.Invalid;
        const raw = self.bytes[name_at..][0 .. namesize - 1];
        const data_at = align4(name_at + namesize);
        if (data_at > self.bytes.len or size > self.bytes.len - data_at) return error.Invalid;
        self.at = align4(data_at + size);
        if (std.mem.eql(u8, raw, "TRAILER!!!")) return null;
        if (self.at > self.bytes.len) self.at = self.bytes.len;
        return Entry{ .name = display(raw), .data = self.bytes[data_at..][0..size], .regular = (mode & 0o170000) == 0o100000 };
    }
};

pub fn iterate(bytes: []const u8) Iterator {
    return .{ .bytes = bytes };
}

fn align4(x: usize) usize {
    return (x + 3) & ~@as(usize, 3);
}

fn hex(s: []const u8) error{Invalid}!usize {
    return std.fmt.parseInt(usize, s, 16) catch error.Invalid;
}

fn display(name: []const u8) []const u8 {
    var p = name;
    while (std.mem.startsWith(u8, p, "./")) p = p[2..];
    if (std.mem.eql(u8, p, ".")) return p[0..0];
    while (p.len > 0 and p[0] == '/') p = p[1..];
    while (p.len > 0 and p[p.len - 1] == '/') p = p[0 .. p.len - 1];
    return p;
}
