//! Kernel self-tests on kosh-ipc and kosh-types: two cooperative test tasks play ping-pong over
//! two capability-checked channels under a round-robin scheduler, then capability checks.
use kosh_ipc::{label, Channel, Message};
use kosh_types::{CSpace, CapSlot, Capability, KoshError, ObjectId, Rights, TaskId};

const PING_CH: ObjectId = ObjectId(1);
const PONG_CH: ObjectId = ObjectId(2);

struct Kernel {
    channels: [Channel<4>; 2],
}

impl Kernel {
    fn channel(&mut self, id: ObjectId) -> &mut Channel<4> {
        &mut self.channels[(id.0 - 1) as usize]
    }
}

enum Poll {
    Ready,
    Pending,
}

/// Sends PING n on the ping channel, waits for PONG n on the pong channel.
struct Pinger {
    id: TaskId,
    cspace: CSpace<4>,
    send: CapSlot,
    recv: CapSlot,
    next: u64,
    rounds: u64,
    waiting: bool,
    checksum: u64,
}

/// Answers each PING n with PONG n*n.
struct Ponger {
    id: TaskId,
    cspace: CSpace<4>,
    recv: CapSlot,
    send: CapSlot,
    served: u64,
}

impl Pinger {
    fn step(&mut self, k: &mut Kernel) -> Result<Poll, KoshError> {
        if self.next > self.rounds {
            return Ok(Poll::Ready);
        }
        if !self.waiting {
            let cap = self.cspace.get(self.send)?;
            k.channel(cap.object).send(&cap, Message::new(self.id, label::PING, [self.next, 0, 0, 0]))?;
            self.waiting = true;
            return Ok(Poll::Pending);
        }
        let cap = self.cspace.get(self.recv)?;
        match k.channel(cap.object).recv(&cap)? {
            Some(m) if m.label == label::PING | label::REPLY && m.words[0] == self.next && m.words[1] == self.next * self.next => {
                if self.next <= 2 || self.next == self.rounds {
                    println!("kosh: ipc task {} ping {} -> task {} pong {}", self.id.0, self.next, m.sender.0, m.words[1]);
                }
                self.checksum += m.words[1];
                self.next += 1;
                self.waiting = false;
                Ok(Poll::Pending)
            }
            Some(_) => Err(KoshError::Invalid),
            None => Ok(Poll::Pending),
        }
    }
}

impl Ponger {
    fn step(&mut self, k: &mut Kernel) -> Result<Poll, KoshError> {
        let rcap = self.cspace.get(self.recv)?;
        if let Some(m) = k.channel(rcap.object).recv(&rcap)? {
            if m.label != label::PING {
                return Err(KoshError::Invalid);
            }
            let scap = self.cspace.get(self.send)?;
            let n = m.words[0];
            k.channel(scap.object).send(&scap, m.reply(self.id, [n, n * n, 0, 0]))?;
            self.served += 1;
        }
        Ok(Poll::Pending)
    }
}

/// Runs the ping-pong for `rounds` round trips; returns the number of failures.
pub fn ipc_ping_pong(rounds: u64) -> u32 {
    let mut k = Kernel { channels: [Channel::new(PING_CH), Channel::new(PONG_CH)] };
    // The kernel holds the root capabilities (all rights, GRANT) and derives each task's.
    let mut root: CSpace<4> = CSpace::new();
    let ping_root = root.insert(Capability::new(PING_CH, Rights::ALL)).unwrap();
    let pong_root = root.insert(Capability::new(PONG_CH, Rights::ALL)).unwrap();
    let mut a: CSpace<4> = CSpace::new();
    let mut b: CSpace<4> = CSpace::new();
    let a_send = root.grant(ping_root, Rights::SEND, &mut a).unwrap();
    let a_recv = root.grant(pong_root, Rights::RECV, &mut a).unwrap();
    let b_recv = root.grant(ping_root, Rights::RECV, &mut b).unwrap();
    let b_send = root.grant(pong_root, Rights::SEND, &mut b).unwrap();
    let mut pinger = Pinger { id: TaskId(1), cspace: a, send: a_send, recv: a_recv, next: 1, rounds, waiting: false, checksum: 0 };
    let mut ponger = Ponger { id: TaskId(2), cspace: b, recv: b_recv, send: b_send, served: 0 };
    let mut switches = 0u64;
    loop {
        switches += 2;
        let done = match pinger.step(&mut k) {
            Ok(Poll::Ready) => true,
            Ok(Poll::Pending) => false,
            Err(e) => {
                println!("kosh: ipc ping task failed: {}", e.name());
                return 1;
            }
        };
        if let Err(e) = ponger.step(&mut k) {
            println!("kosh: ipc pong task failed: {}", e.name());
            return 1;
        }
        if done || switches > rounds * 10 {
            break;
        }
    }
    let expected: u64 = (1..=rounds).map(|n| n * n).sum();
    if pinger.next == rounds + 1 && ponger.served == rounds && pinger.checksum == expected {
        println!("kosh: ipc ping-pong ok: {} round trips, {} context switches, checksum {}", rounds, switches, pinger.checksum);
        0
    } else {
        println!("kosh: ipc ping-pong FAILED: {} of {} round trips, checksum {} (expected {})", pinger.next - 1, rounds, pinger.checksum, expected);
        1
    }
}

/// Capability checks: operations without the right are denied, derivation only attenuates.
pub fn capability_checks() -> u32 {
    let mut failures = 0;
    let mut ch: Channel<4> = Channel::new(PING_CH);
    let mut root: CSpace<4> = CSpace::new();
    let mut task: CSpace<2> = CSpace::new();
    let r = root.insert(Capability::new(PING_CH, Rights::ALL)).unwrap();
    let recv_only = root.grant(r, Rights::RECV, &mut task).unwrap();
    let cap = task.get(recv_only).unwrap();
    let msg = Message::new(TaskId(3), label::PING, [0; 4]);
    let mut check = |what: &str, got: Result<(), KoshError>, want: Result<(), KoshError>| {
        if got == want {
            println!("kosh: capability check ok: {} -> {}", what, got.err().map(|e| e.name()).unwrap_or("allowed"));
        } else {
            println!("kosh: capability check FAILED: {}", what);
            failures += 1;
        }
    };
    check("send with a RECV-only capability", ch.send(&cap, msg), Err(KoshError::Denied));
    check("recv with a RECV-only capability", ch.recv(&cap).map(|_| ()), Ok(()));
    check("send on another object", ch.send(&Capability::new(PONG_CH, Rights::ALL), msg), Err(KoshError::WrongObject));
    check("derive SEND from a RECV-only capability", cap.derive(Rights::SEND).map(|_| ()), Err(KoshError::Denied));
    check("grant from a slot without GRANT", task.grant(recv_only, Rights::RECV, &mut CSpace::<1>::new()).map(|_| ()), Err(KoshError::Denied));
    check("revoke then use", root.revoke(r).map(|_| ()).and_then(|_| root.get(r).map(|_| ())), Err(KoshError::EmptySlot));
    failures
}
