//! Host tests of kiln-boot's verification code (`zig test loader/tests.zig`), run by
//! test/boot/loader-verify.test.ts on fixtures kiln signed: each file's expected check comes from
//! kiln's own `verifyElf`, so the loader and `kiln verify` must name the same first failure.
//! Environment: KILN_BOOT_FIXTURES = a folder with `cases.txt` (`<file> <expected check>` lines),
//! `key.bin` (32-byte Ed25519 public key), `keyid.bin` (8 bytes) and the files named there.
const std = @import("std");
const verify = @import("verify.zig");
const elf = @import("elf.zig");
const mldsa = @import("mldsa.zig");

const sections = verify.Sections{ .manifest = ".kiln.manifest", .signature = ".kiln.sig", .ml_dsa = ".kiln.sig.mldsa" };

fn checkName(c: verify.Check) []const u8 {
    return switch (c) {
        .ok => "ok",
        .not_elf => "not-elf",
        .missing_section => "missing-section",
        .manifest_invalid => "manifest-invalid",
        .unknown_key_id => "unknown-key-id",
        .manifest_mismatch => "manifest-mismatch",
        .ed25519 => "ed25519",
        .ml_dsa => "ml-dsa",
    };
}

fn readAll(dir: std.fs.Dir, name: []const u8) ![]u8 {
    return dir.readFileAlloc(std.testing.allocator, name, 64 << 20);
}

test "every fixture gets the check kiln verify names" {
    const path = std.os.getenv("KILN_BOOT_FIXTURES") orelse return error.SkipZigTest;
    var dir = try std.fs.openDirAbsolute(path, .{});
    defer dir.close();
    const key = try readAll(dir, "key.bin");
    defer std.testing.allocator.free(key);
    const key_id = try readAll(dir, "keyid.bin");
    defer std.testing.allocator.free(key_id);
    const trusted = verify.Trusted{ .public_key = key[0..32].*, .key_id = key_id[0..8].* };
    const cases = try readAll(dir, "cases.txt");
    defer std.testing.allocator.free(cases);
    var lines = std.mem.tokenizeScalar(u8, cases, '\n');
    var n: usize = 0;
    while (lines.next()) |line| {
        var fields = std.mem.tokenizeScalar(u8, line, ' ');
        const file = fields.next().?;
        const expected = fields.next().?;
        const bytes = try readAll(dir, file);
        defer std.testing.allocator.free(bytes);
        const original = try std.testing.allocator.dupe(u8, bytes);
        defer std.testing.allocator.free(original);
        const r = verify.verifyKernel(bytes, elf.EM_X86_64, sections, trusted, std.testing.allocator);
        std.debug.print("{s}: {s} ({s})\n", .{ file, checkName(r.check), r.detail });
        try std.testing.expectEqualStrings(expected, checkName(r.check));
        // The file is handed over as it was signed: hashing zeroes sections only while it runs.
        try std.testing.expectEqualSlices(u8, original, bytes);
        n += 1;
    }
    try std.testing.expect(n >= 6);
}

test "initrd members are checked against the manifest" {
    const path = std.os.getenv("KILN_BOOT_FIXTURES") orelse return error.SkipZigTest;
    var dir = try std.fs.openDirAbsolute(path, .{});
    defer dir.close();
    const kernel = try readAll(dir, "good.elf");
    defer std.testing.allocator.free(kernel);
    const h = try elf.readHeader(kernel, elf.EM_X86_64);
    const m = (try elf.findSection(kernel, h, ".kiln.manifest")).?;
    const manifest = kernel[@intCast(m.offset)..][0..@intCast(m.size)];
    const good = try readAll(dir, "initrd.cpio");
    defer std.testing.allocator.free(good);
    const ok = verify.verifyInitrd(manifest, good);
    try std.testing.expect(ok.ok);
    try std.testing.expectEqual(@as(usize, 2), ok.members);
    const bad = try readAll(dir, "initrd-tampered.cpio");
    defer std.testing.allocator.free(bad);
    const r = verify.verifyInitrd(manifest, bad);
    try std.testing.expect(!r.ok);
    try std.testing.expectEqualStrings("etc/motd", r.name);
    try std.testing.expectEqualStrings("hash differs from the manifest", r.detail);
    const extra = try readAll(dir, "initrd-extra.cpio");
    defer std.testing.allocator.free(extra);
    const e = verify.verifyInitrd(manifest, extra);
    try std.testing.expect(!e.ok);
    try std.testing.expectEqualStrings("not listed in the manifest", e.detail);
}

test "ml-dsa-65: kiln's signatures verify; a changed signature, message or key does not" {
    const path = std.os.getenv("KILN_BOOT_FIXTURES") orelse return error.SkipZigTest;
    var dir = try std.fs.openDirAbsolute(path, .{});
    defer dir.close();
    const pk = try readAll(dir, "mldsa.pub");
    defer std.testing.allocator.free(pk);
    const other_pk = try readAll(dir, "mldsa-other.pub");
    defer std.testing.allocator.free(other_pk);
    var checked: usize = 0;
    var i: usize = 0;
    while (i < 8) : (i += 1) {
        var name: [32]u8 = undefined;
        const msg = readAll(dir, try std.fmt.bufPrint(&name, "mldsa-{d}.msg", .{i})) catch break;
        defer std.testing.allocator.free(msg);
        const sig = try readAll(dir, try std.fmt.bufPrint(&name, "mldsa-{d}.sig", .{i}));
        defer std.testing.allocator.free(sig);
        try std.testing.expect(mldsa.verify(pk[0..mldsa.public_key_len], msg, sig[0..mldsa.signature_len]));
        try std.testing.expect(!mldsa.verify(other_pk[0..mldsa.public_key_len], msg, sig[0..mldsa.signature_len]));
        msg[0] ^= 1;
        try std.testing.expect(!mldsa.verify(pk[0..mldsa.public_key_len], msg, sig[0..mldsa.signature_len]));
        msg[0] ^= 1;
        // c̃, z and the hints: one bit each.
        for ([_]usize{ 3, 48 + 700, mldsa.signature_len - 3 }) |at| {
            sig[at] ^= 4;
            try std.testing.expect(!mldsa.verify(pk[0..mldsa.public_key_len], msg, sig[0..mldsa.signature_len]));
            sig[at] ^= 4;
        }
        checked += 1;
    }
    std.debug.print("ml-dsa-65: {d} signatures verified\n", .{checked});
    try std.testing.expect(checked >= 4);
}

test "hybrid: the ML-DSA-65 signature is required and checked when the loader trusts an ML-DSA key" {
    const path = std.os.getenv("KILN_BOOT_FIXTURES") orelse return error.SkipZigTest;
    var dir = try std.fs.openDirAbsolute(path, .{});
    defer dir.close();
    const key = try readAll(dir, "key.bin");
    defer std.testing.allocator.free(key);
    const key_id = try readAll(dir, "keyid.bin");
    defer std.testing.allocator.free(key_id);
    const ml_key = try readAll(dir, "mldsa-key.bin");
    defer std.testing.allocator.free(ml_key);
    const ml_id = try readAll(dir, "mldsa-keyid.bin");
    defer std.testing.allocator.free(ml_id);
    const trusted = verify.Trusted{
        .public_key = key[0..32].*,
        .key_id = key_id[0..8].*,
        .ml_dsa = .{ .public_key = ml_key[0..mldsa.public_key_len], .key_id = ml_id[0..8].* },
    };
    const cases = try readAll(dir, "cases-hybrid.txt");
    defer std.testing.allocator.free(cases);
    var lines = std.mem.tokenizeScalar(u8, cases, '\n');
    while (lines.next()) |line| {
        var fields = std.mem.tokenizeScalar(u8, line, ' ');
        const file = fields.next().?;
        const expected = fields.next().?;
        const bytes = try readAll(dir, file);
        defer std.testing.allocator.free(bytes);
        const r = verify.verifyKernel(bytes, elf.EM_X86_64, sections, trusted, std.testing.allocator);
        std.debug.print("hybrid {s}: {s} ({s})\n", .{ file, checkName(r.check), r.detail });
        try std.testing.expectEqualStrings(expected, checkName(r.check));
        try std.testing.expectEqual(r.check == .ok, r.ml_dsa_verified);
    }
}
