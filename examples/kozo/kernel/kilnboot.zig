//! Entry through kiln-boot, kiln's UEFI loader: it verified the kernel's signature and the
//! initrd's hashes, exited boot services and passed the physical address of its boot-info record
//! (layout generated from kiln's ABI schema into `kiln_boot_abi`). The kernel reaches the record,
//! the initrd and the command line through the loader's identity map.
const boot = @import("kiln_boot_abi");
const kernel = @import("main.zig");

pub const Handoff = struct { initrd: ?[]const u8, cmdline: []const u8 };

/// Checks the record and reports what the loader did; null when it is not a kiln-boot record.
pub fn read(address: u64) ?Handoff {
    const info: *const boot.Info = @ptrFromInt(address);
    if (info.magic != boot.MAGIC or info.version != boot.VERSION) return null;
    const f = info.flags;
    kernel.print("boot: kiln-boot record v{d}, {d} memory regions, verified={} initrd_verified={}\n", .{ info.version, info.memory_map_entries, f.verified, f.initrd_verified });
    const initrd: ?[]const u8 = if (info.initrd_size == 0) null else @as([*]const u8, @ptrFromInt(info.initrd_base))[0..info.initrd_size];
    const cmdline = @as([*]const u8, @ptrFromInt(info.cmdline))[0..info.cmdline_size];
    return .{ .initrd = initrd, .cmdline = cmdline };
}
