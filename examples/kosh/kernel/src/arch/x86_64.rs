//! x86_64: COM1 serial, isa-debug-exit, and the multiboot2 boot information (modules, loader name).
//! Multiboot2 specification §3.6 (boot information format): tags 1 (command line), 2 (boot
//! loader name), 3 (module), 0 (end).
use super::Module;
use core::arch::asm;

pub const NAME: &str = "x86_64";
pub const ELF_MACHINE: u16 = 62;
const COM1: u16 = 0x3f8;
const MB2_MAGIC: u32 = 0x36d7_6289;

unsafe fn outb(port: u16, v: u8) {
    asm!("out dx, al", in("dx") port, in("al") v, options(nomem, nostack, preserves_flags));
}
unsafe fn inb(port: u16) -> u8 {
    let v: u8;
    asm!("in al, dx", in("dx") port, out("al") v, options(nomem, nostack, preserves_flags));
    v
}

fn serial_init() {
    unsafe {
        outb(COM1 + 1, 0x00); // no interrupts
        outb(COM1 + 3, 0x80); // DLAB
        outb(COM1, 0x01); // 115200 baud
        outb(COM1 + 1, 0x00);
        outb(COM1 + 3, 0x03); // 8N1
        outb(COM1 + 2, 0xc7); // FIFO
        outb(COM1 + 4, 0x03);
    }
}

/// A received byte, if one is waiting (LSR.DR).
pub fn serial_read() -> Option<u8> {
    unsafe {
        if inb(COM1 + 5) & 1 != 0 {
            Some(inb(COM1))
        } else {
            None
        }
    }
}

pub fn serial_write(b: u8) {
    unsafe {
        while inb(COM1 + 5) & 0x20 == 0 {}
        outb(COM1, b);
    }
}

/// isa-debug-exit (iobase 0xf4): QEMU exits with (code << 1) | 1.
pub fn exit(code: u32) -> ! {
    unsafe { asm!("out dx, eax", in("dx") 0xf4u16, in("eax") code, options(nomem, nostack)) };
    loop {
        unsafe { asm!("cli; hlt", options(nomem, nostack)) };
    }
}

const MAX_MODULES: usize = 16;

pub struct BootInfo {
    pub loader: &'static str,
    modules: [(&'static str, &'static [u8]); MAX_MODULES],
    count: usize,
}

impl BootInfo {
    pub fn module_count(&self) -> usize {
        self.count
    }
    pub fn module(&self, i: usize) -> Module {
        let (name, bytes) = self.modules[i];
        Module { name, bytes }
    }
}

unsafe fn u32_at(p: usize) -> u32 {
    core::ptr::read_unaligned(p as *const u32)
}

/// A zero-terminated string at `p` (at most `max` bytes), or "?" if it is not UTF-8.
unsafe fn cstr(p: usize, max: usize) -> &'static str {
    let bytes = core::slice::from_raw_parts(p as *const u8, max);
    let len = bytes.iter().position(|&b| b == 0).unwrap_or(max);
    core::str::from_utf8(&bytes[..len]).unwrap_or("?")
}

unsafe fn parse_multiboot2(info: usize) -> BootInfo {
    let mut boot = BootInfo { loader: "multiboot2", modules: [("", &[]); MAX_MODULES], count: 0 };
    let total = u32_at(info) as usize;
    let mut p = info + 8;
    while p + 8 <= info + total {
        let ty = u32_at(p);
        let size = u32_at(p + 4) as usize;
        if ty == 0 || size < 8 {
            break;
        }
        match ty {
            2 => boot.loader = cstr(p + 8, size - 8),
            3 if boot.count < MAX_MODULES && size >= 16 => {
                let start = u32_at(p + 8) as usize;
                let end = u32_at(p + 12) as usize;
                let name = cstr(p + 16, size - 16);
                let bytes = core::slice::from_raw_parts(start as *const u8, end.saturating_sub(start));
                boot.modules[boot.count] = (name, bytes);
                boot.count += 1;
            }
            _ => {}
        }
        p += (size + 7) & !7;
    }
    boot
}

#[no_mangle]
pub extern "C" fn kernel_main(magic: u32, info: usize) -> ! {
    serial_init();
    if magic != MB2_MAGIC {
        println!("kosh: not booted by a multiboot2 loader (magic {:#x})", magic);
        exit(3);
    }
    let boot = unsafe { parse_multiboot2(info) };
    crate::kernel_start(boot)
}
