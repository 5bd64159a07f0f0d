//! aarch64 (QEMU virt, cortex-a57): PL011 console at 0x09000000, semihosting exit, the GICv3
//! self-test (gic.zig). boot.S sets up the stack, CPACR_EL1 and VBAR_EL1 and calls
//! kozo_aarch64_main at EL1: from QEMU's -kernel (MMU off, the initrd linked into the kernel by
//! initrd.S, the .incbin of the kiln-built CPIO) or from kiln-boot (MMU on with the firmware's
//! identity map, x0 = the boot-info record, the initrd where the loader put it).
const kernel = @import("../../main.zig");
const kilnboot = @import("../../kilnboot.zig");
const gic = @import("gic.zig");

const UART_DR: *volatile u32 = @ptrFromInt(0x0900_0000);
const UART_FR: *volatile u32 = @ptrFromInt(0x0900_0018);

extern const kozo_initrd_start: u8;
extern const kozo_initrd_end: u8;

pub fn putc(c: u8) void {
    var spins: u32 = 0;
    while (UART_FR.* & (1 << 5) != 0 and spins < 100000) : (spins += 1) {}
    UART_DR.* = c;
}

/// Semihosting SYS_EXIT (0x18) with ADP_Stopped_ApplicationExit (0x20026) and the code
/// (AArch64 semihosting: parameter block address in x1, `hlt #0xf000`). Needs QEMU -semihosting.
pub fn exit(code: u8) noreturn {
    const block = [2]u64{ 0x20026, code };
    asm volatile ("hlt #0xf000"
        :
        : [op] "{w0}" (@as(u32, 0x18)),
          [arg] "{x1}" (&block),
        : "memory"
    );
    while (true) asm volatile ("wfe");
}

pub fn describeCpu() void {
    const midr = asm volatile ("mrs %[r], midr_el1"
        : [r] "=r" (-> u64),
    );
    const el = asm volatile ("mrs %[r], CurrentEL"
        : [r] "=r" (-> u64),
    );
    kernel.print("cpu: midr 0x{x}, EL{d}, kernel at 0x{x}\n", .{ midr, (el >> 2) & 3, @intFromPtr(&kozo_aarch64_main) });
}

// ---------- interrupts: GICv3 + the EL1 physical timer ----------

var timer_irqs: u32 = 0;
var other_irqs: u32 = 0;

fn counter() u64 {
    return asm volatile ("isb; mrs %[v], cntpct_el0"
        : [v] "=r" (-> u64),
    );
}
fn counterHz() u64 {
    return asm volatile ("mrs %[v], cntfrq_el0"
        : [v] "=r" (-> u64),
    );
}
fn timerSet(ticks: u64, ctl: u64) void {
    asm volatile ("msr cntp_tval_el0, %[t]; msr cntp_ctl_el0, %[c]; isb"
        :
        : [t] "r" (ticks),
          [c] "r" (ctl),
    );
}

/// Brings up the GIC, arms the EL1 physical timer 1 ms ahead, unmasks IRQs and waits (up to
/// 2 s of counter time) for the interrupt to arrive through the GIC and the vector table.
pub fn initInterrupts() void {
    const s = gic.init() catch |e| {
        kernel.print("gic: FAILED: {s}\n", .{@errorName(e)});
        return;
    };
    kernel.print("gic: GICv{d} distributor at 0x{x}, {d} interrupt lines, affinity routing on{s}; redistributor {d} at 0x{x} awake\n", .{ s.arch_rev, @as(usize, 0x0800_0000), s.lines, if (s.single_security_state) ", one security state" else "", s.redistributor, s.rd_base });
    gic.enablePrivate(s, gic.TIMER_INTID, 0x80);
    const hz = counterHz();
    timerSet(hz / 1000, 1); // ENABLE, IMASK clear
    asm volatile ("msr daifclr, #2");
    const start = counter();
    while (@atomicLoad(u32, &timer_irqs, .SeqCst) == 0 and counter() - start < 2 * hz) {}
    asm volatile ("msr daifset, #2");
    timerSet(0, 0);
    if (timer_irqs == 0) {
        kernel.print("gic: timer interrupt {d} FAILED to arrive through the GIC\n", .{gic.TIMER_INTID});
        return;
    }
    kernel.print("gic: timer interrupt {d} taken through the GIC ({d} timer, {d} other)\n", .{ gic.TIMER_INTID, timer_irqs, other_irqs });
}

/// IRQ vector (boot.S): acknowledge, handle, end of interrupt.
export fn kozo_aarch64_irq() callconv(.C) void {
    const intid = gic.acknowledge() orelse return;
    if (intid == gic.TIMER_INTID) {
        timerSet(0, 2); // IMASK: the self-test wants one interrupt
        @atomicStore(u32, &timer_irqs, timer_irqs + 1, .SeqCst);
    } else other_irqs += 1;
    gic.endOfInterrupt(intid);
}

/// Any other exception (boot.S passes the vector index).
export fn kozo_aarch64_unexpected(vector: u64, esr: u64, elr: u64) callconv(.C) noreturn {
    kernel.print("KOZO panic: unexpected exception (vector {d}, ESR 0x{x}, ELR 0x{x})\n", .{ vector, esr, elr });
    exit(4);
}

// ---------- entry ----------

/// `record`: kiln-boot's boot-info record, or 0 when QEMU's -kernel started the kernel.
export fn kozo_aarch64_main(record: u64) callconv(.C) noreturn {
    if (record != 0) {
        const h = kilnboot.read(record) orelse {
            kernel.print("KOZO: entered at the kiln-boot entry without a kiln-boot record\n", .{});
            exit(5);
        };
        kernel.kmain(h.initrd, h.cmdline);
    }
    const start = @intFromPtr(&kozo_initrd_start);
    const end = @intFromPtr(&kozo_initrd_end);
    const initrd: ?[]const u8 = if (end > start) @as([*]const u8, @ptrFromInt(start))[0 .. end - start] else null;
    kernel.kmain(initrd, "");
}
