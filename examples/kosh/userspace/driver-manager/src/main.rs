//! kosh-driver-manager: keeps the table of registered drivers per device class, answers lookups,
//! and is the only service that receives the DEVICE right (hardware access) from the kernel.
#![no_std]
#![no_main]

use kosh_ipc::{label, sys, Message};
use kosh_types::{CapSlot, DeviceClass, KoshError, Rights, ServiceHeader, TaskId};

#[used]
#[link_section = ".kosh_service"]
static HEADER: ServiceHeader = ServiceHeader::new("driver-manager", Rights(Rights::SEND.0 | Rights::RECV.0 | Rights::DEVICE.0 | Rights::GRANT.0));

const ENDPOINT: CapSlot = CapSlot(1);
const ME: TaskId = TaskId(3);

struct Registry {
    drivers: [Option<(DeviceClass, TaskId)>; 8],
}

impl Registry {
    fn register(&mut self, class: DeviceClass, task: TaskId) -> Result<usize, KoshError> {
        if self.drivers.iter().flatten().any(|&(c, t)| c == class && t == task) {
            return Err(KoshError::Invalid);
        }
        let slot = self.drivers.iter().position(|d| d.is_none()).ok_or(KoshError::NoSpace)?;
        self.drivers[slot] = Some((class, task));
        Ok(slot)
    }
    fn count(&self, class: DeviceClass) -> usize {
        self.drivers.iter().flatten().filter(|(c, _)| *c == class).count()
    }
}

#[no_mangle]
pub extern "C" fn _start() -> ! {
    let mut registry = Registry { drivers: [None; 8] };
    loop {
        let m = match sys::recv(ENDPOINT) {
            Ok(m) => m,
            Err(_) => sys::exit(1),
        };
        let result = match (m.label, DeviceClass::from_u32(m.words[0] as u32)) {
            (label::REGISTER_DRIVER, Some(class)) => registry.register(class, m.sender).map(|slot| [slot as u64, registry.count(class) as u64, 0, 0]),
            _ => Err(KoshError::Invalid),
        };
        let reply = match result {
            Ok(words) => m.reply(ME, words),
            Err(e) => Message::new(ME, m.label | label::ERROR, [e as u64, 0, 0, 0]),
        };
        let _ = sys::send(ENDPOINT, &reply);
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    sys::exit(0xff)
}
