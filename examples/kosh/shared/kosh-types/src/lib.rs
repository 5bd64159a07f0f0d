//! kosh-types: the types every Kosh component shares — kernel object ids, access rights,
//! capabilities, capability spaces (CSpace) with attenuating derivation, errors, and the service
//! header a userspace binary embeds so the kernel knows what it is and which rights it asks for.
#![cfg_attr(not(test), no_std)]

/// A kernel object (channel, memory region, device, task).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectId(pub u32);

/// A task (a thread of a userspace service or a kernel test task).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TaskId(pub u32);

/// Errors returned by kernel objects and the IPC layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KoshError {
    /// The capability does not grant the right needed.
    Denied,
    /// The capability names another object.
    WrongObject,
    /// No capability in this slot.
    EmptySlot,
    /// The capability space has no free slot.
    NoSpace,
    /// A queue is full (try again later).
    WouldBlock,
    /// A malformed message or header.
    Invalid,
}

impl KoshError {
    /// A stable short name (printed by the kernel).
    pub fn name(self) -> &'static str {
        match self {
            KoshError::Denied => "Denied",
            KoshError::WrongObject => "WrongObject",
            KoshError::EmptySlot => "EmptySlot",
            KoshError::NoSpace => "NoSpace",
            KoshError::WouldBlock => "WouldBlock",
            KoshError::Invalid => "Invalid",
        }
    }
}

/// Access rights, a bit set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rights(pub u32);

impl Rights {
    pub const NONE: Rights = Rights(0);
    pub const READ: Rights = Rights(1 << 0);
    pub const WRITE: Rights = Rights(1 << 1);
    pub const SEND: Rights = Rights(1 << 2);
    pub const RECV: Rights = Rights(1 << 3);
    /// May derive (copy with fewer or equal rights) the capability for another task.
    pub const GRANT: Rights = Rights(1 << 4);
    /// May create tasks from service images.
    pub const SPAWN: Rights = Rights(1 << 5);
    /// May receive a device's interrupts and map its registers.
    pub const DEVICE: Rights = Rights(1 << 6);
    pub const ALL: Rights = Rights(0x7f);

    const NAMES: [&'static str; 7] = ["READ", "WRITE", "SEND", "RECV", "GRANT", "SPAWN", "DEVICE"];

    pub const fn union(self, other: Rights) -> Rights {
        Rights(self.0 | other.0)
    }
    pub const fn intersect(self, other: Rights) -> Rights {
        Rights(self.0 & other.0)
    }
    /// True when every right of `needed` is in `self`.
    pub const fn contains(self, needed: Rights) -> bool {
        self.0 & needed.0 == needed.0
    }
    /// Calls `f` with the name of each right set, lowest bit first.
    pub fn for_each_name(self, mut f: impl FnMut(&'static str)) {
        for (i, name) in Self::NAMES.iter().enumerate() {
            if self.0 & (1 << i) != 0 {
                f(name);
            }
        }
    }
}

/// A capability: an unforgeable reference to an object with rights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capability {
    pub object: ObjectId,
    pub rights: Rights,
}

impl Capability {
    pub const fn new(object: ObjectId, rights: Rights) -> Self {
        Capability { object, rights }
    }
    /// Ok when this capability names `object` and holds `needed`.
    pub fn check(&self, object: ObjectId, needed: Rights) -> Result<(), KoshError> {
        if self.object != object {
            return Err(KoshError::WrongObject);
        }
        if !self.rights.contains(needed) {
            return Err(KoshError::Denied);
        }
        Ok(())
    }
    /// A copy with at most `rights` (never more than this one has); needs GRANT.
    pub fn derive(&self, rights: Rights) -> Result<Capability, KoshError> {
        if !self.rights.contains(Rights::GRANT) {
            return Err(KoshError::Denied);
        }
        if !self.rights.contains(rights) {
            return Err(KoshError::Denied);
        }
        Ok(Capability { object: self.object, rights })
    }
}

/// A slot index in a capability space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapSlot(pub usize);

/// A task's capability space: a fixed table of capability slots.
#[derive(Clone, Copy, Debug)]
pub struct CSpace<const N: usize> {
    slots: [Option<Capability>; N],
}

impl<const N: usize> CSpace<N> {
    pub const fn new() -> Self {
        CSpace { slots: [None; N] }
    }
    /// Puts a capability in the first free slot.
    pub fn insert(&mut self, cap: Capability) -> Result<CapSlot, KoshError> {
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if slot.is_none() {
                *slot = Some(cap);
                return Ok(CapSlot(i));
            }
        }
        Err(KoshError::NoSpace)
    }
    pub fn get(&self, slot: CapSlot) -> Result<Capability, KoshError> {
        match self.slots.get(slot.0) {
            Some(Some(cap)) => Ok(*cap),
            _ => Err(KoshError::EmptySlot),
        }
    }
    /// Checks that `slot` holds a capability to `object` with `needed`.
    pub fn check(&self, slot: CapSlot, object: ObjectId, needed: Rights) -> Result<Capability, KoshError> {
        let cap = self.get(slot)?;
        cap.check(object, needed)?;
        Ok(cap)
    }
    /// Derives an attenuated copy of `slot` into `other` (needs GRANT on the source).
    pub fn grant<const M: usize>(&self, slot: CapSlot, rights: Rights, other: &mut CSpace<M>) -> Result<CapSlot, KoshError> {
        let cap = self.get(slot)?.derive(rights)?;
        other.insert(cap)
    }
    /// Removes the capability in `slot`.
    pub fn revoke(&mut self, slot: CapSlot) -> Result<Capability, KoshError> {
        match self.slots.get_mut(slot.0) {
            Some(s) => s.take().ok_or(KoshError::EmptySlot),
            None => Err(KoshError::EmptySlot),
        }
    }
    pub fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<const N: usize> Default for CSpace<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// Device classes managed by the driver manager.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum DeviceClass {
    Storage = 1,
    Network = 2,
    Graphics = 3,
}

impl DeviceClass {
    pub fn from_u32(v: u32) -> Option<DeviceClass> {
        match v {
            1 => Some(DeviceClass::Storage),
            2 => Some(DeviceClass::Network),
            3 => Some(DeviceClass::Graphics),
            _ => None,
        }
    }
}

/// The header a userspace service embeds (section `.kosh_service`, 8-byte aligned): the kernel
/// finds it in the boot module, names the module and gives the task the rights it asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, align(8))]
pub struct ServiceHeader {
    pub magic: [u8; 8],
    pub name: [u8; 16],
    pub rights: u32,
    pub version: u32,
}

impl ServiceHeader {
    pub const MAGIC: [u8; 8] = *b"KOSHSVC1";
    pub const SIZE: usize = 32;

    /// A header for `name` (at most 16 bytes, cut otherwise) asking for `rights`.
    pub const fn new(name: &str, rights: Rights) -> Self {
        let bytes = name.as_bytes();
        let mut out = [0u8; 16];
        let mut i = 0;
        while i < bytes.len() && i < 16 {
            out[i] = bytes[i];
            i += 1;
        }
        ServiceHeader { magic: Self::MAGIC, name: out, rights: rights.0, version: 1 }
    }

    /// Parses a header at the start of `bytes` (little endian).
    pub fn parse(bytes: &[u8]) -> Result<ServiceHeader, KoshError> {
        if bytes.len() < Self::SIZE || bytes[..8] != Self::MAGIC {
            return Err(KoshError::Invalid);
        }
        let mut name = [0u8; 16];
        name.copy_from_slice(&bytes[8..24]);
        let rights = u32::from_le_bytes([bytes[24], bytes[25], bytes[26], bytes[27]]);
        let version = u32::from_le_bytes([bytes[28], bytes[29], bytes[30], bytes[31]]);
        if version != 1 || rights & !Rights::ALL.0 != 0 || core::str::from_utf8(&name).is_err() {
            return Err(KoshError::Invalid);
        }
        Ok(ServiceHeader { magic: Self::MAGIC, name, rights, version })
    }

    /// Finds the first header in `image` (searching 8-byte aligned offsets).
    pub fn find(image: &[u8]) -> Option<(usize, ServiceHeader)> {
        let mut off = 0;
        while off + Self::SIZE <= image.len() {
            if image[off..off + 8] == Self::MAGIC {
                if let Ok(h) = Self::parse(&image[off..]) {
                    return Some((off, h));
                }
            }
            off += 8;
        }
        None
    }

    /// The name without its trailing zeros.
    pub fn name(&self) -> &str {
        let end = self.name.iter().position(|&b| b == 0).unwrap_or(16);
        core::str::from_utf8(&self.name[..end]).unwrap_or("?")
    }

    pub fn rights(&self) -> Rights {
        Rights(self.rights)
    }

    /// The header as bytes (what `parse` reads).
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out[..8].copy_from_slice(&self.magic);
        out[8..24].copy_from_slice(&self.name);
        out[24..28].copy_from_slice(&self.rights.to_le_bytes());
        out[28..32].copy_from_slice(&self.version.to_le_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rights_contain_and_combine() {
        let rw = Rights::READ.union(Rights::WRITE);
        assert!(rw.contains(Rights::READ));
        assert!(rw.contains(rw));
        assert!(!rw.contains(Rights::SEND));
        assert!(rw.contains(Rights::NONE));
        assert_eq!(rw.intersect(Rights::WRITE.union(Rights::SEND)), Rights::WRITE);
        let mut names = Vec::new();
        rw.union(Rights::GRANT).for_each_name(|n| names.push(n));
        assert_eq!(names, ["READ", "WRITE", "GRANT"]);
    }

    #[test]
    fn capability_check_needs_object_and_rights() {
        let cap = Capability::new(ObjectId(7), Rights::SEND);
        assert_eq!(cap.check(ObjectId(7), Rights::SEND), Ok(()));
        assert_eq!(cap.check(ObjectId(7), Rights::RECV), Err(KoshError::Denied));
        assert_eq!(cap.check(ObjectId(8), Rights::SEND), Err(KoshError::WrongObject));
    }

    #[test]
    fn derive_only_attenuates_and_needs_grant() {
        let cap = Capability::new(ObjectId(1), Rights::SEND.union(Rights::GRANT));
        assert_eq!(cap.derive(Rights::SEND), Ok(Capability::new(ObjectId(1), Rights::SEND)));
        assert_eq!(cap.derive(Rights::SEND.union(Rights::RECV)), Err(KoshError::Denied));
        let no_grant = Capability::new(ObjectId(1), Rights::SEND);
        assert_eq!(no_grant.derive(Rights::SEND), Err(KoshError::Denied));
    }

    #[test]
    fn derive_never_amplifies_for_every_rights_pair() {
        for held in 0..=Rights::ALL.0 {
            for asked in 0..=Rights::ALL.0 {
                let cap = Capability::new(ObjectId(3), Rights(held));
                if let Ok(d) = cap.derive(Rights(asked)) {
                    assert!(Rights(held).contains(d.rights));
                    assert!(Rights(held).contains(Rights::GRANT));
                }
            }
        }
    }

    #[test]
    fn cspace_insert_grant_revoke() {
        let mut a: CSpace<2> = CSpace::new();
        let mut b: CSpace<1> = CSpace::new();
        let s = a.insert(Capability::new(ObjectId(1), Rights::ALL)).unwrap();
        a.insert(Capability::new(ObjectId(2), Rights::READ)).unwrap();
        assert_eq!(a.insert(Capability::new(ObjectId(3), Rights::READ)), Err(KoshError::NoSpace));
        let t = a.grant(s, Rights::RECV, &mut b).unwrap();
        assert_eq!(b.check(t, ObjectId(1), Rights::RECV).map(|c| c.rights), Ok(Rights::RECV));
        assert_eq!(b.check(t, ObjectId(1), Rights::SEND), Err(KoshError::Denied));
        assert_eq!(a.revoke(s).map(|c| c.object), Ok(ObjectId(1)));
        assert_eq!(a.get(s), Err(KoshError::EmptySlot));
        assert_eq!(a.get(CapSlot(99)), Err(KoshError::EmptySlot));
        assert_eq!(a.len(), 1);
    }

    #[test]
    fn service_header_round_trip_and_find() {
        let h = ServiceHeader::new("fs-service", Rights::SEND.union(Rights::RECV));
        let bytes = h.to_bytes();
        assert_eq!(ServiceHeader::parse(&bytes), Ok(h));
        assert_eq!(h.name(), "fs-service");
        let mut image = vec![0u8; 256];
        image[64..96].copy_from_slice(&bytes);
        assert_eq!(ServiceHeader::find(&image).map(|(o, h)| (o, h.name().to_string())), Some((64, "fs-service".to_string())));
        let mut bad = bytes;
        bad[28] = 2;
        assert_eq!(ServiceHeader::parse(&bad), Err(KoshError::Invalid));
        assert_eq!(ServiceHeader::parse(&bytes[..20]), Err(KoshError::Invalid));
        assert_eq!(ServiceHeader::new("a-very-long-service-name", Rights::NONE).name(), "a-very-long-serv");
    }

    #[test]
    fn device_class_round_trip() {
        for c in [DeviceClass::Storage, DeviceClass::Network, DeviceClass::Graphics] {
            assert_eq!(DeviceClass::from_u32(c as u32), Some(c));
        }
        assert_eq!(DeviceClass::from_u32(0), None);
    }
}
