//! Host unit tests of the kernel's pure logic (KOZO §5 "Logic testing of capability management
//! (CNode logic) on host"): kiln's zig.test() step runs `zig test` on this file natively.
test {
    _ = @import("cnode.zig");
    _ = @import("cpio.zig");
    _ = @import("elf.zig");
}
