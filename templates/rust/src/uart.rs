//! The PL011 UART of QEMU's `virt` board: usable at once, no setup needed.

const UART_DR: *mut u32 = 0x0900_0000 as *mut u32;
const UART_FR: *const u32 = 0x0900_0018 as *const u32;
const TX_FULL: u32 = 1 << 5;

pub fn write_byte(byte: u8) {
    unsafe {
        while core::ptr::read_volatile(UART_FR) & TX_FULL != 0 {}
        core::ptr::write_volatile(UART_DR, byte as u32);
    }
}

pub fn write_str(s: &str) {
    for byte in s.bytes() {
        if byte == b'\n' {
            write_byte(b'\r');
        }
        write_byte(byte);
    }
}

pub fn write_u32(mut n: u32) {
    let mut digits = [0u8; 10];
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for i in (0..len).rev() {
        write_byte(digits[i]);
    }
}
