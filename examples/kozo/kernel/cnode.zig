//! KOZO capability management: one CNode (a fixed table of capability slots) with the
//! derivation rules of a capability kernel. Pure logic over the generated ABI types, so it runs
//! in the kernel at boot (`selfTest`) and on the host under `zig test` (the `test` blocks below).
const abi = @import("kozo_abi");

pub const Cap = abi.Cap;
pub const Rights = abi.CapRights;
pub const Error = error{ InvalidCap, NoRights, SlotFull, SlotEmpty, InvalidArgs };

pub const SLOTS: usize = abi.CNODE_SLOTS;
const NO_PARENT: u8 = 0xff;

/// The ABI error code for a CNode error (what a syscall returns to a service).
pub fn errorCode(e: Error) abi.Error {
    return switch (e) {
        error.InvalidCap => .invalid_cap,
        error.NoRights => .no_rights,
        error.SlotFull => .slot_full,
        error.SlotEmpty => .slot_empty,
        error.InvalidArgs => .invalid_args,
    };
}

pub const empty_cap = Cap{ .obj_type = .empty, .rights = .{}, .object_id = 0, .badge = 0 };

pub const CNode = struct {
    slots: [SLOTS]Cap = [_]Cap{empty_cap} ** SLOTS,
    /// Derivation tree: the slot each capability was copied or minted from.
    parent: [SLOTS]u8 = [_]u8{NO_PARENT} ** SLOTS,

    fn index(slot: usize) Error!usize {
        if (slot >= SLOTS) return error.InvalidArgs;
        return slot;
    }

    pub fn isEmpty(self: *const CNode, slot: usize) bool {
        return slot < SLOTS and self.slots[slot].obj_type == .empty;
    }

    /// Places an original capability (the kernel creating an object) into an empty slot.
    pub fn insert(self: *CNode, slot: usize, cap: Cap) Error!void {
        const i = try index(slot);
        if (cap.obj_type == .empty) return error.InvalidArgs;
        if (cap.rights.toInt() & Rights.RESERVED != 0) return error.InvalidArgs;
        if (!self.isEmpty(i)) return error.SlotFull;
        self.slots[i] = cap;
        self.parent[i] = NO_PARENT;
    }

    /// The capability in `slot`, if it holds at least `needed`.
    pub fn lookup(self: *const CNode, slot: usize, needed: Rights) Error!*const Cap {
        const i = try index(slot);
        const cap = &self.slots[i];
        if (cap.obj_type == .empty) return error.SlotEmpty;
        if (!cap.rights.contains(needed)) return error.NoRights;
        return cap;
    }

    /// Copies a capability (same rights); the source needs GRANT.
    pub fn copy(self: *CNode, src: usize, dst: usize) Error!void {
        const cap = (try self.lookup(src, Rights{ .grant = true })).*;
        const d = try index(dst);
        if (!self.isEmpty(d)) return error.SlotFull;
        self.slots[d] = cap;
        self.parent[d] = @intCast(src);
    }

    /// Mints a derived capability with a subset of the source's rights and a badge; the
    /// source needs GRANT, and rights can only shrink.
    pub fn mint(self: *CNode, src: usize, dst: usize, rights: Rights, badge: u64) Error!void {
        const cap = (try self.lookup(src, Rights{ .grant = true })).*;
        if (rights.toInt() & ~Rights.ALL != 0) return error.InvalidArgs;
        if (!cap.rights.contains(rights)) return error.NoRights;
        const d = try index(dst);
        if (!self.isEmpty(d)) return error.SlotFull;
        self.slots[d] = .{ .obj_type = cap.obj_type, .rights = rights, .object_id = cap.object_id, .badge = badge };
        self.parent[d] = @intCast(src);
    }

    /// Deletes one capability; its children are re-parented to nothing (they stay valid).
    pub fn delete(self: *CNode, slot: usize) Error!void {
        const i = try index(slot);
        if (self.isEmpty(i)) return error.SlotEmpty;
        self.slots[i] = empty_cap;
        for (&self.parent) |*p| {
            if (p.* == i) p.* = NO_PARENT;
        }
        self.parent[i] = NO_PARENT;
    }

    /// Revokes every capability derived (transitively) from `slot`; the slot needs REVOKE.
    /// Returns how many were removed.
    pub fn revoke(self: *CNode, slot: usize) Error!usize {
        _ = try self.lookup(slot, Rights{ .revoke = true });
        // Mark the whole subtree first, then clear it: clearing while walking would cut the
        // parent chains of grandchildren not yet visited.
        var doomed = [_]bool{false} ** SLOTS;
        for (0..SLOTS) |i| {
            if (self.slots[i].obj_type != .empty and self.descendsFrom(i, slot)) doomed[i] = true;
        }
        var removed: usize = 0;
        for (0..SLOTS) |i| {
            if (!doomed[i]) continue;
            self.slots[i] = empty_cap;
            self.parent[i] = NO_PARENT;
            removed += 1;
        }
        return removed;
    }

    fn descendsFrom(self: *const CNode, slot: usize, ancestor: usize) bool {
        var cur = self.parent[slot];
        var steps: usize = 0;
        while (cur != NO_PARENT and steps < SLOTS) : (steps += 1) {
            if (cur == ancestor) return true;
            cur = self.parent[cur];
        }
        return false;
    }

    pub fn count(self: *const CNode) usize {
        var n: usize = 0;
        for (self.slots) |c| n += @intFromBool(c.obj_type != .empty);
        return n;
    }
};

fn expectErr(expected: Error, got: anytype) !void {
    if (got) |_| return error.TestUnexpectedSuccess else |e| if (e != expected) return error.TestWrongError;
}

/// The boot-time self-test: the same rules the host tests check, run by the kernel itself.
/// Returns the number of checks that passed.
pub fn selfTest() !usize {
    var n: usize = 0;
    var cn = CNode{};
    const all = Rights.fromInt(Rights.ALL);
    try cn.insert(0, .{ .obj_type = .endpoint, .rights = all, .object_id = 0x1000, .badge = 0 });
    n += 1;
    try expectErr(error.SlotFull, cn.insert(0, .{ .obj_type = .frame, .rights = all, .object_id = 1, .badge = 0 }));
    n += 1;
    try cn.mint(0, 1, Rights{ .read = true, .grant = true }, 7);
    n += 1;
    const c1 = try cn.lookup(1, Rights{ .read = true });
    if (c1.badge != 7 or c1.object_id != 0x1000) return error.TestWrongCap;
    n += 1;
    try expectErr(error.NoRights, cn.lookup(1, Rights{ .write = true }));
    n += 1;
    try expectErr(error.NoRights, cn.mint(1, 2, Rights{ .read = true, .write = true }, 0));
    n += 1;
    try cn.copy(1, 2);
    n += 1;
    try cn.mint(2, 3, Rights{ .read = true }, 9);
    n += 1;
    try expectErr(error.NoRights, cn.copy(3, 4));
    n += 1;
    try expectErr(error.NoRights, cn.revoke(1));
    n += 1;
    if ((try cn.revoke(0)) != 3 or cn.count() != 1) return error.TestRevoke;
    n += 1;
    try expectErr(error.InvalidArgs, cn.lookup(SLOTS, .{}));
    n += 1;
    return n;
}

const std = @import("std");

test "insert, lookup and rights" {
    var cn = CNode{};
    try cn.insert(3, .{ .obj_type = .frame, .rights = Rights{ .read = true, .write = true }, .object_id = 42, .badge = 0 });
    try std.testing.expectEqual(@as(u64, 42), (try cn.lookup(3, Rights{ .read = true })).object_id);
    try std.testing.expectError(error.NoRights, cn.lookup(3, Rights{ .execute = true }));
    try std.testing.expectError(error.SlotEmpty, cn.lookup(4, .{}));
    try std.testing.expectError(error.InvalidArgs, cn.lookup(SLOTS, .{}));
    try std.testing.expectError(error.InvalidArgs, cn.insert(5, empty_cap));
    try std.testing.expectError(error.InvalidArgs, cn.insert(5, .{ .obj_type = .frame, .rights = Rights.fromInt(Rights.RESERVED), .object_id = 0, .badge = 0 }));
}

test "mint only shrinks rights and needs grant" {
    var cn = CNode{};
    try cn.insert(0, .{ .obj_type = .endpoint, .rights = Rights{ .read = true, .write = true, .grant = true }, .object_id = 1, .badge = 0 });
    try cn.mint(0, 1, Rights{ .write = true }, 5);
    try std.testing.expectEqual(Rights.WRITE, cn.slots[1].rights.toInt());
    try std.testing.expectEqual(@as(u64, 5), cn.slots[1].badge);
    try std.testing.expectError(error.NoRights, cn.mint(0, 2, Rights{ .revoke = true }, 0));
    try std.testing.expectError(error.NoRights, cn.mint(1, 2, Rights{ .write = true }, 0));
    try std.testing.expectError(error.SlotFull, cn.mint(0, 1, Rights{ .read = true }, 0));
    try std.testing.expectError(error.InvalidArgs, cn.mint(0, 2, Rights.fromInt(Rights.RESERVED), 0));
}

test "revoke removes the whole derivation subtree and nothing else" {
    var cn = CNode{};
    const all = Rights.fromInt(Rights.ALL);
    try cn.insert(0, .{ .obj_type = .cnode, .rights = all, .object_id = 1, .badge = 0 });
    try cn.insert(8, .{ .obj_type = .frame, .rights = all, .object_id = 2, .badge = 0 });
    try cn.copy(0, 1);
    try cn.mint(1, 2, all, 1);
    try cn.mint(2, 3, Rights{ .read = true }, 2);
    try cn.mint(8, 9, Rights{ .read = true }, 3);
    try std.testing.expectEqual(@as(usize, 3), try cn.revoke(0));
    try std.testing.expectEqual(@as(usize, 3), cn.count());
    try std.testing.expect(!cn.isEmpty(9));
    try std.testing.expectEqual(@as(usize, 0), try cn.revoke(0));
}

test "delete keeps children valid" {
    var cn = CNode{};
    const all = Rights.fromInt(Rights.ALL);
    try cn.insert(0, .{ .obj_type = .thread, .rights = all, .object_id = 1, .badge = 0 });
    try cn.mint(0, 1, all, 0);
    try cn.delete(0);
    try std.testing.expect(cn.isEmpty(0));
    _ = try cn.lookup(1, Rights{ .read = true });
    try std.testing.expectError(error.SlotEmpty, cn.delete(0));
}

test "error codes are the ABI's" {
    try std.testing.expectEqual(@as(i32, -2), @intFromEnum(errorCode(error.NoRights)));
    try std.testing.expectEqual(@as(i32, -3), @intFromEnum(errorCode(error.SlotFull)));
}

test "the boot self-test passes" {
    try std.testing.expectEqual(@as(usize, 12), try selfTest());
}
