//! aarch64 (QEMU virt, started by -kernel at EL1 with the MMU off): PL011 UART at 0x0900_0000,
//! exit through semihosting SYS_EXIT (ARM semihosting specification, §5.4.4, `hlt #0xf000`).
use super::Module;
use core::arch::{asm, global_asm};

pub const NAME: &str = "aarch64";
pub const ELF_MACHINE: u16 = 183;
const UART: usize = 0x0900_0000;

global_asm!(
    ".section .text.boot, \"ax\"",
    ".global _start",
    "_start:",
    "    mrs x1, mpidr_el1",
    "    and x1, x1, #3",
    "    cbnz x1, 2f",
    "    ldr x1, =__stack_top",
    "    mov sp, x1",
    "    ldr x1, =__bss_start",
    "    ldr x2, =__bss_end",
    "1:  cmp x1, x2",
    "    b.hs 3f",
    "    str xzr, [x1], #8",
    "    b 1b",
    "3:  bl kernel_main",
    "2:  wfe",
    "    b 2b",
);

pub fn serial_write(b: u8) {
    unsafe {
        // Wait while the transmit FIFO is full (FR.TXFF).
        while core::ptr::read_volatile((UART + 0x18) as *const u32) & (1 << 5) != 0 {}
        core::ptr::write_volatile(UART as *mut u32, b as u32);
    }
}

/// A received byte, if one is waiting (FR.RXFE clear).
pub fn serial_read() -> Option<u8> {
    unsafe {
        if core::ptr::read_volatile((UART + 0x18) as *const u32) & (1 << 4) != 0 {
            None
        } else {
            Some(core::ptr::read_volatile(UART as *const u32) as u8)
        }
    }
}

/// Semihosting SYS_EXIT with ADP_Stopped_ApplicationExit and the exit code.
pub fn exit(code: u32) -> ! {
    let block: [u64; 2] = [0x20026, code as u64];
    unsafe { asm!("hlt #0xf000", in("w0") 0x18u32, in("x1") &block as *const _ as u64, options(nostack)) };
    loop {
        unsafe { asm!("wfe", options(nomem, nostack)) };
    }
}

/// QEMU's -kernel passes no boot modules to a bare ELF.
pub struct BootInfo {
    pub loader: &'static str,
}

impl BootInfo {
    pub fn module_count(&self) -> usize {
        0
    }
    pub fn module(&self, _i: usize) -> Module {
        Module { name: "", bytes: &[] }
    }
}

#[no_mangle]
pub extern "C" fn kernel_main() -> ! {
    crate::kernel_start(BootInfo { loader: "QEMU -kernel (ELF at EL1)" })
}
