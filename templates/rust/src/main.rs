//! A freestanding AArch64 kernel for QEMU's `virt` board: it prints on the PL011 UART and leaves
//! QEMU through semihosting with the test's verdict as the exit code.
#![no_std]
#![no_main]

mod uart;

use core::arch::{asm, global_asm};
use core::panic::PanicInfo;

// QEMU enters at _start in EL1 with the MMU off: set the stack, then call Rust.
global_asm!(
    ".section .text.boot, \"ax\"",
    ".global _start",
    "_start:",
    "    ldr x0, =__stack_top",
    "    mov sp, x0",
    "    bl kernel_main",
    "1:  wfe",
    "    b 1b",
);

fn answer(a: u32, b: u32) -> u32 {
    a * b
}

#[no_mangle]
extern "C" fn kernel_main() -> ! {
    uart::write_str("Hello from __NAME__\n");
    let product = answer(6, 7);
    uart::write_str("kernel: 6 * 7 = ");
    uart::write_u32(product);
    uart::write_str("\n");
    exit(if product == 42 { 0 } else { 1 })
}

/// Semihosting SYS_EXIT (QEMU needs -semihosting; kiln passes it for `exit: { kind: 'semihosting' }`).
fn exit(code: u64) -> ! {
    let block: [u64; 2] = [0x20026, code]; // ADP_Stopped_ApplicationExit, exit code
    unsafe {
        asm!("hlt #0xf000", in("w0") 0x18u32, in("x1") block.as_ptr(), options(nostack));
    }
    loop {
        unsafe { asm!("wfe", options(nomem, nostack)) };
    }
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    uart::write_str("kernel panic");
    if let Some(location) = info.location() {
        uart::write_str(" at ");
        uart::write_str(location.file());
    }
    uart::write_str("\n");
    exit(1)
}
