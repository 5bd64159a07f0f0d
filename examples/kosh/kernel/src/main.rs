//! The Kosh microkernel. Booted by GRUB (multiboot2, x86_64) or QEMU -kernel (aarch64 virt), it
//! reports on the serial console, lists the boot modules (the userspace services GRUB loaded),
//! gives each service the rights its header asks for, and runs its self-tests: an IPC ping-pong
//! between two kernel test tasks over capability-checked kosh-ipc channels, and capability checks
//! (a send without SEND is denied, derivation never amplifies rights). Then it exits QEMU.
//!
//! `cargo test --package kosh-kernel --target x86_64-kosh.json` (the seed's command) builds the same
//! kernel with its self-tests as `#[test_case]`s and boots it through `kiln runner` (README.md).
#![no_std]
#![no_main]
#![cfg_attr(test, feature(custom_test_frameworks))]
#![cfg_attr(test, test_runner(crate::test_runner))]
#![cfg_attr(test, reexport_test_harness_main = "test_main")]

#[macro_use]
mod console;
mod arch;
mod shell;
mod tasks;

use core::panic::PanicInfo;
use kosh_types::{CSpace, Capability, ObjectId, Rights, ServiceHeader};

/// Called by the architecture's entry with the boot information.
pub fn kernel_start(boot: arch::BootInfo) -> ! {
    println!("kosh: kernel started on {} ({})", arch::NAME, boot.loader);
    #[cfg(test)]
    test_main();
    let mut failures = 0u32;
    let mut services = 0u32;
    let count = boot.module_count();
    println!("kosh: {} boot module(s)", count);
    for i in 0..count {
        let m = boot.module(i);
        match arch::elf_summary(m.bytes) {
            Some((machine, entry)) => println!("kosh: module {}: {} ({} bytes) ELF64 {} entry {:#x}", i, m.name, m.bytes.len(), machine, entry),
            None => {
                println!("kosh: module {}: {} ({} bytes) is not an ELF64 image for this CPU", i, m.name, m.bytes.len());
                failures += 1;
                continue;
            }
        }
        match ServiceHeader::find(m.bytes) {
            Some((offset, header)) => {
                // The service's root capability space: an endpoint to the kernel with the rights it asked for.
                let mut cspace: CSpace<4> = CSpace::new();
                // Only the driver manager may hold DEVICE (hardware access); others lose it.
                let granted = if header.name() == "driver-manager" { header.rights() } else { header.rights().intersect(Rights(!Rights::DEVICE.0)) };
                let slot = cspace.insert(Capability::new(ObjectId(100 + i as u32), granted)).unwrap();
                print!("kosh:   service '{}' (header at {:#x}) rights", header.name(), offset);
                granted.for_each_name(|n| print!(" {}", n));
                println!(" -> slot {}", slot.0);
                services += 1;
            }
            None => {
                println!("kosh:   no service header");
                failures += 1;
            }
        }
    }
    if count > 0 {
        println!("kosh: {} service(s) ready to start", services);
    }
    failures += tasks::ipc_ping_pong(8);
    failures += tasks::capability_checks();
    if failures == 0 {
        println!("kosh: all self-tests passed");
        // A key typed before the kernel ran (kiln's `shell` test types one ahead) opens the shell.
        if arch::serial_read().is_some() {
            shell::run();
        }
        println!("kosh: shutting down");
        arch::exit(0)
    } else {
        println!("kosh: {} self-test failure(s)", failures);
        arch::exit(1)
    }
}

/// A kernel test: a self-test returning its number of failures, with its name.
#[cfg(test)]
pub struct KernelTest {
    pub name: &'static str,
    pub run: fn() -> u32,
}

/// `cargo test`'s runner inside the kernel: cargo test's output format, then isa-debug-exit 0 or 1.
#[cfg(test)]
fn test_runner(tests: &[&KernelTest]) -> ! {
    println!("running {} tests", tests.len());
    let mut failed = 0;
    for test in tests {
        let failures = (test.run)();
        println!("test {} ... {}", test.name, if failures == 0 { "ok" } else { "FAILED" });
        failed += (failures > 0) as usize;
    }
    let verdict = if failed == 0 { "ok" } else { "FAILED" };
    println!("test result: {}. {} passed; {} failed", verdict, tests.len() - failed, failed);
    arch::exit(if failed == 0 { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::KernelTest;
    use kosh_types::{CSpace, Capability, ObjectId, Rights};

    #[test_case]
    static IPC_PING_PONG: KernelTest = KernelTest { name: "tasks::ipc_ping_pong", run: || crate::tasks::ipc_ping_pong(8) };
    #[test_case]
    static CAPABILITY_CHECKS: KernelTest = KernelTest { name: "tasks::capability_checks", run: crate::tasks::capability_checks };
    #[test_case]
    static GRANT_ATTENUATES: KernelTest = KernelTest { name: "cspace::grant_attenuates", run: grant_attenuates };

    /// A capability granted with fewer rights never carries more than asked, nor more than its source.
    fn grant_attenuates() -> u32 {
        let mut root: CSpace<2> = CSpace::new();
        let mut task: CSpace<2> = CSpace::new();
        let slot = root.insert(Capability::new(ObjectId(7), Rights::ALL)).unwrap();
        let granted = root.grant(slot, Rights::SEND, &mut task).unwrap();
        let rights = task.get(granted).unwrap().rights;
        (rights != Rights::SEND) as u32
    }
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    println!("kosh: KERNEL PANIC: {}", info);
    arch::exit(2)
}
