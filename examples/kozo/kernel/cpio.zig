//! A reader of CPIO "newc" archives (the initrd), bounds-checked: the format of
//! cpio(5) "New ASCII Format" (magic 070701, thirteen 8-digit hex fields, name and data each
//! padded to a multiple of 4, ended by TRAILER!!!).
const std = @import("std");

pub const Entry = struct { name: []const u8, mode: u32, data: []const u8 };
pub const Error = error{ Truncated, BadMagic, BadHex, BadName };

pub const Iterator = struct {
    bytes: []const u8,
    pos: usize = 0,
    done: bool = false,

    /// The next entry, or null after TRAILER!!!.
    pub fn next(self: *Iterator) Error!?Entry {
        if (self.done) return null;
        if (self.bytes.len - self.pos < 110) return error.Truncated;
        const h = self.bytes[self.pos .. self.pos + 110];
        if (!std.mem.eql(u8, h[0..6], "070701")) return error.BadMagic;
        const mode = try hex(h[14..22]);
        const size = try hex(h[54..62]);
        const namesize = try hex(h[94..102]);
        if (namesize == 0) return error.BadName;
        const name_start = self.pos + 110;
        if (self.bytes.len - name_start < namesize) return error.Truncated;
        const name_full = self.bytes[name_start .. name_start + namesize];
        if (name_full[namesize - 1] != 0) return error.BadName;
        const name = name_full[0 .. namesize - 1];
        const data_start = alignUp(name_start + namesize);
        if (data_start > self.bytes.len or self.bytes.len - data_start < size) return error.Truncated;
        const data = self.bytes[data_start .. data_start + size];
        self.pos = @min(alignUp(data_start + size), self.bytes.len);
        if (std.mem.eql(u8, name, "TRAILER!!!")) {
            self.done = true;
            return null;
        }
        return Entry{ .name = name, .mode = mode, .data = data };
    }
};

pub fn iterate(bytes: []const u8) Iterator {
    return .{ .bytes = bytes };
}

pub fn isRegularFile(e: Entry) bool {
    return e.mode & 0o170000 == 0o100000;
}

fn alignUp(v: usize) usize {
    return (v + 3) & ~@as(usize, 3);
}

fn hex(s: []const u8) Error!u32 {
    var v: u32 = 0;
    for (s) |c| {
        const d: u32 = switch (c) {
            '0'...'9' => c - '0',
            'a'...'f' => c - 'a' + 10,
            'A'...'F' => c - 'A' + 10,
            else => return error.BadHex,
        };
        v = (v << 4) | d;
    }
    return v;
}

fn header(buf: []u8, name: []const u8, mode: u32, size: usize) usize {
    const h = std.fmt.bufPrint(buf, "070701{X:0>8}{X:0>8}{X:0>8}{X:0>8}{X:0>8}{X:0>8}{X:0>8}{X:0>8}{X:0>8}{X:0>8}{X:0>8}{X:0>8}{X:0>8}", .{ 1, mode, 0, 0, 1, 0, size, 0, 0, 0, 0, name.len + 1, 0 }) catch unreachable;
    @memcpy(buf[h.len .. h.len + name.len], name);
    buf[h.len + name.len] = 0;
    return alignUp(h.len + name.len + 1);
}

test "reads a newc archive written by hand" {
    var buf = [_]u8{0} ** 512;
    var p = header(buf[0..], "init", 0o100755, 5);
    @memcpy(buf[p .. p + 5], "hello");
    p = alignUp(p + 5);
    p += header(buf[p..], "TRAILER!!!", 0, 0);
    var it = iterate(buf[0..p]);
    const e = (try it.next()).?;
    try std.testing.expectEqualStrings("init", e.name);
    try std.testing.expectEqualStrings("hello", e.data);
    try std.testing.expect(isRegularFile(e));
    try std.testing.expect((try it.next()) == null);
}

test "truncated and damaged archives are errors, never out-of-bounds reads" {
    var buf = [_]u8{0} ** 256;
    var p = header(buf[0..], "logger", 0o100644, 4);
    p = alignUp(p + 4);
    var cut: usize = 0;
    while (cut < p) : (cut += 1) {
        var it = iterate(buf[0..cut]);
        if (it.next()) |_| return error.TestUnexpectedSuccess else |_| {}
    }
    buf[0] = 'X';
    var it = iterate(buf[0..p]);
    try std.testing.expectError(error.BadMagic, it.next());
}
