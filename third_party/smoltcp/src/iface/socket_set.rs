use core::fmt;
use managed::ManagedSlice;

use super::socket_meta::Meta;
use crate::socket::{AnySocket, Socket};
use crate::time::Instant;

/// Opaque struct with space for storing one socket.
///
/// This is public so you can use it to allocate space for storing
/// sockets when creating an Interface.
#[derive(Debug, Default)]
pub struct SocketStorage<'a> {
    inner: Option<Item<'a>>,
}

impl<'a> SocketStorage<'a> {
    pub const EMPTY: Self = Self { inner: None };
}

/// An item of a socket set.
#[derive(Debug)]
pub(crate) struct Item<'a> {
    pub(crate) meta: Meta,
    pub(crate) socket: Socket<'a>,
}

/// A handle, identifying a socket in an Interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SocketHandle(pub(crate) usize);

impl fmt::Display for SocketHandle {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// An extensible set of sockets.
///
/// The lifetime `'a` is used when storing a `Socket<'a>`.  If you're using
/// owned buffers for your sockets (passed in as `Vec`s) you can use
/// `SocketSet<'static>`.
#[derive(Debug)]
pub struct SocketSet<'a> {
    sockets: ManagedSlice<'a, SocketStorage<'a>>,
    /// cocoon patch: the slots egress must visit: every socket but a TCP socket whose egress
    /// hint is `Ingress` (it has nothing to send until touched). Egress clears a TCP
    /// socket's bit when it finds that hint, and [`SocketSet::touch`] sets it again, so a
    /// poll walks the sockets with work instead of the whole set.
    pub(crate) attention: SlotBits,
    /// cocoon patch: the address generation the `attention` bits were kept for; a new one
    /// ends every hint, so every slot needs attention again.
    pub(crate) attention_generation: u64,
    /// cocoon patch: the slots whose `meta.changed` is set, for `Interface::drain_changed`.
    pub(crate) changed: SlotBits,
    /// cocoon patch: TCP sockets taken out of `attention` because their egress hint is a time
    /// still to come (a retransmission or TIME-WAIT timer): egress does not visit them until
    /// `timed_due`, when they all rejoin `attention`. Touching one puts it back at once.
    pub(crate) timed: SlotBits,
    /// cocoon patch: no socket in `timed` needs egress before this; `None` when `timed` is
    /// empty. A lower bound: a socket touched and dispatched since may now wait longer.
    pub(crate) timed_due: Option<Instant>,
    /// cocoon patch: the slot (plus one; 0: none) of the TCP socket that last took a segment
    /// with an ACK, by a hash of the segment's addresses and ports. Only a hint: the socket
    /// it names is asked `accepts` like any other.
    pub(crate) tcp_ingress: [u32; TCP_INGRESS_SLOTS],
}

/// cocoon patch: the size of [`SocketSet::tcp_ingress`].
pub(crate) const TCP_INGRESS_SLOTS: usize = 256;

/// cocoon patch: one bit per slot of a [`SocketSet`].
#[derive(Debug, Default)]
pub(crate) struct SlotBits {
    words: alloc::vec::Vec<u64>,
}

impl SlotBits {
    pub(crate) fn set(&mut self, index: usize) {
        let word = index / 64;
        if self.words.len() <= word {
            self.words.resize(word + 1, 0);
        }
        self.words[word] |= 1 << (index % 64);
    }

    pub(crate) fn clear(&mut self, index: usize) {
        if let Some(word) = self.words.get_mut(index / 64) {
            *word &= !(1 << (index % 64));
        }
    }

    /// The number of 64-slot words.
    pub(crate) fn words(&self) -> usize {
        self.words.len()
    }

    /// The bits of slots `64 * word..64 * word + 64`.
    pub(crate) fn word(&self, word: usize) -> u64 {
        self.words.get(word).copied().unwrap_or(0)
    }

    /// Sets the bits `bits` in one word.
    pub(crate) fn set_word(&mut self, word: usize, bits: u64) {
        if bits == 0 {
            return;
        }
        if self.words.len() <= word {
            self.words.resize(word + 1, 0);
        }
        self.words[word] |= bits;
    }

    /// Takes the bits of one word, leaving it clear.
    pub(crate) fn take_word(&mut self, word: usize) -> u64 {
        self.words.get_mut(word).map_or(0, core::mem::take)
    }
}

impl<'a> SocketSet<'a> {
    /// Create a socket set using the provided storage.
    pub fn new<SocketsT>(sockets: SocketsT) -> SocketSet<'a>
    where
        SocketsT: Into<ManagedSlice<'a, SocketStorage<'a>>>,
    {
        let sockets = sockets.into();
        let mut set = SocketSet {
            sockets,
            attention: SlotBits::default(),
            attention_generation: 0,
            changed: SlotBits::default(),
            timed: SlotBits::default(),
            timed_due: None,
            tcp_ingress: [0; TCP_INGRESS_SLOTS],
        };
        for index in 0..set.sockets.len() {
            if set.sockets[index].inner.is_some() {
                set.attention.set(index);
            }
        }
        set
    }

    /// cocoon patch: forgets the egress hint of the socket in slot `index` (it may have
    /// something to send) and records that it may have changed.
    pub(crate) fn touch(&mut self, index: usize) {
        if let Some(item) = self.sockets.get_mut(index).and_then(|s| s.inner.as_mut()) {
            item.meta.touch();
            self.attention.set(index);
            self.changed.set(index);
        }
    }

    /// cocoon patch: the socket in slot `index`, if there is one.
    pub(crate) fn item_mut_at(&mut self, index: usize) -> Option<&mut Item<'a>> {
        self.sockets.get_mut(index).and_then(|s| s.inner.as_mut())
    }

    /// cocoon patch: the socket in slot `index`, if there is one.
    pub(crate) fn item_at(&self, index: usize) -> Option<&Item<'a>> {
        self.sockets.get(index).and_then(|s| s.inner.as_ref())
    }

    /// cocoon patch: if the addresses changed since the `attention` bits were kept (a new
    /// `generation`), every socket needs attention again.
    pub(crate) fn renew_attention(&mut self, generation: u64) {
        if self.attention_generation == generation {
            return;
        }
        self.attention_generation = generation;
        for index in 0..self.sockets.len() {
            if self.sockets[index].inner.is_some() {
                self.attention.set(index);
            }
        }
    }

    /// cocoon patch: takes the socket in slot `index` out of `attention` until `at`, when its
    /// egress hint says it next has something to do.
    pub(crate) fn park_until(&mut self, index: usize, at: Instant) {
        self.attention.clear(index);
        self.timed.set(index);
        self.timed_due = Some(self.timed_due.map_or(at, |due| due.min(at)));
    }

    /// cocoon patch: once `timed_due` has come, every parked socket rejoins `attention`
    /// (egress then parks again those whose time is still to come).
    pub(crate) fn unpark_due(&mut self, now: Instant) {
        if self.timed_due.is_none_or(|due| due > now) {
            return;
        }
        self.timed_due = None;
        for word in 0..self.timed.words() {
            let bits = self.timed.take_word(word);
            self.attention.set_word(word, bits);
        }
    }

    /// Add a socket to the set, and return its handle.
    ///
    /// # Panics
    /// This function panics if the storage is fixed-size (not a `Vec`) and is full.
    pub fn add<T: AnySocket<'a>>(&mut self, socket: T) -> SocketHandle {
        fn put<'a>(index: usize, slot: &mut SocketStorage<'a>, socket: Socket<'a>) -> SocketHandle {
            net_trace!("[{}]: adding", index);
            let handle = SocketHandle(index);
            let mut meta = Meta::default();
            meta.handle = handle;
            *slot = SocketStorage {
                inner: Some(Item { meta, socket }),
            };
            handle
        }

        let socket = socket.upcast();

        let free = self.sockets.iter().position(|slot| slot.inner.is_none());
        let handle = match free {
            Some(index) => put(index, &mut self.sockets[index], socket),
            None => match &mut self.sockets {
                ManagedSlice::Borrowed(_) => panic!("adding a socket to a full SocketSet"),
                #[cfg(feature = "alloc")]
                ManagedSlice::Owned(sockets) => {
                    sockets.push(SocketStorage { inner: None });
                    let index = sockets.len() - 1;
                    put(index, &mut sockets[index], socket)
                }
            },
        };
        // cocoon patch: a new socket has no egress hint yet.
        self.attention.set(handle.0);
        handle
    }

    /// Get a socket from the set by its handle, as mutable.
    ///
    /// # Panics
    /// This function may panic if the handle does not belong to this socket set
    /// or the socket has the wrong type.
    pub fn get<T: AnySocket<'a>>(&self, handle: SocketHandle) -> &T {
        match self.sockets[handle.0].inner.as_ref() {
            Some(item) => {
                T::downcast(&item.socket).expect("handle refers to a socket of a wrong type")
            }
            None => panic!("handle does not refer to a valid socket"),
        }
    }

    /// Get a mutable socket from the set by its handle, as mutable.
    ///
    /// # Panics
    /// This function may panic if the handle does not belong to this socket set
    /// or the socket has the wrong type.
    pub fn get_mut<T: AnySocket<'a>>(&mut self, handle: SocketHandle) -> &mut T {
        self.touch(handle.0);
        match self.sockets[handle.0].inner.as_mut() {
            Some(item) => {
                T::downcast_mut(&mut item.socket)
                    .expect("handle refers to a socket of a wrong type")
            }
            None => panic!("handle does not refer to a valid socket"),
        }
    }

    /// Remove a socket from the set, without changing its state.
    ///
    /// # Panics
    /// This function may panic if the handle does not belong to this socket set.
    pub fn remove(&mut self, handle: SocketHandle) -> Socket<'a> {
        net_trace!("[{}]: removing", handle.0);
        self.attention.clear(handle.0);
        self.changed.clear(handle.0);
        self.timed.clear(handle.0);
        match self.sockets[handle.0].inner.take() {
            Some(item) => item.socket,
            None => panic!("handle does not refer to a valid socket"),
        }
    }

    /// Get an iterator to the inner sockets.
    pub fn iter(&self) -> impl Iterator<Item = (SocketHandle, &Socket<'a>)> {
        self.items().map(|i| (i.meta.handle, &i.socket))
    }

    /// Get a mutable iterator to the inner sockets.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (SocketHandle, &mut Socket<'a>)> {
        for index in 0..self.sockets.len() {
            self.touch(index);
        }
        self.items_mut().map(|i| (i.meta.handle, &mut i.socket))
    }

    /// Iterate every socket in this set.
    pub(crate) fn items(&self) -> impl Iterator<Item = &Item<'a>> + '_ {
        self.sockets.iter().filter_map(|x| x.inner.as_ref())
    }

    /// Iterate every socket in this set.
    pub(crate) fn items_mut(&mut self) -> impl Iterator<Item = &mut Item<'a>> + '_ {
        self.sockets.iter_mut().filter_map(|x| x.inner.as_mut())
    }
}
