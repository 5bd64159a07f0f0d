//! kosh-fs-service: the filesystem service. Serves OPEN and READ requests from a read-only
//! in-memory file table (the boot file system), replying with file handles and data words.
#![no_std]
#![no_main]

use kosh_ipc::{label, sys, Message};
use kosh_types::{CapSlot, KoshError, Rights, ServiceHeader, TaskId};

#[used]
#[link_section = ".kosh_service"]
static HEADER: ServiceHeader = ServiceHeader::new("fs-service", Rights(Rights::SEND.0 | Rights::RECV.0 | Rights::READ.0));

const ENDPOINT: CapSlot = CapSlot(1);
const ME: TaskId = TaskId(2);

struct File {
    name: &'static str,
    data: &'static [u8],
}

static FILES: [File; 3] = [
    File { name: "/etc/motd", data: b"Welcome to Kosh\n" },
    File { name: "/etc/hostname", data: b"kosh\n" },
    File { name: "/sys/version", data: b"kosh 0.1.0\n" },
];

fn hash_name(words: &[u64]) -> u64 {
    words.iter().fold(0xcbf2_9ce4_8422_2325, |h, w| (h ^ w).wrapping_mul(0x100_0000_01b3))
}

fn name_words(name: &str) -> [u64; 3] {
    let mut w = [0u64; 3];
    for (i, b) in name.bytes().take(24).enumerate() {
        w[i / 8] |= (b as u64) << ((i % 8) * 8);
    }
    w
}

/// OPEN: words[0..3] = the path (24 bytes, little endian) -> handle. READ: words[0] = handle,
/// words[1] = offset -> up to 16 bytes in words[2..4], the count in words[1].
fn handle(m: &Message) -> Result<[u64; 4], KoshError> {
    match m.label {
        label::OPEN => {
            let want = hash_name(&m.words[..3]);
            FILES.iter().position(|f| hash_name(&name_words(f.name)) == want).map(|i| [i as u64 + 1, FILES[i].data.len() as u64, 0, 0]).ok_or(KoshError::Invalid)
        }
        label::READ => {
            let file = FILES.get((m.words[0] as usize).wrapping_sub(1)).ok_or(KoshError::Invalid)?;
            let off = (m.words[1] as usize).min(file.data.len());
            let chunk = &file.data[off..(off + 16).min(file.data.len())];
            let mut out = [0u8; 16];
            out[..chunk.len()].copy_from_slice(chunk);
            let mut lo = [0u8; 8];
            let mut hi = [0u8; 8];
            lo.copy_from_slice(&out[..8]);
            hi.copy_from_slice(&out[8..]);
            Ok([m.words[0], chunk.len() as u64, u64::from_le_bytes(lo), u64::from_le_bytes(hi)])
        }
        _ => Err(KoshError::Invalid),
    }
}

#[no_mangle]
pub extern "C" fn _start() -> ! {
    loop {
        let m = match sys::recv(ENDPOINT) {
            Ok(m) => m,
            Err(_) => sys::exit(1),
        };
        let reply = match handle(&m) {
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
