//! Verified boot: checks a kiln-signed kernel ELF the way `kiln verify` does (src/sign/README.md,
//! "Canonicalization of an ELF kernel" and "Manifest format (version 1)"), in the same order, so
//! the loader names the same first failure: not-elf, missing-section, manifest-invalid,
//! unknown-key-id, manifest-mismatch, ed25519. Then the initrd's members against the manifest.
const std = @import("std");
const elf = @import("elf.zig");
const cpio = @import("cpio.zig");
const mldsa = @import("mldsa.zig");
const Blake3 = std.crypto.hash.Blake3;
const Ed25519 = std.crypto.sign.Ed25519;

pub const Check = enum { ok, not_elf, missing_section, manifest_invalid, unknown_key_id, manifest_mismatch, ed25519, ml_dsa };

/// Section names of one layout ('kiln' or 'nonos').
pub const Sections = struct {
    manifest: []const u8,
    signature: []const u8,
    ml_dsa: []const u8,
};

pub const Trusted = struct {
    public_key: [32]u8,
    key_id: [8]u8,
    /// Hybrid: the ML-DSA-65 key whose signature is required too (FIPS 204, loader/mldsa.zig).
    ml_dsa: ?MlDsaKey = null,
};

pub const MlDsaKey = struct {
    public_key: *const [mldsa.public_key_len]u8,
    key_id: [8]u8,
};

pub const Result = struct {
    check: Check,
    /// The Ed25519 key id the manifest names (zero when it names none).
    claimed_key: [8]u8 = [_]u8{0} ** 8,
    /// The manifest also lists an ML-DSA-65 signer.
    hybrid: bool = false,
    /// The ML-DSA-65 key id the manifest names (zero when none).
    claimed_ml_dsa_key: [8]u8 = [_]u8{0} ** 8,
    /// The ML-DSA-65 signature was checked and holds (only with a trusted ML-DSA key).
    ml_dsa_verified: bool = false,
    /// unknown_key_id names the ML-DSA-65 signer (not the Ed25519 one).
    unknown_is_ml_dsa: bool = false,
    /// Where the manifest sits in the file (for the initrd check afterwards).
    manifest: elf.Section = .{ .offset = 0, .size = 0 },
    detail: []const u8 = "",
};

const TAG_KERNEL_HASH: u16 = 0x07;
const TAG_INITRD_MEMBER: u16 = 0x08;
const TAG_SIGNER: u16 = 0x0c;
const TAG_CANONICALIZATION: u16 = 0x0d;

/// How the signature sections enter the signed hash (src/sign/README.md): replaced by zero bytes
/// (`zero`, also when the manifest has no entry 0x0d) or left out (`exclude`, NØNOS's rule).
pub const Canonicalization = enum { zero, exclude };

/// A decoded view of the fields the loader needs; slices point into the manifest bytes.
pub const Manifest = struct {
    bytes: []const u8,
    kernel_hash: ?[32]u8 = null,
    ed25519_signers: usize = 0,
    ed25519_key: [8]u8 = [_]u8{0} ** 8,
    ml_dsa: bool = false,
    ml_dsa_key: [8]u8 = [_]u8{0} ** 8,
    initrd_members: usize = 0,
    canonicalization: Canonicalization = .zero,

    /// Iterates entries of one tag.
    pub fn entries(self: Manifest, tag: u16) EntryIterator {
        return .{ .bytes = self.bytes, .at = 12, .tag = tag };
    }
};

pub const EntryIterator = struct {
    bytes: []const u8,
    at: usize,
    tag: u16,

    pub fn next(self: *EntryIterator) ?[]const u8 {
        while (self.at + 6 <= self.bytes.len) {
            const tag = std.mem.readIntLittle(u16, self.bytes[self.at..][0..2]);
            const len = std.mem.readIntLittle(u32, self.bytes[self.at + 2 ..][0..4]);
            const start = self.at + 6;
            self.at = start + len;
            if (tag == self.tag) return self.bytes[start..][0..len];
        }
        return null;
    }
};

/// Decodes the manifest framing and the fields the loader uses; every length is checked.
pub fn decodeManifest(section: []const u8) error{Invalid}!Manifest {
    if (section.len < 12 or !std.mem.eql(u8, section[0..4], "KMAN")) return error.Invalid;
    if (std.mem.readIntLittle(u16, section[4..6]) != 1 or std.mem.readIntLittle(u16, section[6..8]) != 12) return error.Invalid;
    const total = std.mem.readIntLittle(u32, section[8..12]);
    if (total < 12 or total > section.len or total > (1 << 20)) return error.Invalid;
    var m = Manifest{ .bytes = section[0..total] };
    var at: usize = 12;
    while (at < total) {
        if (total - at < 6) return error.Invalid;
        const tag = std.mem.readIntLittle(u16, section[at..][0..2]);
        const len = std.mem.readIntLittle(u32, section[at + 2 ..][0..4]);
        at += 6;
        if (len > total - at) return error.Invalid;
        const value = section[at..][0..len];
        at += len;
        switch (tag) {
            TAG_KERNEL_HASH => {
                if (len != 32) return error.Invalid;
                m.kernel_hash = value[0..32].*;
            },
            TAG_SIGNER => {
                if (len != 9) return error.Invalid;
                if (value[0] == 1) {
                    m.ed25519_signers += 1;
                    m.ed25519_key = value[1..9].*;
                } else if (value[0] == 2) {
                    m.ml_dsa = true;
                    m.ml_dsa_key = value[1..9].*;
                }
            },
            TAG_CANONICALIZATION => {
                if (len != 1 or value[0] > 1) return error.Invalid;
                m.canonicalization = if (value[0] == 1) .exclude else .zero;
            },
            TAG_INITRD_MEMBER => {
                if (len < 2 + 32 or std.mem.readIntLittle(u16, value[0..2]) != len - 2 - 32) return error.Invalid;
                m.initrd_members += 1;
            },
            else => {},
        }
    }
    if (m.kernel_hash == null) return error.Invalid;
    return m;
}

fn zero(file: []u8, s: ?elf.Section) void {
    if (s) |x| @memset(file[@intCast(x.offset)..][0..@intCast(x.size)], 0);
}

/// BLAKE3 over every PT_LOAD: a 40-byte record, then its file bytes (manifest and signature
/// sections already zeroed by the caller).
fn loadableHash(file: []const u8, header: elf.Header) elf.Error![32]u8 {
    var h = Blake3.init(.{});
    var it = elf.segments(file, header);
    while (try it.next()) |s| {
        var rec: [40]u8 = [_]u8{0} ** 40;
        std.mem.writeIntLittle(u64, rec[0..8], s.vaddr);
        std.mem.writeIntLittle(u64, rec[8..16], s.paddr);
        std.mem.writeIntLittle(u64, rec[16..24], s.filesz);
        std.mem.writeIntLittle(u64, rec[24..32], s.memsz);
        std.mem.writeIntLittle(u32, rec[32..36], s.flags);
        h.update(&rec);
        h.update(file[@intCast(s.offset)..][0..@intCast(s.filesz)]);
    }
    var out: [32]u8 = undefined;
    h.final(&out);
    return out;
}

/// Verifies `file` in place (its signature and manifest bytes are zeroed while hashing, then
/// restored, so the loaded image is the file as signed). `scratch` holds the saved bytes.
pub fn verifyKernel(file: []u8, machine: u16, names: Sections, trusted: Trusted, scratch: std.mem.Allocator) Result {
    const header = elf.readHeader(file, machine) catch return .{ .check = .not_elf, .detail = "not an ELF64 kernel for this machine" };
    const man_s = (elf.findSection(file, header, names.manifest) catch return .{ .check = .not_elf, .detail = "section table out of bounds" }) orelse
        return .{ .check = .missing_section, .detail = "no manifest section" };
    const sig_s = (elf.findSection(file, header, names.signature) catch return .{ .check = .not_elf, .detail = "section table out of bounds" }) orelse
        return .{ .check = .missing_section, .detail = "no Ed25519 signature section" };
    const ml_s = elf.findSection(file, header, names.ml_dsa) catch null;
    if (sig_s.size != 64) return .{ .check = .missing_section, .detail = "the signature section is not 64 bytes" };
    const manifest_bytes = file[@intCast(man_s.offset)..][0..@intCast(man_s.size)];
    const m = decodeManifest(manifest_bytes) catch return .{ .check = .manifest_invalid, .detail = "the manifest does not decode" };
    var r = Result{ .check = .ok, .claimed_key = m.ed25519_key, .hybrid = m.ml_dsa, .claimed_ml_dsa_key = m.ml_dsa_key, .manifest = man_s };
    if (m.ed25519_signers != 1) {
        r.check = .manifest_invalid;
        r.detail = "the manifest does not list exactly one Ed25519 signer";
        return r;
    }
    if (!std.mem.eql(u8, &m.ed25519_key, &trusted.key_id)) {
        r.check = .unknown_key_id;
        return r;
    }
    // Hybrid: the ML-DSA-65 signer must be the trusted one and its section present (kiln verify's
    // unknown-key-id and missing-section come before the signatures are checked).
    var ml_signature: ?*const [mldsa.signature_len]u8 = null;
    if (trusted.ml_dsa) |ml| {
        if (!m.ml_dsa) {
            r.check = .ml_dsa;
            r.detail = "an ML-DSA-65 signature is required but the manifest lists no ML-DSA-65 signer";
            return r;
        }
        if (!std.mem.eql(u8, &m.ml_dsa_key, &ml.key_id)) {
            r.check = .unknown_key_id;
            r.unknown_is_ml_dsa = true;
            return r;
        }
        const s = ml_s orelse {
            r.check = .missing_section;
            r.detail = "the manifest lists an ML-DSA-65 signer but there is no ML-DSA signature section";
            return r;
        };
        if (s.size != mldsa.signature_len) {
            r.check = .ml_dsa;
            r.detail = "the ML-DSA signature section is not 3309 bytes";
            return r;
        }
    }
    // Save what the hashes zero, restore it whatever happens.
    const saved_manifest = scratch.dupe(u8, manifest_bytes) catch return .{ .check = .manifest_invalid, .detail = "out of memory" };
    defer scratch.free(saved_manifest);
    const saved_ml = if (ml_s) |s| scratch.dupe(u8, file[@intCast(s.offset)..][0..@intCast(s.size)]) catch null else null;
    defer if (saved_ml) |b| scratch.free(b);
    if (trusted.ml_dsa != null) {
        const b = saved_ml orelse return .{ .check = .manifest_invalid, .detail = "out of memory" };
        ml_signature = b[0..mldsa.signature_len];
    }
    var signature: [64]u8 = file[@intCast(sig_s.offset)..][0..64].*;
    defer {
        @memcpy(file[@intCast(sig_s.offset)..][0..64], &signature);
        @memcpy(file[@intCast(man_s.offset)..][0..saved_manifest.len], saved_manifest);
        if (ml_s) |s| if (saved_ml) |b| @memcpy(file[@intCast(s.offset)..][0..b.len], b);
    }
    zero(file, sig_s);
    zero(file, ml_s);
    const canonical = canonicalHash(file, m.canonicalization, sig_s, ml_s);
    // A signature that verifies covers every byte, the manifest's kernel hash included: the file
    // is exactly what was signed. Only when it does not is the loadable hash computed, to name
    // the failure as `kiln verify` does (manifest-mismatch before ed25519). One hash when it boots.
    if (signatureHolds(trusted.public_key, signature, canonical)) {
        if (ml_signature) |sig| {
            if (!mldsa.verify(trusted.ml_dsa.?.public_key, &canonical, sig)) {
                r.check = .ml_dsa;
                r.detail = "the ML-DSA-65 signature does not verify over the canonical hash";
                return r;
            }
            r.ml_dsa_verified = true;
        }
        return r;
    }
    zero(file, man_s);
    const loadable = loadableHash(file, header) catch return .{ .check = .not_elf, .detail = "a segment lies outside the file" };
    if (!std.mem.eql(u8, &loadable, &m.kernel_hash.?)) {
        r.check = .manifest_mismatch;
        r.detail = "the loadable segments do not hash to the manifest's kernel hash";
        return r;
    }
    r.check = .ed25519;
    r.detail = "the Ed25519 signature does not verify over the canonical hash";
    return r;
}

/// The signed message: BLAKE3 of the file (signature sections already zeroed) under `rule`;
/// `exclude` leaves their bytes out, merging ranges that overlap or touch.
fn canonicalHash(file: []const u8, rule: Canonicalization, a: elf.Section, b: ?elf.Section) [32]u8 {
    var out: [32]u8 = undefined;
    if (rule == .zero) {
        Blake3.hash(file, &out, .{});
        return out;
    }
    var ranges = [2]elf.Section{ a, b orelse .{ .offset = a.offset, .size = 0 } };
    if (ranges[1].offset < ranges[0].offset) std.mem.swap(elf.Section, &ranges[0], &ranges[1]);
    var h = Blake3.init(.{});
    var at: u64 = 0;
    for (ranges) |r| {
        if (r.size == 0) continue;
        if (r.offset > at) h.update(file[@intCast(at)..@intCast(r.offset)]);
        at = @max(at, r.offset + r.size);
    }
    h.update(file[@intCast(at)..]);
    h.final(&out);
    return out;
}

fn signatureHolds(public_key: [32]u8, signature: [64]u8, message: [32]u8) bool {
    const pk = Ed25519.PublicKey.fromBytes(public_key) catch return false;
    Ed25519.Signature.fromBytes(signature).verify(&message, pk) catch return false;
    return true;
}

pub const InitrdResult = struct {
    ok: bool,
    members: usize = 0,
    detail: []const u8 = "",
    /// The member named in a failure (points into the initrd or the manifest).
    name: []const u8 = "",
};

/// Checks every initrd member the manifest lists: present as a regular file and hashing to the
/// recorded BLAKE3; and every regular file of the initrd is listed.
pub fn verifyInitrd(manifest_section: []const u8, initrd: []const u8) InitrdResult {
    const m = decodeManifest(manifest_section) catch return .{ .ok = false, .detail = "the manifest does not decode" };
    var files: usize = 0;
    var it = cpio.iterate(initrd);
    while (true) {
        const entry = (it.next() catch return .{ .ok = false, .detail = "the initrd is not a newc CPIO archive" }) orelse break;
        if (!entry.regular) continue;
        files += 1;
        var found = false;
        var members = m.entries(TAG_INITRD_MEMBER);
        while (members.next()) |v| {
            const nlen = std.mem.readIntLittle(u16, v[0..2]);
            if (!std.mem.eql(u8, v[2..][0..nlen], entry.name)) continue;
            found = true;
            var h: [32]u8 = undefined;
            Blake3.hash(entry.data, &h, .{});
            if (!std.mem.eql(u8, &h, v[2 + nlen ..][0..32])) return .{ .ok = false, .detail = "hash differs from the manifest", .name = entry.name };
        }
        if (!found) return .{ .ok = false, .detail = "not listed in the manifest", .name = entry.name };
    }
    if (files != m.initrd_members) return .{ .ok = false, .detail = "a member listed in the manifest is missing", .members = files };
    return .{ .ok = true, .members = files };
}
