//! Host tests of the split virtqueue's bookkeeping (`ostd/src/bus/virtio/ring.rs`) against a
//! malicious simulated device (`virtqueue_sim`) that writes arbitrary used ids, lengths,
//! indices and flags: the ring answers with a named error, never a panic. The file itself
//! uses only `core` and `alloc`; this crate's `forbid(unsafe_code)` proves it holds no
//! `unsafe`.
#![forbid(unsafe_code)]

extern crate alloc;

#[allow(dead_code, reason = "the kernel uses parts of this file that these tests do not")]
#[path = "../../ostd/src/bus/virtio/ring.rs"]
mod ring;
#[allow(dead_code, reason = "each test file uses part of the shared simulator")]
mod virtqueue_sim;

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use ring::{RingError, Rule, Segment, SubmitError, Token};
use virtqueue_sim::*;

/// What the malicious test does next: driver actions, honest device actions, and lies.
#[derive(Clone, Debug)]
enum Evil {
    Submit(Vec<(u32, bool)>),
    Complete {
        which: usize,
        len: u32,
    },
    Pop,
    Reset,
    /// Writes an arbitrary element `ahead` slots past `used.idx`, without publishing it.
    Scribble {
        ahead: u16,
        id: u32,
        len: u32,
    },
    /// Publishes an element with an arbitrary id and length.
    Forge {
        id: u32,
        len: u32,
    },
    /// Completes a pending chain claiming `extra + 1` bytes more than it can hold.
    Overrun {
        which: usize,
        extra: u32,
    },
    /// Publishes a copy of the last element again.
    Duplicate,
    /// Moves `used.idx` by an arbitrary amount (backwards, a little, far forward).
    Jump(u16),
    /// The driver mutes (`false`) or unmutes the queue's interrupts.
    Interrupts(bool),
    /// The device overwrites the driver-owned `avail.flags`.
    ScribbleFlags(u16),
}

fn evil() -> impl Strategy<Value = Evil> {
    // Ids are mostly small (so some name real heads), sometimes anything.
    let id = prop_oneof![3 => 0u32..40, 1 => any::<u32>()];
    let len = prop_oneof![3 => 0u32..20_000, 1 => any::<u32>()];
    prop_oneof![
        6 => chain().prop_map(Evil::Submit),
        5 => (any::<usize>(), any::<u32>()).prop_map(|(which, len)| Evil::Complete { which, len }),
        6 => Just(Evil::Pop),
        1 => Just(Evil::Reset),
        1 => (any::<usize>(), prop_oneof![Just(0u32), any::<u32>()])
            .prop_map(|(which, extra)| Evil::Overrun { which, extra }),
        1 => (0u16..4, id.clone(), len.clone())
            .prop_map(|(ahead, id, len)| Evil::Scribble { ahead, id, len }),
        1 => (id, len).prop_map(|(id, len)| Evil::Forge { id, len }),
        1 => Just(Evil::Duplicate),
        1 => prop_oneof![Just(1u16), Just(0xffff), any::<u16>()].prop_map(Evil::Jump),
        1 => any::<bool>().prop_map(Evil::Interrupts),
        1 => any::<u16>().prop_map(Evil::ScribbleFlags),
    ]
}

/// The reference model: what `pop_used` must answer, written from the spec's rules.
#[derive(Default)]
struct Model {
    /// Head → device-writable bytes, for each chain in flight.
    in_flight: BTreeMap<u16, u64>,
    last_used: u16,
    seen_used: u16,
    broken: Option<RingError>,
}

impl Model {
    fn expect_pop(&mut self, mem: &SimMem) -> Result<Option<(u16, u32)>, RingError> {
        if let Some(e) = self.broken {
            return Err(e);
        }
        let count = self.in_flight.len() as u16;
        if self.seen_used == self.last_used {
            let idx = mem.used_idx;
            if idx.wrapping_sub(self.last_used) > count {
                let rule = Rule::UsedIdxAdvance { last_used: self.last_used, in_flight: count };
                return Err(self.fail(err("used.idx", idx.into(), rule)));
            }
            self.seen_used = idx;
            if idx == self.last_used {
                return Ok(None);
            }
        }
        let raw = mem.used_ring[mem.slot(self.last_used)];
        let id = u32::from_le_bytes(raw[..4].try_into().unwrap());
        let len = u32::from_le_bytes(raw[4..].try_into().unwrap());
        let size = mem.desc.len() as u64;
        if u64::from(id) >= size {
            return Err(self.fail(err("used.id", id.into(), Rule::Below(size))));
        }
        let Some(&writable) = self.in_flight.get(&(id as u16)) else {
            return Err(self.fail(err("used.id", id.into(), Rule::HeadInFlight)));
        };
        if u64::from(len) > writable {
            return Err(self.fail(err("used.len", len.into(), Rule::AtMost(writable))));
        }
        self.in_flight.remove(&(id as u16));
        self.last_used = self.last_used.wrapping_add(1);
        Ok(Some((id as u16, len)))
    }

    fn fail(&mut self, e: RingError) -> RingError {
        self.broken = Some(e);
        e
    }
}

proptest! {
    #![proptest_config(cases(1000))]

    /// Whatever the device writes, the ring never panics, answers each `pop_used` exactly as
    /// the spec's rules say (naming the field on a violation), and after `reset` hands back
    /// every token in flight and works with a well-behaved device again. Muting interrupts,
    /// and a device that overwrites the flag, change none of the answers.
    #[test]
    fn a_malicious_device_gets_a_named_error_never_a_panic(
        size in queue_size(),
        steps in prop::collection::vec(evil(), 0..200),
    ) {
        let mut r = ring(size);
        let mut dev = Device::default();
        let mut model = Model::default();
        let mut next_addr = 0u64;
        for s in &steps {
            match s {
                Evil::Submit(spec) => {
                    let chain: Vec<Segment> = spec
                        .iter()
                        .map(|&(len, w)| { next_addr += 0x10_0000; seg(next_addr, len, w) })
                        .collect();
                    match r.submit(&chain) {
                        Ok(t) => {
                            prop_assert!(model.broken.is_none());
                            let w = chain.iter().filter(|s| s.device_writable);
                            let w = w.map(|s| u64::from(s.len)).sum();
                            prop_assert!(model.in_flight.insert(t.index(), w).is_none());
                            dev.fetch(r.memory());
                        }
                        Err(SubmitError::Broken(e)) => prop_assert_eq!(Some(e), model.broken),
                        Err(SubmitError::NoRoom { need, free }) => prop_assert!(need > free),
                        Err(e) => prop_assert!(false, "a valid chain was refused: {:?}", e),
                    }
                }
                Evil::Complete { which, len } => {
                    dev.complete(r.memory_mut(), *which, *len);
                }
                Evil::Pop => {
                    let expected = model.expect_pop(r.memory());
                    let got = r.pop_used().map(|c| c.map(|c| (c.token.index(), c.written_len)));
                    prop_assert_eq!(got, expected);
                }
                Evil::Reset => {
                    let tokens: BTreeSet<u16> = r.reset().iter().map(Token::index).collect();
                    let heads: BTreeSet<u16> = model.in_flight.keys().copied().collect();
                    prop_assert_eq!(tokens, heads);
                    model = Model::default();
                    dev = Device::default();
                }
                Evil::Overrun { which, extra } => {
                    if let Some(p) = dev.take(*which) {
                        let len = (p.writable + 1).saturating_add((*extra).into());
                        r.memory_mut().push_used(p.head.into(), len.min(u32::MAX.into()) as u32);
                    }
                }
                Evil::Scribble { ahead, id, len } => r.memory_mut().write_used(*ahead, *id, *len),
                Evil::Forge { id, len } => r.memory_mut().push_used(*id, *len),
                Evil::Duplicate => {
                    let mem = r.memory_mut();
                    let last = mem.used_ring[mem.slot(mem.used_idx.wrapping_sub(1))];
                    let slot = mem.slot(mem.used_idx);
                    mem.used_ring[slot] = last;
                    mem.used_idx = mem.used_idx.wrapping_add(1);
                }
                Evil::Jump(by) => {
                    let mem = r.memory_mut();
                    mem.used_idx = mem.used_idx.wrapping_add(*by);
                }
                // The model ignores both: muting is a hint, and the flags are never read back.
                Evil::Interrupts(on) => prop_assert_eq!(r.set_interrupts(*on).err(), model.broken),
                Evil::ScribbleFlags(flags) => r.memory_mut().avail_flags = *flags,
            }
            prop_assert_eq!(usize::from(r.in_flight()), model.in_flight.len());
        }

        // Whatever happened, a reset makes the ring whole: full queue, then all back.
        r.reset();
        let mut dev = Device::default();
        let mut books = Books::default();
        for _ in 0..size {
            submit_and_take(&mut r, &mut dev, &mut books, &[(16, false), (1, true)]);
        }
        prop_assert_eq!(r.free_descriptors(), usize::from(size % 2));
        drain(&mut r, &mut dev, &mut books);
    }
}
