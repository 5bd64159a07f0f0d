//! aarch64 (QEMU virt): PL011 UART at 0x0900_0000, exit through semihosting SYS_EXIT (ARM
//! semihosting specification, §5.4.4, `hlt #0xf000`). Two ways in, both at `_start` (EL1):
//! QEMU's -kernel (MMU off, x0 = 0, no boot modules) and kiln-boot from the UEFI ISO (MMU on with
//! AAVMF's identity map, x0 = kiln-boot's boot-info record, the services in its CPIO initrd).
use super::Module;
use core::arch::{asm, global_asm};

pub const NAME: &str = "aarch64";
pub const ELF_MACHINE: u16 = 183;
const UART: usize = 0x0900_0000;

global_asm!(
    ".section .text.boot, \"ax\"",
    ".global _start",
    "_start:",
    "    mrs x1, mpidr_el1",
    "    and x1, x1, #3",
    "    cbnz x1, 2f",
    "    ldr x1, =__stack_top",
    "    mov sp, x1",
    "    ldr x1, =__bss_start",
    "    ldr x2, =__bss_end",
    "1:  cmp x1, x2",
    "    b.hs 3f",
    "    str xzr, [x1], #8",
    "    b 1b",
    "3:  bl kernel_main",               /* x0 untouched: kiln-boot's record, or 0 */
    "2:  wfe",
    "    b 2b",
);

pub fn serial_write(b: u8) {
    unsafe {
        // Wait while the transmit FIFO is full (FR.TXFF).
        while core::ptr::read_volatile((UART + 0x18) as *const u32) & (1 << 5) != 0 {}
        core::ptr::write_volatile(UART as *mut u32, b as u32);
    }
}

/// A received byte, if one is waiting (FR.RXFE clear).
pub fn serial_read() -> Option<u8> {
    unsafe {
        if core::ptr::read_volatile((UART + 0x18) as *const u32) & (1 << 4) != 0 {
            None
        } else {
            Some(core::ptr::read_volatile(UART as *const u32) as u8)
        }
    }
}

/// Semihosting SYS_EXIT with ADP_Stopped_ApplicationExit and the exit code.
pub fn exit(code: u32) -> ! {
    let block: [u64; 2] = [0x20026, code as u64];
    unsafe { asm!("hlt #0xf000", in("w0") 0x18u32, in("x1") &block as *const _ as u64, options(nostack)) };
    loop {
        unsafe { asm!("wfe", options(nomem, nostack)) };
    }
}

/// The boot modules are the regular files of the initrd (a newc CPIO) kiln-boot loaded; QEMU's
/// -kernel passes none to a bare ELF.
pub struct BootInfo {
    pub loader: &'static str,
    initrd: &'static [u8],
}

impl BootInfo {
    pub fn module_count(&self) -> usize {
        let mut n = 0;
        cpio_files(self.initrd, |_, _| {
            n += 1;
            true
        });
        n
    }
    pub fn module(&self, i: usize) -> Module {
        let mut found = Module { name: "", bytes: &[] };
        let mut k = 0;
        cpio_files(self.initrd, |name, bytes| {
            if k == i {
                found = Module { name, bytes };
                return false;
            }
            k += 1;
            true
        });
        found
    }
}

fn hex_field(b: &[u8]) -> Option<usize> {
    let mut v = 0usize;
    for &c in b {
        v = v * 16 + (c as char).to_digit(16)? as usize;
    }
    Some(v)
}

/// Visits the regular files of a newc CPIO archive ("070701": a 110-byte header of 8-digit hex
/// fields, the NUL-terminated name and the data, each padded to 4 bytes) until `visit` says stop.
fn cpio_files(bytes: &'static [u8], mut visit: impl FnMut(&'static str, &'static [u8]) -> bool) {
    let mut at = 0usize;
    while at + 110 <= bytes.len() && &bytes[at..at + 6] == b"070701" {
        let field = |i: usize| hex_field(&bytes[at + 6 + 8 * i..at + 14 + 8 * i]);
        let (mode, size, namesize) = match (field(1), field(6), field(11)) {
            (Some(m), Some(s), Some(n)) if n > 0 => (m, s, n),
            _ => return,
        };
        let name_at = at + 110;
        let data_at = (name_at + namesize + 3) & !3;
        if data_at > bytes.len() || size > bytes.len() - data_at {
            return;
        }
        let name = core::str::from_utf8(&bytes[name_at..name_at + namesize - 1]).unwrap_or("?");
        if name == "TRAILER!!!" {
            return;
        }
        if mode & 0o170000 == 0o100000 && !visit(name, &bytes[data_at..data_at + size]) {
            return;
        }
        at = (data_at + size + 3) & !3;
    }
}

/// The start of kiln-boot's boot-info record (kiln's ABI schema `kiln_boot`, generated headers from
/// `kilnBootAbi()`; fields are only ever appended, so this prefix stays valid).
#[repr(C)]
struct KilnBootInfo {
    magic: u64,
    version: u32,
    size: u32,
    flags: u32,
    memory_map_entries: u32,
    memory_map: u64,
    initrd_base: u64,
    initrd_size: u64,
}
const KILN_BOOT_MAGIC: u64 = 0x544f_4f42_4e4c_494b; // "KILNBOOT"

/// kiln-boot's record when `x0` points at one (RAM on virt starts at 1 GiB; -kernel leaves x0 = 0).
fn kiln_boot_record(x0: u64) -> Option<&'static KilnBootInfo> {
    if x0 < 0x4000_0000 || x0 % 8 != 0 {
        return None;
    }
    let info = unsafe { &*(x0 as *const KilnBootInfo) };
    if info.magic == KILN_BOOT_MAGIC { Some(info) } else { None }
}

#[no_mangle]
pub extern "C" fn kernel_main(x0: u64) -> ! {
    if let Some(info) = kiln_boot_record(x0) {
        let initrd = if info.initrd_size == 0 { &[][..] } else { unsafe { core::slice::from_raw_parts(info.initrd_base as *const u8, info.initrd_size as usize) } };
        crate::kernel_start(BootInfo { loader: "kiln-boot (UEFI, EL1, MMU on)", initrd })
    }
    crate::kernel_start(BootInfo { loader: "QEMU -kernel (ELF at EL1)", initrd: &[] })
}
