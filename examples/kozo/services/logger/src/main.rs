//! KOZO `logger`: receives messages on its endpoint and prints their label and words.
#![no_std]
#![no_main]

use core::panic::PanicInfo;
use kozo_abi::{abi_tag, exit, put_dec, puts, syscall2, Error, IpcMsg, SYS_IPC_RECV};

abi_tag!();

const OWN_ENDPOINT: usize = 1;

#[no_mangle]
pub extern "C" fn _start() -> ! {
    let mut msg = IpcMsg { label: 0, cap_slot: 0, words: [0; 4] };
    loop {
        let r = syscall2(SYS_IPC_RECV, OWN_ENDPOINT, &mut msg as *mut IpcMsg as usize);
        if r != Error::Ok.to_raw() as isize {
            exit(r as i32);
        }
        puts("logger: label ");
        put_dec(msg.label as u64);
        for w in msg.words.iter() {
            puts(" ");
            put_dec(*w);
        }
        puts("\n");
    }
}

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    exit(-1)
}
