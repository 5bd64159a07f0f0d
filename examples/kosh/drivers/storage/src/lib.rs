//! kosh-storage-driver: a block device driver (a RAM disk of 512-byte sectors) speaking the Kosh
//! IPC protocol: READ/WRITE messages carry a sector number and 16 bytes of data, replies carry a
//! CRC-32 of the sector. Built for the standard (host) target, with std, as a static library with a C ABI.

use kosh_ipc::{label, Message};
use kosh_types::{KoshError, TaskId};

pub const SECTOR: usize = 512;
const ME: TaskId = TaskId(0x10);

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320).
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

pub struct RamDisk<const SECTORS: usize> {
    data: [[u8; SECTOR]; SECTORS],
}

impl<const SECTORS: usize> RamDisk<SECTORS> {
    pub const fn new() -> Self {
        RamDisk { data: [[0; SECTOR]; SECTORS] }
    }
    pub fn read(&self, sector: usize) -> Result<&[u8; SECTOR], KoshError> {
        self.data.get(sector).ok_or(KoshError::Invalid)
    }
    pub fn write(&mut self, sector: usize, offset: usize, bytes: &[u8]) -> Result<(), KoshError> {
        let s = self.data.get_mut(sector).ok_or(KoshError::Invalid)?;
        let end = offset.checked_add(bytes.len()).filter(|&e| e <= SECTOR).ok_or(KoshError::Invalid)?;
        s[offset..end].copy_from_slice(bytes);
        Ok(())
    }
    /// Serves one request: WRITE words = [sector, offset, data lo, data hi]; READ words = [sector, offset].
    pub fn handle(&mut self, m: &Message) -> Message {
        let sector = m.words[0] as usize;
        let offset = m.words[1] as usize;
        let result = match m.label {
            label::WRITE => {
                let mut bytes = [0u8; 16];
                bytes[..8].copy_from_slice(&m.words[2].to_le_bytes());
                bytes[8..].copy_from_slice(&m.words[3].to_le_bytes());
                self.write(sector, offset, &bytes).and_then(|_| self.read(sector)).map(|s| [sector as u64, crc32(s) as u64, 0, 0])
            }
            label::READ => self.read(sector).and_then(|s| {
                let chunk = s.get(offset..offset + 16).ok_or(KoshError::Invalid)?;
                let mut lo = [0u8; 8];
                let mut hi = [0u8; 8];
                lo.copy_from_slice(&chunk[..8]);
                hi.copy_from_slice(&chunk[8..]);
                Ok([sector as u64, crc32(s) as u64, u64::from_le_bytes(lo), u64::from_le_bytes(hi)])
            }),
            _ => Err(KoshError::Invalid),
        };
        match result {
            Ok(words) => m.reply(ME, words),
            Err(e) => Message::new(ME, m.label | label::ERROR, [e as u64, 0, 0, 0]),
        }
    }
}

impl<const SECTORS: usize> Default for RamDisk<SECTORS> {
    fn default() -> Self {
        Self::new()
    }
}

/// C ABI: CRC-32 of `len` bytes at `data`.
///
/// # Safety
/// `data` must point to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn kosh_storage_crc32(data: *const u8, len: usize) -> u32 {
    crc32(core::slice::from_raw_parts(data, len))
}

/// C ABI: writes a pattern through the IPC handler into 8 sectors, reads it back and returns
/// the XOR of the sectors' CRC-32s (0 on a mismatch).
#[no_mangle]
pub extern "C" fn kosh_storage_selftest() -> u32 {
    let mut disk: RamDisk<8> = RamDisk::new();
    let mut acc = 0u32;
    for s in 0..8u64 {
        let pattern = 0x0101_0101_0101_0101u64.wrapping_mul(s + 1);
        let w = disk.handle(&Message::new(TaskId(1), label::WRITE, [s, 32, pattern, !pattern]));
        let r = disk.handle(&Message::new(TaskId(1), label::READ, [s, 32, 0, 0]));
        if w.label != label::WRITE | label::REPLY || r.words[2] != pattern || r.words[3] != !pattern || r.words[1] != w.words[1] {
            return 0;
        }
        acc ^= r.words[1] as u32;
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn write_read_through_messages() {
        let mut disk: RamDisk<4> = RamDisk::new();
        let w = disk.handle(&Message::new(TaskId(1), label::WRITE, [2, 0, 0x1122_3344_5566_7788, 7]));
        assert_eq!(w.label, label::WRITE | label::REPLY);
        let r = disk.handle(&Message::new(TaskId(1), label::READ, [2, 0, 0, 0]));
        assert_eq!(r.words[2], 0x1122_3344_5566_7788);
        assert_eq!(r.words[3], 7);
        let mut expect = [0u8; SECTOR];
        expect[..8].copy_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
        expect[8] = 7;
        assert_eq!(r.words[1], crc32(&expect) as u64);
        let bad = disk.handle(&Message::new(TaskId(1), label::READ, [9, 0, 0, 0]));
        assert_eq!(bad.label, label::READ | label::ERROR);
        let edge = disk.handle(&Message::new(TaskId(1), label::WRITE, [0, 500, 0, 0]));
        assert_eq!(edge.label, label::WRITE | label::ERROR);
    }

    #[test]
    fn selftest_is_nonzero() {
        assert_ne!(kosh_storage_selftest(), 0);
    }
}
