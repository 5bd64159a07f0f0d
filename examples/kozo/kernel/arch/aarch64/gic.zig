//! GICv3 on QEMU `virt,gic-version=3` (Arm IHI 0069H, "GIC architecture specification"): the
//! distributor at 0x08000000, the redistributors from 0x080a0000 (two 64 KiB frames each: RD_base,
//! SGI_base), the CPU interface through the ICC_* system registers. QEMU's virt board without
//! `secure=on` has one security state (GICD_CTLR.DS = 1), so Group 1 interrupts arrive as IRQs at
//! EL1. The self-test routes the EL1 physical timer (PPI 14, INTID 30) through the GIC and takes
//! one interrupt through the vector table (boot.S `kozo_vectors`).
const kernel = @import("../../main.zig");

const GICD: usize = 0x0800_0000;
const GICR: usize = 0x080a_0000;
const GICR_FRAMES: usize = 0x2_0000;
const SGI_BASE: usize = 0x1_0000;
const MAX_REDISTRIBUTORS = 8;

// Distributor (§12.9).
const GICD_CTLR = 0x0000;
const GICD_TYPER = 0x0004;
const GICD_IGROUPR = 0x0080;
const GICD_ICENABLER = 0x0180;
const GICD_PIDR2 = 0xffe8;
const CTLR_ENABLE_GRP0: u32 = 1 << 0;
const CTLR_ENABLE_GRP1: u32 = 1 << 1;
const CTLR_ARE: u32 = 1 << 4;
const CTLR_DS: u32 = 1 << 6;
const GICD_CTLR_RWP: u32 = 1 << 31;

// Redistributor (§12.10, §12.11).
const GICR_CTLR = 0x0000;
const GICR_TYPER = 0x0008;
const GICR_WAKER = 0x0014;
const GICR_IGROUPR0 = SGI_BASE + 0x0080;
const GICR_ISENABLER0 = SGI_BASE + 0x0100;
const GICR_ICENABLER0 = SGI_BASE + 0x0180;
const GICR_IPRIORITYR = SGI_BASE + 0x0400;
const GICR_CTLR_RWP: u32 = 1 << 3;
const WAKER_PROCESSOR_SLEEP: u32 = 1 << 1;
const WAKER_CHILDREN_ASLEEP: u32 = 1 << 2;
const TYPER_LAST: u64 = 1 << 4;

/// The EL1 physical timer's interrupt on QEMU virt (the device tree's "arm,armv8-timer" PPI 14).
pub const TIMER_INTID: u32 = 30;
const SPURIOUS: u32 = 1023;

// Device registers through explicit load/store instructions: Zig 0.11 emits a plain (not
// volatile) LLVM load for a volatile pointer made from a comptime-known address, and LLVM then
// forwards the value just stored instead of reading the register (the wait loops vanished).
fn rd32(a: usize) u32 {
    return asm volatile ("ldr %[v:w], [%[a]]"
        : [v] "=r" (-> u32),
        : [a] "r" (a),
        : "memory"
    );
}
fn wr32(a: usize, v: u32) void {
    asm volatile ("str %[v:w], [%[a]]"
        :
        : [v] "r" (v),
          [a] "r" (a),
        : "memory"
    );
}
fn rd64(a: usize) u64 {
    return asm volatile ("ldr %[v], [%[a]]"
        : [v] "=r" (-> u64),
        : [a] "r" (a),
        : "memory"
    );
}
fn wr8(a: usize, v: u8) void {
    asm volatile ("strb %[v:w], [%[a]]"
        :
        : [v] "r" (v),
          [a] "r" (a),
        : "memory"
    );
}

fn waitClear(a: usize, bit: u32) bool {
    var spins: u32 = 0;
    while (rd32(a) & bit != 0) : (spins += 1) if (spins > 1_000_000) return false;
    return true;
}

// ICC_* by their encodings (the assembler then needs no GICv3 feature flag).
fn iccSre() u64 {
    return asm volatile ("mrs %[v], S3_0_C12_C12_5"
        : [v] "=r" (-> u64),
    );
}
fn iccSetSre(v: u64) void {
    asm volatile ("msr S3_0_C12_C12_5, %[v]; isb"
        :
        : [v] "r" (v),
    );
}
fn iccSetPmr(v: u64) void {
    asm volatile ("msr S3_0_C4_C6_0, %[v]"
        :
        : [v] "r" (v),
    );
}
fn iccSetBpr1(v: u64) void {
    asm volatile ("msr S3_0_C12_C12_3, %[v]"
        :
        : [v] "r" (v),
    );
}
fn iccSetIgrpen1(v: u64) void {
    asm volatile ("msr S3_0_C12_C12_7, %[v]; isb"
        :
        : [v] "r" (v),
    );
}
fn iccIar1() u64 {
    return asm volatile ("mrs %[v], S3_0_C12_C12_0"
        : [v] "=r" (-> u64),
    );
}
fn iccEoir1(v: u64) void {
    asm volatile ("msr S3_0_C12_C12_1, %[v]; isb"
        :
        : [v] "r" (v),
    );
}

fn mpidrAffinity() u32 {
    const m = asm volatile ("mrs %[v], mpidr_el1"
        : [v] "=r" (-> u64),
    );
    return @truncate((m & 0xff_ffff) | ((m >> 8) & 0xff00_0000));
}

pub const Setup = struct {
    /// Interrupt lines the distributor implements (GICD_TYPER.ITLinesNumber).
    lines: u32,
    /// GICD_PIDR2.ArchRev (3 = GICv3, 4 = GICv4).
    arch_rev: u32,
    /// Index of this CPU's redistributor and its RD_base.
    redistributor: usize,
    rd_base: usize,
    single_security_state: bool,
};

pub const Error = error{ NotGicV3, DistributorBusy, NoRedistributor, RedistributorAsleep };

/// Distributor: off, every SPI disabled and in Group 1, then on with affinity routing. This CPU's
/// redistributor: awake, SGIs/PPIs in Group 1 and disabled. CPU interface: system registers on,
/// every priority unmasked, Group 1 enabled.
pub fn init() Error!Setup {
    const rev = (rd32(GICD + GICD_PIDR2) >> 4) & 0xf;
    if (rev != 3 and rev != 4) return error.NotGicV3;
    wr32(GICD + GICD_CTLR, 0);
    if (!waitClear(GICD + GICD_CTLR, GICD_CTLR_RWP)) return error.DistributorBusy;
    const lines = 32 * ((rd32(GICD + GICD_TYPER) & 0x1f) + 1);
    var n: usize = 1;
    while (n < lines / 32) : (n += 1) {
        wr32(GICD + GICD_ICENABLER + 4 * n, 0xffff_ffff);
        wr32(GICD + GICD_IGROUPR + 4 * n, 0xffff_ffff);
    }
    wr32(GICD + GICD_CTLR, CTLR_ARE | CTLR_ENABLE_GRP1 | CTLR_ENABLE_GRP0);
    if (!waitClear(GICD + GICD_CTLR, GICD_CTLR_RWP)) return error.DistributorBusy;
    const ds = rd32(GICD + GICD_CTLR) & CTLR_DS != 0;

    const rd = try findRedistributor();
    wr32(rd.base + GICR_WAKER, rd32(rd.base + GICR_WAKER) & ~WAKER_PROCESSOR_SLEEP);
    if (!waitClear(rd.base + GICR_WAKER, WAKER_CHILDREN_ASLEEP)) return error.RedistributorAsleep;
    wr32(rd.base + GICR_ICENABLER0, 0xffff_ffff);
    if (!waitClear(rd.base + GICR_CTLR, GICR_CTLR_RWP)) return error.DistributorBusy;
    wr32(rd.base + GICR_IGROUPR0, 0xffff_ffff);

    iccSetSre(iccSre() | 1);
    iccSetPmr(0xff);
    iccSetBpr1(0);
    iccSetIgrpen1(1);
    return .{ .lines = lines, .arch_rev = rev, .redistributor = rd.index, .rd_base = rd.base, .single_security_state = ds };
}

fn findRedistributor() Error!struct { index: usize, base: usize } {
    const me = mpidrAffinity();
    var i: usize = 0;
    while (i < MAX_REDISTRIBUTORS) : (i += 1) {
        const base = GICR + i * GICR_FRAMES;
        const typer = rd64(base + GICR_TYPER);
        if (@as(u32, @truncate(typer >> 32)) == me) return .{ .index = i, .base = base };
        if (typer & TYPER_LAST != 0) break;
    }
    return error.NoRedistributor;
}

/// Enables one private interrupt (SGI/PPI) at this CPU's redistributor.
pub fn enablePrivate(s: Setup, intid: u32, priority: u8) void {
    wr8(s.rd_base + GICR_IPRIORITYR + intid, priority);
    wr32(s.rd_base + GICR_ISENABLER0, @as(u32, 1) << @intCast(intid));
}

/// Acknowledges the highest-priority pending Group 1 interrupt; null when it was spurious.
pub fn acknowledge() ?u32 {
    const intid: u32 = @truncate(iccIar1() & 0xff_ffff);
    return if (intid >= SPURIOUS) null else intid;
}

/// Priority drop and deactivation (ICC_CTLR_EL1.EOImode = 0).
pub fn endOfInterrupt(intid: u32) void {
    iccEoir1(intid);
}
