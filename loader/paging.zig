//! x86_64 4-level page tables for the kernel (Intel SDM vol. 3A §4.5 "4-Level Paging"): an
//! identity map of physical memory from 0 to `top` in 2 MiB pages, and the kernel's segments at
//! their virtual addresses in 4 KiB pages. Tables come from one preallocated pool of pages.
const std = @import("std");

const PRESENT: u64 = 1 << 0;
const WRITABLE: u64 = 1 << 1;
const HUGE: u64 = 1 << 7;
const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;

pub const Error = error{ PoolExhausted, Conflict };

pub const Builder = struct {
    pool: [*]align(4096) u8,
    pool_pages: usize,
    used: usize = 0,
    pml4: u64 = 0,

    fn page(self: *Builder) Error!u64 {
        if (self.used == self.pool_pages) return error.PoolExhausted;
        const p = self.pool + self.used * 4096;
        self.used += 1;
        @memset(p[0..4096], 0);
        return @intFromPtr(p);
    }

    fn table(addr: u64) *[512]u64 {
        return @ptrFromInt(addr);
    }

    /// The next-level table under `entry`, created when absent. A huge page there is a conflict.
    fn child(self: *Builder, entry: *u64) Error!u64 {
        if (entry.* & PRESENT == 0) entry.* = (try self.page()) | PRESENT | WRITABLE;
        if (entry.* & HUGE != 0) return error.Conflict;
        return entry.* & ADDR_MASK;
    }

    /// Creates the PML4 and identity-maps [0, top) (top a multiple of 1 GiB, at most 512 GiB).
    pub fn identity(self: *Builder, top: u64) Error!void {
        self.pml4 = try self.page();
        const pdpt = try self.child(&table(self.pml4)[0]);
        var gib: u64 = 0;
        while (gib < top >> 30) : (gib += 1) {
            const pd = try self.child(&table(pdpt)[gib]);
            for (table(pd), 0..) |*e, j| e.* = (gib << 30) | (@as(u64, j) << 21) | PRESENT | WRITABLE | HUGE;
        }
    }

    /// Maps one 4 KiB page `virt` → `phys`. An existing different mapping is a conflict.
    pub fn map4k(self: *Builder, virt: u64, phys: u64) Error!void {
        const pdpt = try self.child(&table(self.pml4)[(virt >> 39) & 511]);
        const pd = try self.child(&table(pdpt)[(virt >> 30) & 511]);
        const pt = try self.child(&table(pd)[(virt >> 21) & 511]);
        const e = &table(pt)[(virt >> 12) & 511];
        if (e.* & PRESENT != 0 and e.* & ADDR_MASK != phys) return error.Conflict;
        e.* = phys | PRESENT | WRITABLE;
    }
};

/// Pages of tables needed to map `pages` 4 KiB pages spread over `segments` ranges (a bound).
pub fn tablePagesFor(pages: u64, segments: u64) u64 {
    return pages / 512 + 1 + segments * 3 + 2;
}
