//! KOZO `init`: the first service. Holds the root CNode's capabilities, mints a read-only
//! capability for the logger and hands it over by IPC.
#![no_std]
#![no_main]

use core::panic::PanicInfo;
use kozo_abi::{abi_tag, exit, put_dec, puts, syscall2, CapRights, IpcMsg, ObjType, SYS_CAP_MINT, SYS_IPC_SEND};

abi_tag!();

const LOGGER_ENDPOINT: usize = 1;
const ROOT_FRAME_SLOT: usize = 2;

#[no_mangle]
pub extern "C" fn _start() -> ! {
    puts("init: KOZO ABI ");
    puts(kozo_abi::ABI_VERSION);
    puts("\n");
    let rights = CapRights::READ | CapRights::GRANT;
    let slot = syscall2(SYS_CAP_MINT, ROOT_FRAME_SLOT, rights.bits() as usize);
    let msg = IpcMsg { label: ObjType::Frame.to_raw(), cap_slot: slot as u32, words: [0; 4] };
    let sent = syscall2(SYS_IPC_SEND, LOGGER_ENDPOINT, &msg as *const IpcMsg as usize);
    puts("init: sent ");
    put_dec(sent as u64);
    puts("\n");
    exit(0)
}

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    exit(-1)
}
