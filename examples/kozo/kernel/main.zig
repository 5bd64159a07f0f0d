//! KOZO microkernel (Layer 0), the part shared by every architecture: finds the initrd, lists
//! the Rust services in it, checks that each was built against this kernel's ABI (the hash of
//! the schema kiln generated both sides from), runs the CNode self-test and exits.
const std = @import("std");
const builtin = @import("builtin");
const abi = @import("kozo_abi");
const cnode = @import("cnode.zig");
const cpio = @import("cpio.zig");
const elf = @import("elf.zig");

pub const arch = switch (builtin.cpu.arch) {
    .x86_64 => @import("arch/x86_64/arch.zig"),
    .aarch64 => @import("arch/aarch64/arch.zig"),
    else => @compileError("KOZO supports x86_64 and aarch64"),
};

comptime {
    // The architecture's entry points (called from its boot assembly) are exported from here.
    _ = arch;
}

const Console = std.io.Writer(void, error{}, consoleWrite);
fn consoleWrite(_: void, bytes: []const u8) error{}!usize {
    for (bytes) |c| {
        if (c == '\n') arch.putc('\r');
        arch.putc(c);
    }
    return bytes.len;
}

pub fn print(comptime fmt: []const u8, args: anytype) void {
    std.fmt.format(Console{ .context = {} }, fmt, args) catch {};
}

/// Called by the architecture once it runs in 64-bit mode with a stack and a console.
pub fn kmain(initrd: ?[]const u8, cmdline: []const u8) noreturn {
    print("KOZO microkernel (Zig {s}, {s}, {s})\n", .{ builtin.zig_version_string, @tagName(builtin.cpu.arch), @tagName(builtin.mode) });
    if (cmdline.len != 0) print("cmdline: {s}\n", .{cmdline});
    arch.describeCpu();
    if (@hasDecl(arch, "initInterrupts")) arch.initInterrupts();
    print("abi: {s} {s} hash {s}\n", .{ abi.ABI_NAME, abi.ABI_VERSION, abi.ABI_HASH });
    const ok = checkServices(initrd);
    const checks = cnode.selfTest() catch |e| {
        print("cnode: self-test FAILED: {s}\n", .{@errorName(e)});
        arch.exit(2);
    };
    print("cnode: self-test passed ({d} checks)\n", .{checks});
    if (!ok) {
        print("KOZO: refusing to start services built against another ABI\n", .{});
        arch.exit(3);
    }
    print("KOZO: all checks passed, exiting\n", .{});
    arch.exit(0);
}

fn checkServices(initrd: ?[]const u8) bool {
    const bytes = initrd orelse {
        print("initrd: not found\n", .{});
        return false;
    };
    print("initrd: {d} bytes at 0x{x}\n", .{ bytes.len, @intFromPtr(bytes.ptr) });
    var it = cpio.iterate(bytes);
    var services: usize = 0;
    var matched: usize = 0;
    while (true) {
        const entry = (it.next() catch |e| {
            print("initrd: damaged archive: {s}\n", .{@errorName(e)});
            return false;
        }) orelse break;
        if (!cpio.isRegularFile(entry)) continue;
        services += 1;
        print("service {s}: {d} bytes", .{ entry.name, entry.data.len });
        const tag = elf.section(entry.data, ".kozo.abi") catch |e| {
            print(", not a KOZO service ({s})\n", .{@errorName(e)});
            continue;
        };
        if (tag) |t| {
            if (t.len == 72 and std.mem.eql(u8, t[0..8], "KOZOABI1")) {
                const hash = t[8..72];
                if (std.mem.eql(u8, hash, abi.ABI_HASH)) {
                    matched += 1;
                    print(", abi {s} ok\n", .{hash[0..16]});
                } else print(", abi {s} MISMATCH\n", .{hash[0..16]});
                continue;
            }
        }
        print(", no ABI tag\n", .{});
    }
    print("initrd: {d} services, {d} built against this ABI\n", .{ services, matched });
    if (services > 0 and matched == services) {
        print("abi: hash matches all services\n", .{});
        return true;
    }
    return false;
}

pub fn panic(msg: []const u8, _: ?*std.builtin.StackTrace, _: ?usize) noreturn {
    print("KOZO panic: {s}\n", .{msg});
    arch.exit(4);
}
