//! NØNOS kernel (the build-flow part of the NØNOS book: "Building the Kernel"). A bare-metal
//! x86_64 ELF64 linked at 1 MiB with entry `kernel_main`, built for the generated x86_64-nonos
//! target (no red zone, soft-float, panic=abort), linked with the C post-quantum library that
//! build.rs compiles from pqclean/. At boot it runs the library's known-answer self-test
//! (SHA3-256, SHAKE128, the ML-KEM NTT against schoolbook multiplication), prints the result on
//! COM1 and exits QEMU through isa-debug-exit.
#![no_std]
#![no_main]

use core::arch::asm;
use core::fmt::{self, Write};
use core::panic::PanicInfo;

extern "C" {
    fn pqclean_selftest() -> u32;
    fn sha3_256(out: *mut u8, input: *const u8, len: usize);
}

const COM1: u16 = 0x3f8;

/// Boot stage marker in .data (initialized, writable): a debugger attached with `kiln run --gdb`
/// reads how far the kernel got. 0x4e4f4e4f ('NONO') until kernel_main runs.
#[no_mangle]
static mut NONOS_BOOT_STAGE: u32 = 0x4e4f_4e4f;

fn set_stage(stage: u32) {
    unsafe { core::ptr::write_volatile(core::ptr::addr_of_mut!(NONOS_BOOT_STAGE), stage) };
}
const ALL_OK: u32 = 7;

unsafe fn outb(port: u16, v: u8) {
    asm!("out dx, al", in("dx") port, in("al") v, options(nomem, nostack, preserves_flags));
}
unsafe fn inb(port: u16) -> u8 {
    let v: u8;
    asm!("in al, dx", in("dx") port, out("al") v, options(nomem, nostack, preserves_flags));
    v
}

struct Serial;

impl Serial {
    fn init() {
        unsafe {
            outb(COM1 + 1, 0x00);
            outb(COM1 + 3, 0x80);
            outb(COM1, 0x01);
            outb(COM1 + 1, 0x00);
            outb(COM1 + 3, 0x03);
            outb(COM1 + 2, 0xc7);
            outb(COM1 + 4, 0x03);
        }
    }
}

impl Write for Serial {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            unsafe {
                while inb(COM1 + 5) & 0x20 == 0 {}
                outb(COM1, b);
            }
        }
        Ok(())
    }
}

macro_rules! println {
    ($($arg:tt)*) => { { let _ = writeln!(Serial, $($arg)*); } };
}

fn exit_qemu(code: u32) -> ! {
    unsafe { asm!("out dx, eax", in("dx") 0xf4u16, in("eax") code, options(nomem, nostack)) };
    loop {
        unsafe { asm!("cli; hlt", options(nomem, nostack)) };
    }
}

/// kiln-boot's boot-info record (kiln's ABI schema `kiln_boot`; `kilnBootAbi()` generates its C, Rust
/// and Zig headers): "KILNBOOT" as a little-endian u64 at offset 0, `version` (u32) at 8, `flags`
/// (u32; bit 0 verified, bit 1 initrd verified) at 16.
const KILN_BOOT_MAGIC: u64 = 0x544f_4f42_4e4c_494b;

/// Which loader handed over: kiln-boot passes its record, QEMU's PVH boot an hvm_start_info.
fn report_loader(handoff: u64) {
    if handoff == 0 || unsafe { core::ptr::read_volatile(handoff as *const u64) } != KILN_BOOT_MAGIC {
        println!("NONOS: started through the PVH note");
        return;
    }
    let (version, flags) = unsafe { (core::ptr::read_volatile((handoff + 8) as *const u32), core::ptr::read_volatile((handoff + 16) as *const u32)) };
    println!("NONOS: started by kiln-boot (record v{}, signature verified: {})", version, flags & 1 != 0);
}

/// The kernel entry (ELF e_entry). Reached in long mode from the PVH stub with the
/// hvm_start_info pointer, or from kiln-boot (UEFI, already in long mode on its identity map)
/// with its boot-info record.
#[no_mangle]
#[link_section = ".text.kernel_main"]
pub extern "C" fn kernel_main(start_info: u64) -> ! {
    set_stage(1);
    Serial::init();
    let here = kernel_main as usize;
    println!("NONOS kernel_main at {:#x} (start_info {:#x})", here, start_info);
    report_loader(start_info);
    set_stage(2);
    let result = unsafe { pqclean_selftest() };
    set_stage(3);
    let mark = |bit: u32| if result & bit != 0 { "ok" } else { "FAILED" };
    println!("NONOS: PQClean self-test: sha3-256 {}, shake128 {}, ml-kem ntt {} (result {:#x})", mark(1), mark(2), mark(4), result);
    let mut digest = [0u8; 32];
    let msg = b"NONOS";
    unsafe { sha3_256(digest.as_mut_ptr(), msg.as_ptr(), msg.len()) };
    let mut w = Serial;
    let _ = write!(w, "NONOS: sha3-256(\"NONOS\") = ");
    for b in digest {
        let _ = write!(w, "{:02x}", b);
    }
    println!();
    if result == ALL_OK {
        println!("NONOS: self-test passed");
        exit_qemu(0)
    } else {
        println!("NONOS: self-test FAILED");
        exit_qemu(1)
    }
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    println!("NONOS: KERNEL PANIC: {}", info);
    exit_qemu(2)
}
