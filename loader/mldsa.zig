//! ML-DSA-65 signature verification (FIPS 204, August 2024): ML-DSA.Verify (Algorithm 3, pure,
//! with the empty context kiln signs with) and ML-DSA.Verify_internal (Algorithm 8), the
//! encodings of §7.1-7.2, ExpandA / SampleInBall (§7.3), the NTT (§7.5, Algorithms 41-42) and
//! Decompose / UseHint (§7.4). Only verification: no secret is ever handled here. Checked on the
//! host against signatures made by kiln (noble's ML-DSA) in test/boot/loader-verify.test.ts.
const std = @import("std");
const Shake128 = std.crypto.hash.sha3.Shake128;
const Shake256 = std.crypto.hash.sha3.Shake256;

const q: i64 = 8380417;
const n = 256;
// ML-DSA-65 parameters (FIPS 204 Table 1).
const k = 6;
const l = 5;
const d = 13;
const tau = 49;
const c_tilde_len = 48; // λ/4 with λ = 192
const gamma1: i64 = 1 << 19;
const gamma2: i64 = (q - 1) / 32;
const beta: i64 = tau * 4; // τ·η
const omega = 55;

pub const public_key_len = 32 + k * 320;
pub const signature_len = c_tilde_len + l * 640 + omega + k;

/// Coefficients in [0, q).
const Poly = [n]i32;

/// ζ^brv8(i) mod q, ζ = 1753 (FIPS 204 Appendix B).
const zetas: [n]i32 = blk: {
    @setEvalBranchQuota(200000);
    var z: [n]i32 = undefined;
    var i: usize = 0;
    while (i < n) : (i += 1) {
        var e: u64 = @bitReverse(@as(u8, @intCast(i)));
        var r: u64 = 1;
        var b: u64 = 1753;
        while (e > 0) : (e >>= 1) {
            if (e & 1 == 1) r = r * b % @as(u64, q);
            b = b * b % @as(u64, q);
        }
        z[i] = @intCast(r);
    }
    break :blk z;
};

fn mul(a: i64, b: i64) i32 {
    return @intCast(@mod(a * b, q));
}

fn reduce(a: i64) i32 {
    return @intCast(@mod(a, q));
}

/// Algorithm 41.
fn ntt(w: *Poly) void {
    var m: usize = 0;
    var len: usize = 128;
    while (len >= 1) : (len /= 2) {
        var start: usize = 0;
        while (start < n) : (start += 2 * len) {
            m += 1;
            const z: i64 = zetas[m];
            var j = start;
            while (j < start + len) : (j += 1) {
                const t = mul(z, w[j + len]);
                w[j + len] = reduce(@as(i64, w[j]) - t);
                w[j] = reduce(@as(i64, w[j]) + t);
            }
        }
    }
}

/// Algorithm 42.
fn invNtt(w: *Poly) void {
    var m: usize = n;
    var len: usize = 1;
    while (len < n) : (len *= 2) {
        var start: usize = 0;
        while (start < n) : (start += 2 * len) {
            m -= 1;
            const z: i64 = q - zetas[m];
            var j = start;
            while (j < start + len) : (j += 1) {
                const t: i64 = w[j];
                w[j] = reduce(t + w[j + len]);
                w[j + len] = mul(z, t - w[j + len]);
            }
        }
    }
    for (w) |*c| c.* = mul(8347681, c.*); // 256⁻¹ mod q
}

/// `bits`-bit little-endian unsigned values, 256 of them (SimpleBitUnpack / BitUnpack's raw part).
fn unpack(bytes: []const u8, comptime bits: u6) [n]u32 {
    var out: [n]u32 = undefined;
    var acc: u64 = 0;
    var have: u6 = 0;
    var at: usize = 0;
    for (&out) |*o| {
        while (have < bits) : (have += 8) {
            acc |= @as(u64, bytes[at]) << have;
            at += 1;
        }
        o.* = @intCast(acc & ((@as(u64, 1) << bits) - 1));
        acc >>= bits;
        have -= bits;
    }
    return out;
}

/// RejNTTPoly (Algorithm 30): ExpandA's entry Â[r][s] from ρ ‖ s ‖ r.
fn rejNttPoly(rho: *const [32]u8, s: u8, r: u8) Poly {
    var h = Shake128.init(.{});
    h.update(rho);
    h.update(&[2]u8{ s, r });
    var p: Poly = undefined;
    var j: usize = 0;
    var block: [168]u8 = undefined;
    while (j < n) {
        h.squeeze(&block);
        var at: usize = 0;
        while (at + 3 <= block.len and j < n) : (at += 3) {
            const z = @as(i32, block[at + 2] & 0x7f) << 16 | @as(i32, block[at + 1]) << 8 | block[at];
            if (z < q) {
                p[j] = z;
                j += 1;
            }
        }
    }
    return p;
}

/// SampleInBall (Algorithm 29): τ coefficients ±1 from c̃.
fn sampleInBall(c_tilde: []const u8) Poly {
    var h = Shake256.init(.{});
    h.update(c_tilde);
    var s: [8]u8 = undefined;
    h.squeeze(&s);
    const signs = std.mem.readIntLittle(u64, &s);
    var c = [_]i32{0} ** n;
    var bit: u6 = 0;
    var i: usize = n - tau;
    while (i < n) : (i += 1) {
        var j: [1]u8 = undefined;
        while (true) {
            h.squeeze(&j);
            if (j[0] <= i) break;
        }
        c[i] = c[j[0]];
        c[j[0]] = if ((signs >> bit) & 1 == 1) @intCast(q - 1) else 1;
        bit += 1;
    }
    return c;
}

/// HintBitUnpack (Algorithm 21); false when the encoding is malformed.
fn unpackHints(y: *const [omega + k]u8, h: *[k][n]bool) bool {
    for (h) |*row| row.* = [_]bool{false} ** n;
    var index: usize = 0;
    for (h, 0..) |*row, i| {
        const end = y[omega + i];
        if (end < index or end > omega) return false;
        const first = index;
        while (index < end) : (index += 1) {
            if (index > first and y[index - 1] >= y[index]) return false;
            row[y[index]] = true;
        }
    }
    while (index < omega) : (index += 1) if (y[index] != 0) return false;
    return true;
}

/// UseHint (Algorithm 40) with Decompose (Algorithm 36), for γ2 = (q-1)/32: a value in 0..15.
fn useHint(hint: bool, r: i32) u8 {
    var r0: i64 = @mod(@as(i64, r), 2 * gamma2);
    if (r0 > gamma2) r0 -= 2 * gamma2;
    var r1: i64 = undefined;
    if (r - r0 == q - 1) {
        r1 = 0;
        r0 -= 1;
    } else r1 = @divExact(r - r0, 2 * gamma2);
    if (!hint) return @intCast(r1);
    return @intCast(@mod(if (r0 > 0) r1 + 1 else r1 - 1, 16));
}

/// ML-DSA.Verify(pk, M, σ, ctx = empty): true only when the signature verifies.
pub fn verify(pk: *const [public_key_len]u8, message: []const u8, sig: *const [signature_len]u8) bool {
    const rho = pk[0..32];
    const c_tilde = sig[0..c_tilde_len];

    // z: BitUnpack(γ1 - 1, γ1), each coefficient γ1 - v; the infinity norm must stay below γ1 - β.
    var z_hat: [l]Poly = undefined;
    for (&z_hat, 0..) |*zp, j| {
        const raw = unpack(sig[c_tilde_len + 640 * j ..][0..640], 20);
        for (raw, 0..) |v, c| {
            const coef = gamma1 - @as(i64, v);
            if (coef >= gamma1 - beta or coef <= -(gamma1 - beta)) return false;
            zp[c] = reduce(coef);
        }
        ntt(zp);
    }
    var hints: [k][n]bool = undefined;
    if (!unpackHints(sig[c_tilde_len + 640 * l ..][0 .. omega + k], &hints)) return false;

    // μ = H(tr ‖ M′), tr = H(pk), M′ = 0 ‖ |ctx| = 0 ‖ M.
    var tr: [64]u8 = undefined;
    Shake256.hash(pk, &tr, .{});
    var mu: [64]u8 = undefined;
    var hm = Shake256.init(.{});
    hm.update(&tr);
    hm.update(&[2]u8{ 0, 0 });
    hm.update(message);
    hm.squeeze(&mu);

    var c_hat = sampleInBall(c_tilde);
    ntt(&c_hat);

    // w′ = NTT⁻¹(Â ∘ ẑ − ĉ ∘ NTT(t1 · 2^d)), row by row; w1′ = UseHint(h, w′), packed 4 bits each.
    var hc = Shake256.init(.{});
    hc.update(&mu);
    for (0..k) |i| {
        var w = [_]i32{0} ** n;
        for (0..l) |j| {
            const a = rejNttPoly(rho, @intCast(j), @intCast(i));
            for (&w, 0..) |*x, c| x.* = reduce(@as(i64, x.*) + mul(a[c], z_hat[j][c]));
        }
        const t1raw = unpack(pk[32 + 320 * i ..][0..320], 10);
        var t1: Poly = undefined;
        for (&t1, t1raw) |*t, v| t.* = reduce(@as(i64, v) << d);
        ntt(&t1);
        for (&w, 0..) |*x, c| x.* = reduce(@as(i64, x.*) - mul(c_hat[c], t1[c]));
        invNtt(&w);
        var packed_row: [n / 2]u8 = undefined;
        for (&packed_row, 0..) |*b, c| b.* = useHint(hints[i][2 * c], w[2 * c]) | (useHint(hints[i][2 * c + 1], w[2 * c + 1]) << 4);
        hc.update(&packed_row);
    }
    var c_tilde2: [c_tilde_len]u8 = undefined;
    hc.squeeze(&c_tilde2);
    return std.crypto.utils.timingSafeEql([c_tilde_len]u8, c_tilde.*, c_tilde2);
}
