//! A tiny shell on COM1, so the kernel can be tested by typing into it (kiln's `shell` test):
//! `echo TEXT`, `ticks` (timer interrupts so far), `help`, `exit`. Backspace erases, Ctrl-C
//! abandons the line.
use core::sync::atomic::{AtomicU64, Ordering};

use crate::arch;
use crate::serial;

/// Waits up to `ticks` timer ticks for a byte on COM1; true (the byte dropped) if one came.
pub fn key_waiting(clock: &AtomicU64, ticks: u64) -> bool {
    let until = clock.load(Ordering::Relaxed) + ticks;
    while clock.load(Ordering::Relaxed) < until {
        if serial::read_byte().is_some() {
            return true;
        }
        arch::halt();
    }
    serial::read_byte().is_some()
}

fn read_line(line: &mut [u8]) -> Option<usize> {
    let mut len = 0;
    loop {
        let b = match serial::read_byte() {
            Some(b) => b,
            None => {
                core::hint::spin_loop();
                continue;
            }
        };
        match b {
            b'\r' | b'\n' => {
                serial::write_raw(b"\r\n");
                return Some(len);
            }
            0x7f | 0x08 if len > 0 => {
                len -= 1;
                serial::write_raw(b"\x08 \x08");
            }
            0x03 => {
                serial::write_raw(b"^C\r\n");
                return None;
            }
            0x20..=0x7e if len < line.len() => {
                line[len] = b;
                len += 1;
                serial::write_raw(&[b]);
            }
            _ => {}
        }
    }
}

pub fn run(clock: &AtomicU64) {
    println!("Portix shell: echo TEXT, ticks, help, exit");
    let mut buf = [0u8; 120];
    loop {
        serial::write_raw(b"portix> ");
        let len = match read_line(&mut buf) {
            Some(len) => len,
            None => continue,
        };
        let line = core::str::from_utf8(&buf[..len]).unwrap_or("");
        let (cmd, rest) = line.split_once(' ').unwrap_or((line, ""));
        match cmd {
            "" => {}
            "echo" => println!("{}", rest),
            "ticks" => println!("ticks: {}", clock.load(Ordering::Relaxed)),
            "help" => println!("commands: echo TEXT, ticks, help, exit"),
            "exit" => return,
            _ => println!("unknown command: {}", cmd),
        }
    }
}
