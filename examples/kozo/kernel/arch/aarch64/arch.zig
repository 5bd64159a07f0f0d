//! aarch64 (QEMU virt, cortex-a57): PL011 console at 0x09000000, the initrd linked into the
//! kernel by initrd.S (.incbin of the kiln-built CPIO), semihosting exit. boot.S sets up the
//! stack and CPACR_EL1 and calls kozo_aarch64_main at EL1 with the MMU off.
const kernel = @import("../../main.zig");

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

export fn kozo_aarch64_main(dtb: u64) callconv(.C) noreturn {
    _ = dtb;
    const start = @intFromPtr(&kozo_initrd_start);
    const end = @intFromPtr(&kozo_initrd_end);
    const initrd: ?[]const u8 = if (end > start) @as([*]const u8, @ptrFromInt(start))[0 .. end - start] else null;
    kernel.kmain(initrd, "");
}
