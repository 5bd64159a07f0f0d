//! A tiny serial shell, opened when a key is waiting after the self-tests (kiln's `shell` test):
//! `echo TEXT`, `ping N` (the IPC ping-pong self-test with N round trips), `caps` (the capability
//! checks again), `help`, `exit`. Backspace erases, Ctrl-C abandons the line.
use crate::{arch, tasks};

fn read_line(line: &mut [u8]) -> Option<usize> {
    let mut len = 0;
    loop {
        let b = match arch::serial_read() {
            Some(b) => b,
            None => {
                core::hint::spin_loop();
                continue;
            }
        };
        match b {
            b'\r' | b'\n' => {
                print!("\n");
                return Some(len);
            }
            0x7f | 0x08 if len > 0 => {
                len -= 1;
                print!("\x08 \x08");
            }
            0x03 => {
                print!("^C\n");
                return None;
            }
            0x20..=0x7e if len < line.len() => {
                line[len] = b;
                len += 1;
                arch::serial_write(b);
            }
            _ => {}
        }
    }
}

fn parse(text: &str) -> Option<u64> {
    let mut n: u64 = 0;
    if text.is_empty() {
        return None;
    }
    for c in text.bytes() {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(n)
}

pub fn run() {
    println!("kosh shell: echo TEXT, ping N, caps, help, exit");
    let mut buf = [0u8; 120];
    loop {
        print!("kosh> ");
        let len = match read_line(&mut buf) {
            Some(len) => len,
            None => continue,
        };
        let line = core::str::from_utf8(&buf[..len]).unwrap_or("");
        let (cmd, rest) = line.split_once(' ').unwrap_or((line, ""));
        match cmd {
            "" => {}
            "echo" => println!("{}", rest),
            "ping" => match parse(rest) {
                Some(n) if n > 0 && n <= 1000 => {
                    let failures = tasks::ipc_ping_pong(n);
                    println!("ping: {} failure(s)", failures);
                }
                _ => println!("ping: expected a number of round trips 1-1000, got '{}'", rest),
            },
            "caps" => println!("caps: {} failure(s)", tasks::capability_checks()),
            "help" => println!("commands: echo TEXT, ping N, caps, help, exit"),
            "exit" => return,
            _ => println!("unknown command: {}", cmd),
        }
    }
}
