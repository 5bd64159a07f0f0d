//! Architecture selection.
#[cfg(target_arch = "x86_64")]
#[path = "arch/x86_64.rs"]
mod imp;
#[cfg(target_arch = "aarch64")]
#[path = "arch/aarch64.rs"]
mod imp;

pub use imp::*;

/// A module handed over by the boot loader.
pub struct Module {
    pub name: &'static str,
    pub bytes: &'static [u8],
}

/// `(machine name, entry)` of an ELF64 little-endian executable for this architecture.
pub fn elf_summary(image: &[u8]) -> Option<(&'static str, u64)> {
    if image.len() < 64 || image[0..4] != *b"\x7fELF" || image[4] != 2 || image[5] != 1 {
        return None;
    }
    let machine = u16::from_le_bytes([image[18], image[19]]);
    let name = match machine {
        62 => "x86_64",
        183 => "aarch64",
        _ => return None,
    };
    if machine != ELF_MACHINE {
        return None;
    }
    let mut e = [0u8; 8];
    e.copy_from_slice(&image[24..32]);
    Some((name, u64::from_le_bytes(e)))
}
