//! kiln-boot: a UEFI application (x86_64 and aarch64) that loads a kernel ELF and an initrd from
//! the partition it was started from, checks the kernel's kiln signature against a key built into
//! it, exits boot services and jumps to the kernel with a boot-info record (loader/README.md).
//!
//! Built by kiln's `kilnBootLoader()` step with two generated modules: `kiln_boot_abi` (the
//! boot-info layout, src/boot/boot-info.ts) and `kiln_boot_config` (paths, command line, key).
const std = @import("std");
const uefi = std.os.uefi;
const abi = @import("kiln_boot_abi");
const config = @import("kiln_boot_config");
const console = @import("console.zig");
const elf = @import("elf.zig");
const verify = @import("verify.zig");
const arch = @import("arch.zig");
const paging = @import("paging.zig");

const BootServices = uefi.tables.BootServices;
const MemoryType = uefi.tables.MemoryType;
const MemoryDescriptor = uefi.tables.MemoryDescriptor;
const FileProtocol = uefi.protocols.FileProtocol;

/// The loader's hand-off data (record, initrd, map, stack, page tables) gets a memory type from
/// the range UEFI 2.10 §7.2 reserves for OS loaders (0x80000000..), so the final map tells it
/// apart. The kernel's pages are EfiLoaderCode: firmware that applies its NX policy to the OS
/// range (AAVMF does) would make them non-executable, and aarch64 keeps the firmware's tables.
/// They are told apart in the map by their addresses (`kernel_ranges`).
const KERNEL_MEMORY: MemoryType = .LoaderCode;
const LOADER_MEMORY: MemoryType = @enumFromInt(0x80000000 + @intFromEnum(abi.MemoryKind.loader));

const MACHINE: u16 = if (arch.is_x86) elf.EM_X86_64 else elf.EM_AARCH64;
const ARCH_NAME = if (arch.is_x86) "x86_64" else "aarch64";
const STACK_PAGES = 16;
const MAX_RANGES = 32;

const dtb_guid align(8) = uefi.Guid{
    .time_low = 0xb1b621d5,
    .time_mid = 0xf19c,
    .time_high_and_version = 0x41a5,
    .clock_seq_high_and_reserved = 0x83,
    .clock_seq_low = 0x0b,
    .node = [_]u8{ 0xd9, 0x15, 0x2c, 0x69, 0xaa, 0xe0 },
};

var t_entry: u64 = 0;
var t_excluded: u64 = 0;
var counter_hz: u64 = 0;

/// CNTFRQ_EL0 on aarch64; on x86_64 the TSC against 1 ms of the firmware's Stall(), a
/// calibration excluded from the measured loader time.
fn calibrate(bs: *BootServices) void {
    if (!arch.is_x86) {
        counter_hz = arch.counterFrequency();
        return;
    }
    const a = arch.counter();
    _ = bs.stall(1000);
    const b = arch.counter();
    counter_hz = (b - a) * 1000;
    t_excluded += b - a;
}

fn microseconds(ticks: u64) u64 {
    return if (counter_hz == 0) 0 else ticks * 1000 / (counter_hz / 1000);
}

/// `12.345 ms` since `since`.
const Elapsed = struct {
    us: u64,
    pub fn format(self: Elapsed, comptime _: []const u8, _: std.fmt.FormatOptions, w: anytype) !void {
        try w.print("{d}.{d:0>3} ms", .{ self.us / 1000, self.us % 1000 });
    }
};

fn since(t: u64) Elapsed {
    return .{ .us = microseconds(arch.counter() - t) };
}

pub fn main() uefi.Status {
    t_entry = arch.counter();
    const bs = uefi.system_table.boot_services.?;
    _ = bs.setWatchdogTimer(0, 0, 0, null);
    console.print("kiln-boot {s} ({s})", .{ config.loader_version, ARCH_NAME });
    calibrate(bs);
    boot(bs) catch |e| {
        console.print("boot failed: {s}", .{@errorName(e)});
    };
    console.print("halted", .{});
    arch.halt();
}

/// Every failure has printed its reason before it returns one of these.
const BootError = error{ FileMissing, ReadFailed, NotElf, Refused, Overlap, OutOfMemory, PageTables, ExitFailed };

fn fail(comptime fmt: []const u8, args: anytype, e: BootError) BootError {
    console.print("ERROR: " ++ fmt, args);
    return e;
}

fn boot(bs: *BootServices) BootError!void {
    const root = try openRoot(bs);
    var size_buf: [32]u8 = undefined;

    // Kernel file.
    var t = arch.counter();
    const kernel = try readFile(bs, root, comptime toUcs2(config.kernel_path), config.kernel_path);
    console.print("loading {s} ({s}, read in {})", .{ config.kernel_path, console.formatSize(&size_buf, kernel.len), since(t) });
    const header = elf.readHeader(kernel, MACHINE) catch |e| return switch (e) {
        error.WrongMachine => fail("{s}: wrong machine (the ELF is not for {s})", .{ config.kernel_path, ARCH_NAME }, error.NotElf),
        error.NotExecutable => fail("{s}: not an executable ELF (type must be EXEC or DYN)", .{config.kernel_path}, error.NotElf),
        else => fail("{s}: not ELF ({s})", .{ config.kernel_path, @errorName(e) }, error.NotElf),
    };

    const entry = kernelEntry(kernel, header);

    // Signature.
    var flags = abi.BootFlags{};
    var manifest: ?elf.Section = null;
    if (config.verify) {
        t = arch.counter();
        const r = verify.verifyKernel(kernel, MACHINE, .{
            .manifest = config.manifest_section,
            .signature = config.signature_section,
            .ml_dsa = config.ml_dsa_section,
        }, .{
            .public_key = config.public_key,
            .key_id = config.key_id,
            .ml_dsa = if (config.ml_dsa) .{ .public_key = &config.ml_dsa_public_key, .key_id = config.ml_dsa_key_id } else null,
        }, uefi.pool_allocator);
        if (r.check != .ok) return refuse(r);
        if (r.ml_dsa_verified) {
            console.print("signature ok (key {s}, Ed25519 + ML-DSA-65 key {s}; checked in {})", .{ std.fmt.fmtSliceHexLower(&r.claimed_key), std.fmt.fmtSliceHexLower(&r.claimed_ml_dsa_key), since(t) });
        } else {
            console.print("signature ok (key {s}, Ed25519{s}; checked in {})", .{ std.fmt.fmtSliceHexLower(&r.claimed_key), if (r.hybrid) "; its ML-DSA-65 signature is not checked: this loader trusts no ML-DSA key" else "", since(t) });
        }
        flags.verified = true;
        flags.ml_dsa_verified = r.ml_dsa_verified;
        manifest = r.manifest;
    }

    // Segments.
    t = arch.counter();
    const placed = try placeSegments(bs, kernel, header);
    // One line, not one per segment: each line costs milliseconds on a firmware console that
    // draws and scrolls a framebuffer under emulation (OVMF), a visible share of the loader's time.
    console.print("kernel placed at 0x{x}-0x{x} ({d} segments, bias 0x{x}) in {}", .{ placed.phys_base, placed.phys_end, placed.segments, placed.bias, since(t) });

    // Initrd.
    var initrd: []u8 = &[_]u8{};
    if (config.initrd_path.len > 0) {
        initrd = try readFileToPages(bs, root, comptime toUcs2(config.initrd_path), config.initrd_path);
        console.print("initrd {s} ({s}) at 0x{x}", .{ config.initrd_path, console.formatSize(&size_buf, initrd.len), @intFromPtr(initrd.ptr) });
        if (manifest) |m| {
            const ir = verify.verifyInitrd(kernel[@intCast(m.offset)..][0..@intCast(m.size)], initrd);
            if (!ir.ok) {
                console.print("REFUSED {s}: initrd member '{s}': {s}", .{ config.initrd_path, ir.name, ir.detail });
                return error.Refused;
            }
            console.print("initrd hashes ok ({d} members)", .{ir.members});
            flags.initrd_verified = true;
        }
    }

    // Boot info, command line, memory-map array, stack, page tables: all allocated before the map is read.
    var info_pages = try allocPages(bs, .AllocateAnyPages, LOADER_MEMORY, 0, 1 + pagesFor(config.cmdline.len + 1));
    const info: *abi.Info = @ptrCast(@alignCast(info_pages.ptr));
    @memset(info_pages, 0);
    const cmdline_at = info_pages[4096..];
    @memcpy(cmdline_at[0..config.cmdline.len], config.cmdline);
    cmdline_at[config.cmdline.len] = 0;

    const stack = try allocPages(bs, .AllocateAnyPages, LOADER_MEMORY, 0, STACK_PAGES);
    var map = try MemoryMap.init(bs);
    const regions_bytes = try allocPages(bs, .AllocateAnyPages, LOADER_MEMORY, 0, pagesFor(map.capacity() * @sizeOf(abi.MemoryRegion)));
    const regions: [*]abi.MemoryRegion = @ptrCast(@alignCast(regions_bytes.ptr));

    info.* = std.mem.zeroes(abi.Info);
    info.magic = abi.MAGIC;
    info.version = abi.VERSION;
    info.size = @sizeOf(abi.Info);
    info.initrd_base = if (initrd.len > 0) @intFromPtr(initrd.ptr) else 0;
    info.initrd_size = initrd.len;
    info.cmdline = @intFromPtr(cmdline_at.ptr);
    info.cmdline_size = config.cmdline.len;
    info.memory_map = @intFromPtr(regions);
    info.uefi_system_table = @intFromPtr(uefi.system_table);
    info.kernel_phys_base = placed.phys_base;
    info.kernel_phys_end = placed.phys_end;
    info.load_bias = placed.bias;
    info.entry = entry;
    info.serial_kind = @enumFromInt(config.serial_kind);
    info.serial_base = config.serial_base;
    info.stack_base = @intFromPtr(stack.ptr);
    info.stack_size = stack.len;
    findFramebuffer(bs, &info.framebuffer);
    findConfigTables(info);

    var page_tables: u64 = 0;
    if (arch.is_x86) {
        page_tables = try buildPageTables(bs, kernel, header, &map, &info.framebuffer);
        flags.higher_half = placed.bias != 0;
        info.page_tables = page_tables;
    } else {
        flags.mmu_identity = true;
    }
    info.flags = flags;

    info.counter_hz = counter_hz;
    const elapsed_us = microseconds(arch.counter() - t_entry - t_excluded);
    console.print("jumping to 0x{x} (boot info at 0x{x}, {d}.{d:0>3} ms in the loader, {} of it writing to the console)", .{ entry, @intFromPtr(info), elapsed_us / 1000, elapsed_us % 1000, Elapsed{ .us = microseconds(console.ticks) } });

    // Exit boot services: from here on no console, no allocation.
    const t_exit = arch.counter();
    try map.exitBootServices(bs);
    info.exit_ticks = arch.counter() - t_exit;
    info.memory_map_entries = @intCast(map.convert(regions));
    info.loader_ticks = arch.counter() - t_entry - t_excluded;
    info_pages = info_pages; // the record stays where it is: the kernel owns it now
    arch.enterKernel(entry, @intFromPtr(info), @intFromPtr(stack.ptr) + stack.len, page_tables);
}

/// The ELF entry, or the one a `kiln-boot` entry note names (a kernel whose e_entry is another
/// protocol's, such as a multiboot2 kernel's 32-bit entry for GRUB).
fn kernelEntry(kernel: []const u8, header: elf.Header) u64 {
    const desc = elf.findNote(kernel, header, abi.NOTE_NAME, abi.NOTE_ENTRY) orelse return header.entry;
    if (desc.len != 8) return header.entry;
    const entry = std.mem.readIntLittle(u64, desc[0..8]);
    console.print("entry 0x{x} from the kiln-boot note (ELF entry 0x{x})", .{ entry, header.entry });
    return entry;
}

fn refuse(r: verify.Result) BootError {
    const check = switch (r.check) {
        .ok => unreachable,
        .not_elf => "not-elf",
        .missing_section => "missing-section",
        .manifest_invalid => "manifest-invalid",
        .unknown_key_id => "unknown-key-id",
        .manifest_mismatch => "manifest-mismatch",
        .ed25519 => "ed25519",
        .ml_dsa => "ml-dsa",
    };
    if (r.check == .unknown_key_id and r.unknown_is_ml_dsa) {
        console.print("REFUSED {s}: {s}: signed by ML-DSA-65 key {s}, this loader trusts ML-DSA-65 key {s}", .{ config.kernel_path, check, std.fmt.fmtSliceHexLower(&r.claimed_ml_dsa_key), std.fmt.fmtSliceHexLower(&config.ml_dsa_key_id) });
    } else if (r.check == .unknown_key_id) {
        console.print("REFUSED {s}: {s}: signed by key {s}, this loader trusts key {s}", .{ config.kernel_path, check, std.fmt.fmtSliceHexLower(&r.claimed_key), std.fmt.fmtSliceHexLower(&config.key_id) });
    } else if (std.mem.allEqual(u8, &r.claimed_key, 0)) {
        console.print("REFUSED {s}: {s}: {s}", .{ config.kernel_path, check, r.detail });
    } else {
        console.print("REFUSED {s}: {s}: {s} (key {s} claimed)", .{ config.kernel_path, check, r.detail, std.fmt.fmtSliceHexLower(&r.claimed_key) });
    }
    return error.Refused;
}

fn toUcs2(comptime path: []const u8) *const [path.len:0]u16 {
    comptime {
        var out: [path.len:0]u16 = undefined;
        for (path, 0..) |c, i| out[i] = if (c == '/') '\\' else c;
        out[path.len] = 0;
        const final = out;
        return &final;
    }
}

fn pagesFor(bytes: u64) usize {
    return @intCast((bytes + 4095) / 4096);
}

fn allocPages(bs: *BootServices, how: uefi.tables.AllocateType, kind: MemoryType, address: u64, pages: usize) BootError![]align(4096) u8 {
    var p: [*]align(4096) u8 = @ptrFromInt(if (address == 0) 4096 else address);
    if (how == .AllocateAnyPages) p = undefined;
    const st = bs.allocatePages(how, kind, pages, &p);
    if (st != .Success) return fail("AllocatePages({d} pages): {s}", .{ pages, @tagName(st) }, error.OutOfMemory);
    return p[0 .. pages * 4096];
}

// ---------- files ----------

fn openRoot(bs: *BootServices) BootError!*const FileProtocol {
    var image: ?*anyopaque = null;
    if (bs.handleProtocol(uefi.handle, &uefi.protocols.LoadedImageProtocol.guid, &image) != .Success)
        return fail("no LoadedImage protocol", .{}, error.FileMissing);
    const loaded: *uefi.protocols.LoadedImageProtocol = @ptrCast(@alignCast(image.?));
    var fs: ?*anyopaque = null;
    if (bs.handleProtocol(loaded.device_handle.?, &uefi.protocols.SimpleFileSystemProtocol.guid, &fs) != .Success)
        return fail("the boot device has no file system", .{}, error.FileMissing);
    const sfs: *uefi.protocols.SimpleFileSystemProtocol = @ptrCast(@alignCast(fs.?));
    var root: *const FileProtocol = undefined;
    if (sfs.openVolume(&root) != .Success) return fail("cannot open the boot volume", .{}, error.FileMissing);
    return root;
}

fn openFile(root: *const FileProtocol, path16: [*:0]const u16, path: []const u8) BootError!struct { file: *const FileProtocol, size: u64 } {
    var file: *const FileProtocol = undefined;
    const st = root.open(&file, path16, FileProtocol.efi_file_mode_read, 0);
    if (st != .Success) return fail("{s}: file missing ({s})", .{ path, @tagName(st) }, error.FileMissing);
    var info_buf: [512]u8 align(8) = undefined;
    var len: usize = info_buf.len;
    if (file.getInfo(&uefi.protocols.FileInfo.guid, &len, &info_buf) != .Success) return fail("{s}: cannot read its size", .{path}, error.ReadFailed);
    const info: *const uefi.protocols.FileInfo = @ptrCast(&info_buf);
    return .{ .file = file, .size = info.file_size };
}

fn readAll(file: *const FileProtocol, buf: []u8, path: []const u8) BootError!void {
    var done: usize = 0;
    while (done < buf.len) {
        var n: usize = buf.len - done;
        const st = file.read(&n, buf[done..].ptr);
        if (st != .Success or n == 0) return fail("{s}: read failed at byte {d} ({s})", .{ path, done, @tagName(st) }, error.ReadFailed);
        done += n;
    }
    _ = file.close();
}

/// The whole file in pool memory (the kernel: it is verified there, then copied to its segments).
fn readFile(bs: *BootServices, root: *const FileProtocol, path16: [*:0]const u16, path: []const u8) BootError![]u8 {
    _ = bs;
    const f = try openFile(root, path16, path);
    const buf = uefi.pool_allocator.alloc(u8, @intCast(f.size)) catch return fail("{s}: out of memory ({d} bytes)", .{ path, f.size }, error.OutOfMemory);
    try readAll(f.file, buf, path);
    return buf;
}

/// The whole file in its own pages (the initrd: handed to the kernel where it was read).
fn readFileToPages(bs: *BootServices, root: *const FileProtocol, path16: [*:0]const u16, path: []const u8) BootError![]u8 {
    const f = try openFile(root, path16, path);
    const pages = try allocPages(bs, .AllocateAnyPages, LOADER_MEMORY, 0, @max(1, pagesFor(f.size)));
    const buf = pages[0..@intCast(f.size)];
    try readAll(f.file, buf, path);
    return buf;
}

// ---------- segments ----------

const Placed = struct { phys_base: u64, phys_end: u64, bias: u64, segments: usize = 0 };
const Range = struct { start: u64, end: u64 };
var kernel_ranges: [MAX_RANGES]Range = undefined;
var kernel_range_count: usize = 0;

fn inKernel(base: u64, pages: u64) bool {
    for (kernel_ranges[0..kernel_range_count]) |r| if (base < r.end and base + pages * 4096 > r.start) return true;
    return false;
}

fn placeSegments(bs: *BootServices, kernel: []const u8, header: elf.Header) BootError!Placed {
    var ranges: [MAX_RANGES]Range = undefined;
    var count: usize = 0;
    var placed = Placed{ .phys_base = std.math.maxInt(u64), .phys_end = 0, .bias = 0 };
    var first = true;
    var it = elf.segments(kernel, header);
    while (it.next() catch return fail("{s}: a segment lies outside the file", .{config.kernel_path}, error.NotElf)) |s| {
        if (s.memsz == 0) continue;
        if (count == MAX_RANGES) return fail("{s}: more than {d} PT_LOAD segments", .{ config.kernel_path, MAX_RANGES }, error.NotElf);
        if (!arch.is_x86 and s.vaddr != s.paddr)
            return fail("{s}: segment {d} has virtual 0x{x} != physical 0x{x}; on aarch64 kiln-boot keeps the firmware's identity map", .{ config.kernel_path, s.index, s.vaddr, s.paddr }, error.NotElf);
        if (first) placed.bias = s.vaddr -% s.paddr;
        first = false;
        ranges[count] = .{ .start = s.paddr & ~@as(u64, 4095), .end = (s.paddr + s.memsz + 4095) & ~@as(u64, 4095) };
        count += 1;
        placed.phys_base = @min(placed.phys_base, s.paddr);
        placed.phys_end = @max(placed.phys_end, s.paddr + s.memsz);
    }
    if (count == 0) return fail("{s}: no PT_LOAD segment", .{config.kernel_path}, error.NotElf);
    // Merge ranges sharing pages, then allocate each at its address.
    std.sort.insertion(Range, ranges[0..count], {}, struct {
        fn lt(_: void, a: Range, b: Range) bool {
            return a.start < b.start;
        }
    }.lt);
    var merged: usize = 0;
    for (ranges[0..count]) |r| {
        if (merged > 0 and r.start <= ranges[merged - 1].end) {
            ranges[merged - 1].end = @max(ranges[merged - 1].end, r.end);
        } else {
            ranges[merged] = r;
            merged += 1;
        }
    }
    kernel_ranges = ranges;
    kernel_range_count = merged;
    for (ranges[0..merged]) |r| {
        var p: [*]align(4096) u8 = @ptrFromInt(r.start);
        const st = bs.allocatePages(.AllocateAddress, KERNEL_MEMORY, pagesFor(r.end - r.start), &p);
        if (st != .Success) return overlap(bs, r, st);
    }
    it = elf.segments(kernel, header);
    while (it.next() catch unreachable) |s| {
        if (s.memsz == 0) continue;
        const dest: [*]u8 = @ptrFromInt(s.paddr);
        @memcpy(dest[0..@intCast(s.filesz)], kernel[@intCast(s.offset)..][0..@intCast(s.filesz)]);
        @memset(dest[@intCast(s.filesz)..@intCast(s.memsz)], 0);
        arch.syncInstructionCache(s.paddr, s.memsz);
        placed.segments += 1;
    }
    return placed;
}

/// The segment range could not be allocated: name the firmware memory it collides with.
fn overlap(bs: *BootServices, r: Range, st: uefi.Status) BootError {
    var map = MemoryMap.init(bs) catch return fail("kernel range 0x{x}-0x{x} is not free ({s})", .{ r.start, r.end, @tagName(st) }, error.Overlap);
    map.read(bs) catch {};
    var i: usize = 0;
    while (i < map.count) : (i += 1) {
        const d = map.at(i);
        const end = d.physical_start + d.number_of_pages * 4096;
        if (d.type == .ConventionalMemory or end <= r.start or d.physical_start >= r.end) continue;
        return fail("kernel range 0x{x}-0x{x} overlaps firmware memory 0x{x}-0x{x} ({s}): {s}", .{ r.start, r.end, d.physical_start, end, memoryTypeName(d.type), @tagName(st) }, error.Overlap);
    }
    return fail("kernel range 0x{x}-0x{x} is not free memory ({s})", .{ r.start, r.end, @tagName(st) }, error.Overlap);
}

fn memoryTypeName(t: MemoryType) []const u8 {
    return switch (t) {
        .ReservedMemoryType, .LoaderCode, .LoaderData, .BootServicesCode, .BootServicesData, .RuntimeServicesCode, .RuntimeServicesData, .ConventionalMemory, .UnusableMemory, .ACPIReclaimMemory, .ACPIMemoryNVS, .MemoryMappedIO, .MemoryMappedIOPortSpace, .PalCode, .PersistentMemory, .MaxMemoryType => @tagName(t),
        _ => "OS-defined",
    };
}

// ---------- memory map ----------

const MemoryMap = struct {
    buf: []align(8) u8,
    size: usize = 0,
    key: usize = 0,
    descriptor_size: usize = 0,
    count: usize = 0,

    /// A buffer for the map with room for the descriptors later allocations add.
    fn init(bs: *BootServices) BootError!MemoryMap {
        var size: usize = 0;
        var key: usize = 0;
        var dsize: usize = 0;
        var version: u32 = 0;
        _ = bs.getMemoryMap(&size, null, &key, &dsize, &version);
        if (dsize == 0) return fail("GetMemoryMap gave no descriptor size", .{}, error.OutOfMemory);
        const cap = size + 16 * dsize;
        const buf = uefi.pool_allocator.alignedAlloc(u8, 8, cap) catch return fail("out of memory for the memory map", .{}, error.OutOfMemory);
        return .{ .buf = buf, .descriptor_size = dsize };
    }

    fn capacity(self: MemoryMap) usize {
        return self.buf.len / self.descriptor_size + 1;
    }

    fn read(self: *MemoryMap, bs: *BootServices) BootError!void {
        self.size = self.buf.len;
        var version: u32 = 0;
        const st = bs.getMemoryMap(&self.size, @ptrCast(self.buf.ptr), &self.key, &self.descriptor_size, &version);
        if (st != .Success) return error.ExitFailed;
        self.count = self.size / self.descriptor_size;
    }

    fn at(self: MemoryMap, i: usize) *align(1) const MemoryDescriptor {
        return @ptrCast(self.buf.ptr + i * self.descriptor_size);
    }

    /// Highest address any descriptor covers.
    fn top(self: MemoryMap) u64 {
        var t: u64 = 0;
        var i: usize = 0;
        while (i < self.count) : (i += 1) t = @max(t, self.at(i).physical_start + self.at(i).number_of_pages * 4096);
        return t;
    }

    /// UEFI 2.10 §7.4 ExitBootServices: a stale map key fails once; read the map again and retry.
    fn exitBootServices(self: *MemoryMap, bs: *BootServices) BootError!void {
        var attempt: usize = 0;
        while (attempt < 3) : (attempt += 1) {
            self.read(bs) catch continue;
            if (bs.exitBootServices(uefi.handle, self.key) == .Success) return;
        }
        return fail("ExitBootServices failed", .{}, error.ExitFailed);
    }

    /// Fills the kiln regions (sorted by base); returns their count.
    fn convert(self: MemoryMap, out: [*]abi.MemoryRegion) usize {
        var i: usize = 0;
        while (i < self.count) : (i += 1) {
            const d = self.at(i);
            out[i] = .{ .base = d.physical_start, .pages = d.number_of_pages, .kind = if (d.type == KERNEL_MEMORY and inKernel(d.physical_start, d.number_of_pages)) .kernel else kindOf(d.type), .uefi_type = @intFromEnum(d.type), .attributes = @bitCast(d.attribute) };
        }
        std.sort.insertion(abi.MemoryRegion, out[0..self.count], {}, struct {
            fn lt(_: void, a: abi.MemoryRegion, b: abi.MemoryRegion) bool {
                return a.base < b.base;
            }
        }.lt);
        return self.count;
    }
};

fn kindOf(t: MemoryType) abi.MemoryKind {
    return switch (t) {
        .LoaderCode, .LoaderData => .loader,
        .BootServicesCode, .BootServicesData, .ConventionalMemory => .usable,
        .RuntimeServicesCode, .RuntimeServicesData => .runtime_services,
        .ACPIReclaimMemory => .acpi_reclaimable,
        .ACPIMemoryNVS => .acpi_nvs,
        .MemoryMappedIO, .MemoryMappedIOPortSpace => .mmio,
        else => if (t == LOADER_MEMORY) .loader else .reserved,
    };
}

// ---------- firmware tables ----------

fn findFramebuffer(bs: *BootServices, fb: *abi.Framebuffer) void {
    var ptr: ?*anyopaque = null;
    if (bs.locateProtocol(&uefi.protocols.GraphicsOutputProtocol.guid, null, &ptr) != .Success or ptr == null) return;
    const gop: *uefi.protocols.GraphicsOutputProtocol = @ptrCast(@alignCast(ptr.?));
    const mode = gop.mode;
    const mi = mode.info;
    fb.base = mode.frame_buffer_base;
    fb.size = mode.frame_buffer_size;
    fb.width = mi.horizontal_resolution;
    fb.height = mi.vertical_resolution;
    fb.stride = mi.pixels_per_scan_line;
    fb.format = switch (mi.pixel_format) {
        .PixelRedGreenBlueReserved8BitPerColor => .rgbx_8bpc,
        .PixelBlueGreenRedReserved8BitPerColor => .bgrx_8bpc,
        .PixelBitMask => .bitmask,
        else => .none,
    };
    if (fb.format == .none) fb.base = 0;
    fb.red_mask = mi.pixel_information.red_mask;
    fb.green_mask = mi.pixel_information.green_mask;
    fb.blue_mask = mi.pixel_information.blue_mask;
    fb.reserved_mask = mi.pixel_information.reserved_mask;
}

fn findConfigTables(info: *abi.Info) void {
    const st = uefi.system_table;
    var acpi1: u64 = 0;
    for (st.configuration_table[0..st.number_of_table_entries]) |t| {
        const addr = @intFromPtr(t.vendor_table);
        if (t.vendor_guid.eql(uefi.tables.ConfigurationTable.acpi_20_table_guid)) info.acpi_rsdp = addr;
        if (t.vendor_guid.eql(uefi.tables.ConfigurationTable.acpi_10_table_guid)) acpi1 = addr;
        if (t.vendor_guid.eql(dtb_guid)) info.device_tree = addr;
    }
    if (info.acpi_rsdp == 0) info.acpi_rsdp = acpi1;
}

// ---------- x86_64 page tables ----------

fn buildPageTables(bs: *BootServices, kernel: []const u8, header: elf.Header, map: *MemoryMap, fb: *const abi.Framebuffer) BootError!u64 {
    map.read(bs) catch return fail("GetMemoryMap failed", .{}, error.PageTables);
    var top: u64 = @max(map.top(), 4 << 30);
    if (fb.base != 0) top = @max(top, fb.base + fb.size);
    top = (top + (1 << 30) - 1) & ~@as(u64, (1 << 30) - 1);
    if (top > 512 << 30) top = 512 << 30;
    var kernel_pages: u64 = 0;
    var nseg: u64 = 0;
    var it = elf.segments(kernel, header);
    while (it.next() catch unreachable) |s| {
        if (s.vaddr == s.paddr or s.memsz == 0) continue;
        if (s.vaddr < top) return fail("segment {d}: virtual 0x{x} lies in the identity-mapped range below 0x{x} but differs from its physical 0x{x}", .{ s.index, s.vaddr, top, s.paddr }, error.PageTables);
        kernel_pages += (s.memsz + 8191) / 4096;
        nseg += 1;
    }
    const pool_pages = 2 + (top >> 30) + paging.tablePagesFor(kernel_pages, nseg);
    const pool = try allocPages(bs, .AllocateAnyPages, LOADER_MEMORY, 0, @intCast(pool_pages));
    var b = paging.Builder{ .pool = pool.ptr, .pool_pages = @intCast(pool_pages) };
    b.identity(top) catch return fail("page tables: identity map", .{}, error.PageTables);
    it = elf.segments(kernel, header);
    while (it.next() catch unreachable) |s| {
        if (s.vaddr == s.paddr or s.memsz == 0) continue;
        var off: u64 = 0;
        const first = s.vaddr & ~@as(u64, 4095);
        const last = s.vaddr + s.memsz;
        while (first + off < last) : (off += 4096) {
            b.map4k(first + off, (s.paddr & ~@as(u64, 4095)) + off) catch |e|
                return fail("page tables: mapping 0x{x}: {s}", .{ first + off, @errorName(e) }, error.PageTables);
        }
    }
    console.print("page tables: identity 0-0x{x}, kernel at virtual addresses ({d} table pages)", .{ top, b.used });
    return b.pml4;
}

