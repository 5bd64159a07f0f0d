//! The KOZO ABI for Rust services: the module kiln generated from `abi/kozo.abi.toml`, the raw
//! syscall entry for each architecture, and the `.kozo.abi` tag the kernel checks.
#![no_std]

#[allow(unknown_lints)]
#[allow(dead_code, unexpected_cfgs, clippy::unusual_byte_groupings)]
pub mod abi {
    include!(concat!(env!("OUT_DIR"), "/kozo_abi.rs"));
}

pub use abi::*;

/// The bytes the kernel looks for in a service's `.kozo.abi` section: a magic and the ABI hash
/// (64 hex digits) this service was compiled against.
#[macro_export]
macro_rules! abi_tag {
    () => {
        #[used]
        #[no_mangle]
        #[link_section = ".kozo.abi"]
        pub static KOZO_ABI_TAG: [u8; 72] = $crate::tag();
    };
}

/// `KOZOABI1` followed by `ABI_HASH`.
pub const fn tag() -> [u8; 72] {
    let mut t = [0u8; 72];
    let magic = b"KOZOABI1";
    let hash = abi::ABI_HASH.as_bytes();
    let mut i = 0;
    while i < 8 {
        t[i] = magic[i];
        i += 1;
    }
    let mut j = 0;
    while j < 64 {
        t[8 + j] = hash[j];
        j += 1;
    }
    t
}

/// A raw KOZO syscall with two arguments.
#[inline(always)]
pub fn syscall2(number: usize, a0: usize, a1: usize) -> isize {
    let ret: isize;
    // SAFETY: the KOZO syscall convention; the kernel preserves every other register.
    unsafe {
        #[cfg(target_arch = "x86_64")]
        core::arch::asm!("syscall", inlateout("rax") number as isize => ret, in("rdi") a0, in("rsi") a1, out("rcx") _, out("r11") _, options(nostack));
        #[cfg(target_arch = "aarch64")]
        core::arch::asm!("svc #0", in("x8") number, inlateout("x0") a0 as isize => ret, in("x1") a1, options(nostack));
    }
    ret
}

/// Writes a string through SYS_DEBUG_PUTC.
pub fn puts(s: &str) {
    for b in s.bytes() {
        syscall2(abi::SYS_DEBUG_PUTC, b as usize, 0);
    }
}

/// Writes a number in decimal (a local buffer: a function the stack protector instruments).
pub fn put_dec(mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for b in &buf[i..] {
        syscall2(abi::SYS_DEBUG_PUTC, *b as usize, 0);
    }
}

/// Ends the service.
pub fn exit(code: i32) -> ! {
    loop {
        syscall2(abi::SYS_EXIT, code as usize, 0);
    }
}

/// Stack protector support for a freestanding target (`-Z stack-protector=strong` from kiln's
/// services policy): the canary and the failure handler.
pub mod ssp {
    #[no_mangle]
    pub static __stack_chk_guard: usize = 0x2f8a_6b3c_91d4_e057;

    #[no_mangle]
    pub extern "C" fn __stack_chk_fail() -> ! {
        super::puts("stack smashing detected\n");
        super::exit(-99)
    }
}
