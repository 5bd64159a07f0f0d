//! ELF64 little-endian reading for kiln-boot: the file header, PT_LOAD program headers and section
//! headers by name (System V gABI, "ELF Header", "Program Header", "Sections"). Every offset and
//! count read from the file is checked against the file's length before use.
const std = @import("std");

pub const EM_X86_64: u16 = 62;
pub const EM_AARCH64: u16 = 183;
pub const PT_LOAD: u32 = 1;
pub const PT_NOTE: u32 = 4;
pub const SHT_NOTE: u32 = 7;
pub const ET_EXEC: u16 = 2;
pub const ET_DYN: u16 = 3;

pub const Error = error{ NotElf, NotElf64, BigEndian, WrongMachine, NotExecutable, Truncated, NoSegments };

pub const Header = struct {
    machine: u16,
    kind: u16,
    entry: u64,
    phoff: u64,
    phentsize: u16,
    phnum: u16,
    shoff: u64,
    shentsize: u16,
    shnum: u16,
    shstrndx: u16,
};

pub const Segment = struct {
    index: usize,
    offset: u64,
    vaddr: u64,
    paddr: u64,
    filesz: u64,
    memsz: u64,
    flags: u32,
};

pub const Section = struct {
    offset: u64,
    size: u64,
};

fn rd(comptime T: type, bytes: []const u8, at: u64) T {
    const i: usize = @intCast(at);
    return std.mem.readIntLittle(T, bytes[i..][0..@sizeOf(T)]);
}

fn fits(file: []const u8, offset: u64, len: u64) bool {
    return offset <= file.len and len <= file.len - offset;
}

/// Reads and checks the ELF header (64-bit, little-endian, `machine`, EXEC or DYN).
pub fn readHeader(file: []const u8, machine: u16) Error!Header {
    if (file.len < 64 or !std.mem.eql(u8, file[0..4], "\x7fELF")) return error.NotElf;
    if (file[4] != 2) return error.NotElf64;
    if (file[5] != 1) return error.BigEndian;
    const h = Header{
        .kind = rd(u16, file, 16),
        .machine = rd(u16, file, 18),
        .entry = rd(u64, file, 24),
        .phoff = rd(u64, file, 32),
        .shoff = rd(u64, file, 40),
        .phentsize = rd(u16, file, 54),
        .phnum = rd(u16, file, 56),
        .shentsize = rd(u16, file, 58),
        .shnum = rd(u16, file, 60),
        .shstrndx = rd(u16, file, 62),
    };
    if (h.machine != machine) return error.WrongMachine;
    if (h.kind != ET_EXEC and h.kind != ET_DYN) return error.NotExecutable;
    if (h.phentsize < 56 or !fits(file, h.phoff, @as(u64, h.phnum) * h.phentsize)) return error.Truncated;
    return h;
}

/// Iterates the PT_LOAD program headers in table order.
pub const SegmentIterator = struct {
    file: []const u8,
    header: Header,
    next_index: usize = 0,

    pub fn next(self: *SegmentIterator) Error!?Segment {
        while (self.next_index < self.header.phnum) {
            const i = self.next_index;
            self.next_index += 1;
            const at = self.header.phoff + @as(u64, i) * self.header.phentsize;
            if (rd(u32, self.file, at) != PT_LOAD) continue;
            const s = Segment{
                .index = i,
                .flags = rd(u32, self.file, at + 4),
                .offset = rd(u64, self.file, at + 8),
                .vaddr = rd(u64, self.file, at + 16),
                .paddr = rd(u64, self.file, at + 24),
                .filesz = rd(u64, self.file, at + 32),
                .memsz = rd(u64, self.file, at + 40),
            };
            if (!fits(self.file, s.offset, s.filesz) or s.filesz > s.memsz) return error.Truncated;
            if (s.memsz > (1 << 40) or s.paddr > std.math.maxInt(u64) - s.memsz) return error.Truncated;
            return s;
        }
        return null;
    }
};

pub fn segments(file: []const u8, header: Header) SegmentIterator {
    return .{ .file = file, .header = header };
}

/// The section named `name` (its file range), or null. A section table that does not fit is an error.
pub fn findSection(file: []const u8, header: Header, name: []const u8) Error!?Section {
    if (header.shnum == 0) return null;
    if (header.shentsize < 64 or !fits(file, header.shoff, @as(u64, header.shnum) * header.shentsize)) return error.Truncated;
    if (header.shstrndx >= header.shnum) return error.Truncated;
    const strtab = sectionAt(file, header, header.shstrndx);
    if (!fits(file, strtab.offset, strtab.size)) return error.Truncated;
    const names = file[@intCast(strtab.offset)..][0..@intCast(strtab.size)];
    var i: u16 = 0;
    while (i < header.shnum) : (i += 1) {
        const at = header.shoff + @as(u64, i) * header.shentsize;
        const name_off = rd(u32, file, at);
        if (name_off >= names.len) continue;
        const rest = names[name_off..];
        const end = std.mem.indexOfScalar(u8, rest, 0) orelse continue;
        if (!std.mem.eql(u8, rest[0..end], name)) continue;
        const s = sectionAt(file, header, i);
        const kind = rd(u32, file, at + 4);
        if (kind == 8) return Section{ .offset = s.offset, .size = 0 }; // SHT_NOBITS: nothing in the file
        if (!fits(file, s.offset, s.size)) return error.Truncated;
        return s;
    }
    return null;
}

fn sectionAt(file: []const u8, header: Header, i: u16) Section {
    const at = header.shoff + @as(u64, i) * header.shentsize;
    return .{ .offset = rd(u64, file, at + 24), .size = rd(u64, file, at + 32) };
}

/// The descriptor of the first note named `name` with type `kind`, from the PT_NOTE segments,
/// then the SHT_NOTE sections (gABI "Note Section": namesz, descsz, type, name and descriptor
/// each padded to 4 bytes). Null when there is none; a note table that does not fit is skipped.
pub fn findNote(file: []const u8, header: Header, name: []const u8, kind: u32) ?[]const u8 {
    var i: u16 = 0;
    while (i < header.phnum) : (i += 1) {
        const at = header.phoff + @as(u64, i) * header.phentsize;
        if (rd(u32, file, at) != PT_NOTE) continue;
        const off = rd(u64, file, at + 8);
        const size = rd(u64, file, at + 32);
        if (!fits(file, off, size)) continue;
        if (noteIn(file[@intCast(off)..][0..@intCast(size)], name, kind)) |d| return d;
    }
    if (header.shnum == 0 or header.shentsize < 64 or !fits(file, header.shoff, @as(u64, header.shnum) * header.shentsize)) return null;
    i = 0;
    while (i < header.shnum) : (i += 1) {
        const at = header.shoff + @as(u64, i) * header.shentsize;
        if (rd(u32, file, at + 4) != SHT_NOTE) continue;
        const s = sectionAt(file, header, i);
        if (!fits(file, s.offset, s.size)) continue;
        if (noteIn(file[@intCast(s.offset)..][0..@intCast(s.size)], name, kind)) |d| return d;
    }
    return null;
}

fn noteIn(notes: []const u8, name: []const u8, kind: u32) ?[]const u8 {
    var at: usize = 0;
    while (notes.len - at >= 12) {
        const namesz = std.mem.readIntLittle(u32, notes[at..][0..4]);
        const descsz = std.mem.readIntLittle(u32, notes[at + 4 ..][0..4]);
        const t = std.mem.readIntLittle(u32, notes[at + 8 ..][0..4]);
        const name_at = at + 12;
        const desc_at = name_at + ((@as(usize, namesz) + 3) & ~@as(usize, 3));
        const next = desc_at + ((@as(usize, descsz) + 3) & ~@as(usize, 3));
        if (namesz > notes.len or descsz > notes.len or next > notes.len) return null;
        const n = notes[name_at..][0..namesz];
        // The name is NUL-terminated in the file (namesz counts the NUL).
        if (t == kind and namesz == name.len + 1 and n[name.len] == 0 and std.mem.eql(u8, n[0..name.len], name))
            return notes[desc_at..][0..descsz];
        at = next;
    }
    return null;
}
