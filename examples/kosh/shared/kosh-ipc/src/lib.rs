//! kosh-ipc: Kosh inter-process communication — fixed-size messages with a little-endian wire
//! form, bounded capability-checked channels (the kernel's endpoint queues), and the syscall ABI
//! userspace uses to send and receive (`syscall` on x86_64, `svc #0` on aarch64).
#![cfg_attr(not(test), no_std)]

use kosh_types::{Capability, KoshError, ObjectId, Rights, TaskId};

/// Message labels of the Kosh protocol.
pub mod label {
    pub const PING: u32 = 1;
    pub const PONG: u32 = 2;
    pub const SPAWN: u32 = 3;
    pub const OPEN: u32 = 4;
    pub const READ: u32 = 5;
    pub const WRITE: u32 = 6;
    pub const REGISTER_DRIVER: u32 = 7;
    /// Set on replies: `label | REPLY`.
    pub const REPLY: u32 = 0x8000_0000;
    /// An error reply; words[0] = error code.
    pub const ERROR: u32 = 0x4000_0000;
}

/// A message: sender, label and four data words (40 bytes on the wire).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message {
    pub sender: TaskId,
    pub label: u32,
    pub words: [u64; 4],
}

impl Message {
    pub const WIRE_SIZE: usize = 40;
    pub const EMPTY: Message = Message { sender: TaskId(0), label: 0, words: [0; 4] };

    pub const fn new(sender: TaskId, label: u32, words: [u64; 4]) -> Self {
        Message { sender, label, words }
    }

    /// The reply to this message.
    pub const fn reply(&self, from: TaskId, words: [u64; 4]) -> Message {
        Message { sender: from, label: self.label | label::REPLY, words }
    }

    /// Little-endian wire form: sender u32, label u32, 4 × u64.
    pub fn encode(&self) -> [u8; 40] {
        let mut out = [0u8; 40];
        out[0..4].copy_from_slice(&self.sender.0.to_le_bytes());
        out[4..8].copy_from_slice(&self.label.to_le_bytes());
        for (i, w) in self.words.iter().enumerate() {
            out[8 + i * 8..16 + i * 8].copy_from_slice(&w.to_le_bytes());
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Message, KoshError> {
        if bytes.len() != Self::WIRE_SIZE {
            return Err(KoshError::Invalid);
        }
        let u32_at = |o: usize| u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
        let mut words = [0u64; 4];
        for (i, w) in words.iter_mut().enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[8 + i * 8..16 + i * 8]);
            *w = u64::from_le_bytes(b);
        }
        Ok(Message { sender: TaskId(u32_at(0)), label: u32_at(4), words })
    }
}

/// A bounded FIFO of messages owned by the kernel: the object behind an IPC endpoint.
/// Sending needs a capability with SEND to it, receiving one with RECV.
#[derive(Clone, Copy, Debug)]
pub struct Channel<const N: usize> {
    id: ObjectId,
    buf: [Message; N],
    head: usize,
    len: usize,
}

impl<const N: usize> Channel<N> {
    pub const fn new(id: ObjectId) -> Self {
        Channel { id, buf: [Message::EMPTY; N], head: 0, len: 0 }
    }
    pub fn id(&self) -> ObjectId {
        self.id
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Queues `msg` if `cap` grants SEND on this channel.
    pub fn send(&mut self, cap: &Capability, msg: Message) -> Result<(), KoshError> {
        cap.check(self.id, Rights::SEND)?;
        if self.len == N {
            return Err(KoshError::WouldBlock);
        }
        self.buf[(self.head + self.len) % N] = msg;
        self.len += 1;
        Ok(())
    }
    /// Takes the oldest message if `cap` grants RECV on this channel (`Ok(None)` when empty).
    pub fn recv(&mut self, cap: &Capability) -> Result<Option<Message>, KoshError> {
        cap.check(self.id, Rights::RECV)?;
        if self.len == 0 {
            return Ok(None);
        }
        let msg = self.buf[self.head];
        self.head = (self.head + 1) % N;
        self.len -= 1;
        Ok(Some(msg))
    }
}

/// The syscall ABI: numbers and (on the bare-metal targets) the trap instruction.
pub mod sys {
    pub const SEND: usize = 1;
    pub const RECV: usize = 2;
    pub const YIELD: usize = 3;
    pub const EXIT: usize = 4;

    /// Raw syscall with three arguments; returns the kernel's result word.
    ///
    /// # Safety
    /// `a`/`b`/`c` must be valid for syscall `n` (pointers to live memory).
    #[cfg(all(target_os = "none", target_arch = "x86_64"))]
    pub unsafe fn syscall3(n: usize, a: usize, b: usize, c: usize) -> usize {
        let ret: usize;
        core::arch::asm!("syscall", inlateout("rax") n => ret, in("rdi") a, in("rsi") b, in("rdx") c,
            lateout("rcx") _, lateout("r11") _, options(nostack));
        ret
    }

    /// Raw syscall with three arguments; returns the kernel's result word.
    ///
    /// # Safety
    /// `a`/`b`/`c` must be valid for syscall `n` (pointers to live memory).
    #[cfg(all(target_os = "none", target_arch = "aarch64"))]
    pub unsafe fn syscall3(n: usize, a: usize, b: usize, c: usize) -> usize {
        let ret: usize;
        core::arch::asm!("svc #0", inlateout("x8") n => _, inlateout("x0") a => ret, in("x1") b, in("x2") c, options(nostack));
        ret
    }

    #[cfg(target_os = "none")]
    mod calls {
        use super::*;
        use crate::Message;
        use kosh_types::{CapSlot, KoshError};

        fn result(code: usize) -> Result<(), KoshError> {
            match code {
                0 => Ok(()),
                1 => Err(KoshError::Denied),
                2 => Err(KoshError::WrongObject),
                3 => Err(KoshError::EmptySlot),
                4 => Err(KoshError::WouldBlock),
                _ => Err(KoshError::Invalid),
            }
        }
        /// Sends `msg` through the endpoint capability in `slot`.
        pub fn send(slot: CapSlot, msg: &Message) -> Result<(), KoshError> {
            let wire = msg.encode();
            result(unsafe { syscall3(SEND, slot.0, wire.as_ptr() as usize, wire.len()) })
        }
        /// Receives a message from the endpoint capability in `slot` (blocks in the kernel).
        pub fn recv(slot: CapSlot) -> Result<Message, KoshError> {
            let mut wire = [0u8; Message::WIRE_SIZE];
            result(unsafe { syscall3(RECV, slot.0, wire.as_mut_ptr() as usize, wire.len()) })?;
            Message::decode(&wire)
        }
        pub fn yield_now() {
            unsafe { syscall3(YIELD, 0, 0, 0) };
        }
        pub fn exit(code: usize) -> ! {
            loop {
                unsafe { syscall3(EXIT, code, 0, 0) };
            }
        }
    }
    #[cfg(target_os = "none")]
    pub use calls::*;
}

/// Userspace runtime support for the bare-metal services.
#[cfg(all(feature = "rt", target_os = "none"))]
pub mod rt {
    /// Stack-protector canary (the services are built with -Z stack-protector=strong).
    #[no_mangle]
    pub static mut __stack_chk_guard: usize = 0x2f8a_5e13_c0de_4b1d;

    /// Called by a function whose canary was overwritten.
    #[no_mangle]
    pub extern "C" fn __stack_chk_fail() -> ! {
        crate::sys::exit(0xdead)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(n: u64) -> Message {
        Message::new(TaskId(n as u32), label::PING, [n, n.wrapping_mul(31), !n, n << 7])
    }

    #[test]
    fn wire_round_trip_many() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let m = Message::new(TaskId(x as u32), (x >> 32) as u32, [x, x.rotate_left(9), x ^ 0xffff, x.wrapping_add(1)]);
            assert_eq!(Message::decode(&m.encode()), Ok(m));
        }
        assert_eq!(Message::decode(&[0u8; 39]), Err(KoshError::Invalid));
    }

    #[test]
    fn channel_is_fifo_and_bounded() {
        let cap = Capability::new(ObjectId(5), Rights::SEND.union(Rights::RECV));
        let mut ch: Channel<3> = Channel::new(ObjectId(5));
        for round in 0..4u64 {
            for i in 0..3 {
                ch.send(&cap, msg(round * 10 + i)).unwrap();
            }
            assert_eq!(ch.send(&cap, msg(99)), Err(KoshError::WouldBlock));
            for i in 0..3 {
                assert_eq!(ch.recv(&cap), Ok(Some(msg(round * 10 + i))));
            }
            assert_eq!(ch.recv(&cap), Ok(None));
        }
    }

    #[test]
    fn channel_checks_capabilities() {
        let mut ch: Channel<2> = Channel::new(ObjectId(1));
        let send_only = Capability::new(ObjectId(1), Rights::SEND);
        let recv_only = Capability::new(ObjectId(1), Rights::RECV);
        let other = Capability::new(ObjectId(2), Rights::ALL);
        assert_eq!(ch.send(&recv_only, msg(1)), Err(KoshError::Denied));
        assert_eq!(ch.send(&other, msg(1)), Err(KoshError::WrongObject));
        ch.send(&send_only, msg(1)).unwrap();
        assert_eq!(ch.recv(&send_only), Err(KoshError::Denied));
        assert_eq!(ch.recv(&recv_only), Ok(Some(msg(1))));
    }

    #[test]
    fn reply_sets_the_reply_bit() {
        let m = msg(3);
        let r = m.reply(TaskId(9), [4, 0, 0, 0]);
        assert_eq!(r.label, label::PING | label::REPLY);
        assert_eq!(r.sender, TaskId(9));
    }
}
