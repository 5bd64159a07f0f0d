//! Portix kernel: entered in long mode at 1 MiB by stage 2, with identity-mapped memory.
//! Sets up the IDT (exception stubs and the timer ISR come from isr.asm), remaps the PIC,
//! programs the PIT at 100 Hz, counts timer interrupts, reports on COM1, exits QEMU.
#![no_std]
#![no_main]

#[macro_use]
mod serial;
mod arch;
mod shell;

use core::panic::PanicInfo;
use core::sync::atomic::{AtomicU64, Ordering};

static TICKS: AtomicU64 = AtomicU64::new(0);
const TARGET_TICKS: u64 = 50;

extern "C" {
    static mut __bss_start: u8;
    static mut __bss_end: u8;
}

#[no_mangle]
#[link_section = ".text.start"]
pub extern "C" fn _start(verbose: u64) -> ! {
    unsafe {
        let start = core::ptr::addr_of_mut!(__bss_start);
        let end = core::ptr::addr_of_mut!(__bss_end);
        core::ptr::write_bytes(start, 0, end as usize - start as usize);
    }
    serial::init();
    let verbose = verbose != 0 || cfg!(feature = "verbose");
    println!("Portix kernel: long mode, loaded at 0x100000");
    let idt = arch::init_idt();
    if verbose {
        println!("[debug] IDT at {:#x}: 32 exception gates, timer at vector {}", idt, arch::TIMER_VECTOR);
    }
    arch::init_pic();
    arch::init_pit(100);
    debug_assert!(TICKS.load(Ordering::Relaxed) == 0, "timer ran before interrupts were enabled");
    arch::enable_interrupts();
    let mut reported = 0;
    loop {
        arch::halt();
        let ticks = TICKS.load(Ordering::Relaxed);
        if ticks / 10 != reported / 10 {
            reported = ticks;
            println!("timer ticks: {}", ticks - ticks % 10);
        }
        if ticks >= TARGET_TICKS {
            break;
        }
    }
    println!("Portix: timer OK ({} interrupts)", TICKS.load(Ordering::Relaxed));
    // A key typed during the boot (kiln's `shell` test sends one) opens the shell; else shut down.
    if shell::key_waiting(&TICKS, 20) {
        shell::run(&TICKS);
    }
    println!("Portix: shutting down");
    arch::exit_qemu(0)
}

#[no_mangle]
pub extern "C" fn timer_handler() {
    TICKS.fetch_add(1, Ordering::Relaxed);
}

#[no_mangle]
pub extern "C" fn exception_handler(vector: u64, error_code: u64, rip: u64) -> ! {
    println!("PANIC: CPU exception {} (error code {:#x}) at rip {:#x}", vector, error_code, rip);
    arch::exit_qemu(1)
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    println!("PANIC: {}", info);
    arch::exit_qemu(1)
}
