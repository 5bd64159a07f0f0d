//! kosh-network-driver: a loopback network interface. Builds IPv4/UDP frames with the RFC 1071
//! Internet checksum, queues them on the loopback ring and validates them on receive. Built for
//! the standard (host) target, with std, as a static library with a C ABI.

use kosh_ipc::Message;
use kosh_types::{KoshError, TaskId};

/// RFC 1071 Internet checksum (one's complement of the one's complement sum of 16-bit words).
pub fn internet_checksum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u16::from_be_bytes([c[0], c[1]]) as u32;
    }
    if let [last] = chunks.remainder() {
        sum += (*last as u32) << 8;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

pub const HEADER: usize = 20 + 8;
pub const MTU: usize = 128;

/// An IPv4 + UDP datagram carrying `payload` from `src` to `dst` (RFC 791, RFC 768).
pub fn build_udp(src: [u8; 4], dst: [u8; 4], port: u16, payload: &[u8], out: &mut [u8; MTU]) -> Result<usize, KoshError> {
    let total = HEADER + payload.len();
    if total > MTU {
        return Err(KoshError::Invalid);
    }
    out[..total].fill(0);
    out[0] = 0x45; // version 4, IHL 5
    out[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    out[8] = 64; // TTL
    out[9] = 17; // UDP
    out[12..16].copy_from_slice(&src);
    out[16..20].copy_from_slice(&dst);
    let csum = internet_checksum(&out[..20]);
    out[10..12].copy_from_slice(&csum.to_be_bytes());
    out[20..22].copy_from_slice(&port.to_be_bytes());
    out[22..24].copy_from_slice(&port.to_be_bytes());
    out[24..26].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    out[28..total].copy_from_slice(payload);
    Ok(total)
}

/// Checks a received IPv4 header: version, length and checksum.
pub fn validate(frame: &[u8]) -> Result<&[u8], KoshError> {
    if frame.len() < HEADER || frame[0] != 0x45 || internet_checksum(&frame[..20]) != 0 {
        return Err(KoshError::Invalid);
    }
    let total = u16::from_be_bytes([frame[2], frame[3]]) as usize;
    if total < HEADER || total > frame.len() {
        return Err(KoshError::Invalid);
    }
    Ok(&frame[HEADER..total])
}

/// The loopback NIC: a ring of frames.
pub struct Loopback<const N: usize> {
    ring: [([u8; MTU], usize); N],
    head: usize,
    len: usize,
    pub sent: u64,
}

impl<const N: usize> Loopback<N> {
    pub const fn new() -> Self {
        Loopback { ring: [([0; MTU], 0); N], head: 0, len: 0, sent: 0 }
    }
    pub fn transmit(&mut self, frame: &[u8]) -> Result<(), KoshError> {
        if self.len == N || frame.len() > MTU {
            return Err(KoshError::WouldBlock);
        }
        let slot = &mut self.ring[(self.head + self.len) % N];
        slot.0[..frame.len()].copy_from_slice(frame);
        slot.1 = frame.len();
        self.len += 1;
        self.sent += 1;
        Ok(())
    }
    /// Copies the next frame's payload into `out`; returns its length.
    pub fn receive(&mut self, out: &mut [u8]) -> Result<Option<usize>, KoshError> {
        if self.len == 0 {
            return Ok(None);
        }
        let (frame, len) = self.ring[self.head];
        self.head = (self.head + 1) % N;
        self.len -= 1;
        let payload = validate(&frame[..len])?;
        let n = payload.len().min(out.len());
        out[..n].copy_from_slice(&payload[..n]);
        Ok(Some(n))
    }
}

impl<const N: usize> Default for Loopback<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// C ABI: RFC 1071 checksum of `len` bytes.
///
/// # Safety
/// `data` must point to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn kosh_net_checksum(data: *const u8, len: usize) -> u16 {
    internet_checksum(core::slice::from_raw_parts(data, len))
}

/// C ABI: sends 4 IPC messages as UDP datagrams over loopback and receives them back; returns the
/// number that arrived intact.
#[no_mangle]
pub extern "C" fn kosh_network_selftest() -> u32 {
    let mut nic: Loopback<4> = Loopback::new();
    let mut frame = [0u8; MTU];
    let mut ok = 0;
    for i in 0..4u64 {
        let m = Message::new(TaskId(7), 1, [i, i * 3, 0, 0]);
        let n = match build_udp([10, 0, 0, 1], [10, 0, 0, 2], 4000, &m.encode(), &mut frame) {
            Ok(n) => n,
            Err(_) => return 0,
        };
        if nic.transmit(&frame[..n]).is_err() {
            return 0;
        }
    }
    let mut buf = [0u8; Message::WIRE_SIZE];
    while let Ok(Some(n)) = nic.receive(&mut buf) {
        if n == Message::WIRE_SIZE && Message::decode(&buf).map(|m| m.words[1] == m.words[0] * 3).unwrap_or(false) {
            ok += 1;
        }
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3 example bytes: 00 01 f2 03 f4 f5 f6 f7 -> sum 0xddf2, checksum 0x220d.
        assert_eq!(internet_checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]), 0x220d);
    }

    #[test]
    fn frames_round_trip_and_corruption_is_caught() {
        let mut frame = [0u8; MTU];
        let n = build_udp([192, 168, 0, 1], [192, 168, 0, 2], 53, b"hello kosh", &mut frame).unwrap();
        assert_eq!(validate(&frame[..n]).unwrap(), b"hello kosh");
        frame[12] ^= 1;
        assert_eq!(validate(&frame[..n]), Err(KoshError::Invalid));
        assert_eq!(build_udp([0; 4], [0; 4], 1, &[0u8; 120], &mut frame), Err(KoshError::Invalid));
    }

    #[test]
    fn loopback_selftest_delivers_all() {
        assert_eq!(kosh_network_selftest(), 4);
    }
}
