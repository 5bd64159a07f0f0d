//! The Kosh microkernel. Booted by GRUB (multiboot2, x86_64) or QEMU -kernel (aarch64 virt), it
//! reports on the serial console, lists the boot modules (the userspace services GRUB loaded),
//! gives each service the rights its header asks for, and runs its self-tests: an IPC ping-pong
//! between two kernel test tasks over capability-checked kosh-ipc channels, and capability checks
//! (a send without SEND is denied, derivation never amplifies rights). Then it exits QEMU.
#![no_std]
#![no_main]

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

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    println!("kosh: KERNEL PANIC: {}", info);
    arch::exit(2)
}
