//! kosh-init: the first userspace task. Asks the kernel to spawn the filesystem service and the
//! driver manager, registers the boot drivers with the driver manager, then serves exit requests.
#![no_std]
#![no_main]

use kosh_ipc::{label, sys, Message};
use kosh_types::{CapSlot, DeviceClass, Rights, ServiceHeader, TaskId};

#[used]
#[link_section = ".kosh_service"]
static HEADER: ServiceHeader = ServiceHeader::new("init", Rights(Rights::SEND.0 | Rights::RECV.0 | Rights::SPAWN.0 | Rights::GRANT.0));

/// Slot 0: the kernel endpoint. Slot 1: this task's own endpoint.
const KERNEL: CapSlot = CapSlot(0);
const SELF: CapSlot = CapSlot(1);
const ME: TaskId = TaskId(1);
/// Boot module indexes of the services init starts, in order.
const SERVICES: [(u64, &str); 2] = [(1, "fs-service"), (2, "driver-manager")];

fn name_word(name: &str) -> u64 {
    let mut w = [0u8; 8];
    for (d, s) in w.iter_mut().zip(name.bytes()) {
        *d = s;
    }
    u64::from_le_bytes(w)
}

#[no_mangle]
pub extern "C" fn _start() -> ! {
    let mut started = 0u64;
    for (module, name) in SERVICES {
        let spawn = Message::new(ME, label::SPAWN, [module, name_word(name), Rights::SEND.0 as u64 | Rights::RECV.0 as u64, 0]);
        if sys::send(KERNEL, &spawn).is_ok() {
            if let Ok(reply) = sys::recv(SELF) {
                if reply.label == label::SPAWN | label::REPLY {
                    started += 1;
                }
            }
        }
    }
    for class in [DeviceClass::Storage, DeviceClass::Network, DeviceClass::Graphics] {
        let _ = sys::send(KERNEL, &Message::new(ME, label::REGISTER_DRIVER, [class as u64, 0, 0, 0]));
    }
    if started as usize != SERVICES.len() {
        sys::exit(1);
    }
    loop {
        match sys::recv(SELF) {
            Ok(m) if m.label == label::PING => {
                let _ = sys::send(KERNEL, &m.reply(ME, [m.words[0], started, 0, 0]));
            }
            Ok(_) => sys::yield_now(),
            Err(_) => sys::exit(2),
        }
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    sys::exit(0xff)
}
