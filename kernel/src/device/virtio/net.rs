//! The virtio-net driver: Ethernet frames to and from the host's NIC through bounce buffers in
//! the shared pool. No TCP/IP here: the network stack takes frames from
//! [`VirtioNet::receive`], hands frames to [`VirtioNet::transmit`], and sleeps in
//! [`VirtioNet::wait`].
//!
//! Receive: every entry of the receive queue holds one [`BUFFER_LEN`] buffer, posted at start
//! and reposted as soon as its frame is copied out, so no DMA memory is allocated per frame. A
//! round takes at most [`RX_BUDGET`] completions off the ring, checks each header
//! ([`RxFrame::parse`]), copies each frame once into a private [`ReceivedFrame`], and reposts
//! the buffers with one notification. Private frames are recycled too
//! ([`VirtioNet::recycle`]): a frame costs one copy, not an allocation and a zeroing as well.
//! A round that hits the budget mutes the queue's interrupt (the caller comes back for the
//! rest anyway); the round that finds the ring empty turns it back on.
//!
//! Transmit: a free list of bounce buffers. [`VirtioNet::transmit`] copies the zero header and
//! the frame into one, posts it as a one-descriptor chain and notifies; buffers come back from
//! the transmit queue's completions. With none free it answers [`TxError::Busy`]; only then is
//! the transmit interrupt turned on, until a buffer is back.
//!
//! The device is the host's. A received buffer that breaks the header rules is dropped and
//! counted (`rx_errors`). A ring violation, a buffer that comes back in a shape it was not
//! posted in, or a rise in the IOMMU's DMA-fault count for the device fails it: it is reset,
//! its frames are dropped, [`VirtioNet::link_up`] says false from then on, and the kernel goes
//! on.
//!
//! Interrupts: MSI-X entries go to receive, then configuration changes, then transmit, while
//! the table lasts (QEMU gives 4). Handlers only set a flag or wake [`VirtioNet::wait`]'s
//! queue; they never take the device lock. Without a receive interrupt, waits look at the
//! device every millisecond. Locking: one `SpinLock` over the device and both queues, as in virtio-blk.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use ostd::bus::virtio::spec::DEVICE_TYPE_NET;
use ostd::bus::virtio::{DmaBuffer, QueueError, UsedChain, VirtioPciDevice};
use ostd::mm::dma::{DmaStream, FromDevice, ToDevice};
use ostd::sync::{SpinLock, WaitQueue};
use ostd::trap::IrqLine;

use super::ProbeError;
use super::net_proto::{
    self, BUFFER_LEN, CONFIG_LEN, Features, HEADER_LEN, MAX_FRAME_LEN, MIN_FRAME_LEN, Mac,
    MacOrigin, NetConfig, RECEIVE_QUEUE, RxFrame, STATUS_OFFSET, TRANSMIT_QUEUE, TX_HEADER,
    feature,
};

/// The most frames one receive round takes off the ring. A host that floods the guest gets
/// this many per round, then the caller's other work runs: no livelock.
pub const RX_BUDGET: usize = 64;
/// The most private frame buffers kept for reuse: two rounds' worth.
const SPARE_FRAMES: usize = 2 * RX_BUDGET;
/// The most transmit buffers (fewer if the transmit queue is smaller).
const TX_BUFFERS: usize = 128;
/// How often a device without the interrupt a waiter needs is looked at.
const POLL_INTERVAL_NS: u64 = 1_000_000;

/// Why [`VirtioNet::transmit`] did not send a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxError {
    /// Every transmit buffer is with the device: retry once one is back
    /// ([`VirtioNet::wait`] returns when it is).
    Busy,
    /// The frame is not 14..=1514 bytes (a caller bug; counted in `tx_errors`).
    BadLength {
        /// Its length.
        len: usize,
    },
    /// The device was failed; nothing is sent any more (counted in `tx_dropped`).
    Down,
}

/// Packet, byte and error counts, as `/proc/net/dev` shows them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetCounters {
    /// Frames received and handed to [`VirtioNet::receive`]'s queue.
    pub rx_packets: u64,
    /// Their bytes (Ethernet header included).
    pub rx_bytes: u64,
    /// Received buffers refused: a header or length that breaks the protocol.
    pub rx_errors: u64,
    /// Frames received and checked, then lost because the device was failed.
    pub rx_dropped: u64,
    /// Frames handed to the device.
    pub tx_packets: u64,
    /// Their bytes.
    pub tx_bytes: u64,
    /// Frames refused for their length.
    pub tx_errors: u64,
    /// Frames refused because the device was failed.
    pub tx_dropped: u64,
}

/// What [`VirtioNet::wait`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Readiness {
    /// [`VirtioNet::receive`] has a frame.
    pub can_receive: bool,
    /// [`VirtioNet::transmit`] has a free buffer.
    pub can_transmit: bool,
}

/// A received frame (Ethernet header first, no FCS): private bytes, copied once out of the
/// shared pool and checked. Give it back with [`VirtioNet::recycle`] when done, so that its
/// buffer serves the next frame.
pub struct ReceivedFrame {
    /// [`MAX_FRAME_LEN`] bytes, of which the first `len` are the frame.
    buffer: Box<[u8]>,
    /// In `MIN_FRAME_LEN..=MAX_FRAME_LEN`.
    len: usize,
}

impl core::ops::Deref for ReceivedFrame {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.buffer[..self.len]
    }
}

/// A virtio network device.
pub struct VirtioNet {
    mac: Mac,
    features: Features,
    state: SpinLock<State>,
    /// Woken by the receive interrupt, and by the transmit interrupt while a sender waits.
    events: Arc<WaitQueue>,
    /// Set by the configuration interrupt: the link state may have changed.
    config_changed: Arc<AtomicBool>,
    irqs: Irqs,
}

/// Which interrupts the device got an MSI-X entry for.
#[derive(Clone, Copy, Debug)]
struct Irqs {
    receive: bool,
    transmit: bool,
    config: bool,
}

/// Everything behind the device lock.
struct State {
    device: VirtioPciDevice,
    /// Frames copied out and checked, oldest first; at most one round's worth (a round runs
    /// only when it is empty).
    received: VecDeque<ReceivedFrame>,
    /// Buffers of frames given back, for the next rounds (at most [`SPARE_FRAMES`]); each is
    /// [`MAX_FRAME_LEN`] bytes.
    spare_frames: Vec<Box<[u8]>>,
    /// Transmit buffers not with the device.
    tx_free: Vec<DmaStream<ToDevice>>,
    /// Whether the receive queue's interrupt is on (off while a round left frames behind).
    rx_interrupts: bool,
    /// Whether a transmit answered Busy and no buffer was free since: then the transmit
    /// interrupt is on.
    tx_waiting: bool,
    link_up: bool,
    counters: NetCounters,
    /// Set when the device broke the protocol (or could not be driven): why.
    failed: Option<String>,
    /// The IOMMU's count of this device's DMA faults when it was brought up.
    dma_faults: u64,
}

impl State {
    /// Takes up to [`RX_BUDGET`] received frames off the ring into `received`, reposting each
    /// buffer, and notifies the device once if any was reposted.
    fn receive_round(&mut self) {
        let mut taken = 0;
        let mut reposted = false;
        while self.failed.is_none() {
            if taken == RX_BUDGET {
                // More may wait; the caller comes back for them, so spare the interrupts.
                self.set_interrupts(RECEIVE_QUEUE, false);
                self.rx_interrupts = false;
                break;
            }
            match self.device.pop_used(RECEIVE_QUEUE) {
                Ok(Some(chain)) => {
                    taken += 1;
                    let UsedChain { written, mut buffers, .. } = chain;
                    let Some(DmaBuffer::FromDevice(buffer)) =
                        buffers.pop().filter(|_| buffers.is_empty())
                    else {
                        self.fail("a receive chain came back unlike it was posted".to_string());
                        return;
                    };
                    self.take_frame(&buffer, written);
                    match self.device.post(RECEIVE_QUEUE, vec![DmaBuffer::FromDevice(buffer)]) {
                        Ok(_) => reposted = true,
                        Err((e, _)) => self.fail(alloc::format!("reposting: {e:?}")),
                    }
                }
                Ok(None) if !self.rx_interrupts => {
                    // Drained: interrupts back on, then one more look, for a frame that came
                    // while they were off and so raised none.
                    self.set_interrupts(RECEIVE_QUEUE, true);
                    self.rx_interrupts = true;
                }
                Ok(None) => break,
                Err(e) => self.fail(alloc::format!("{e:?}")),
            }
        }
        if taken > 0 {
            self.check_dma_faults();
        }
        if reposted && self.failed.is_none() {
            // Fails only for a queue that is not set up, and this one is.
            let _ = self.device.notify(RECEIVE_QUEUE);
        }
    }

    /// Copies the frame in `buffer` out (the header once, then the frame once), checks it,
    /// and queues it, or counts it as an error.
    fn take_frame(&mut self, buffer: &DmaStream<FromDevice>, written: u32) {
        let mut header = [0u8; HEADER_LEN];
        let frame = match buffer.sync_from_device(0, &mut header) {
            Ok(()) => RxFrame::parse(&header, written).map_err(|v| v.to_string()),
            Err(e) => Err(alloc::format!("{e:?}")),
        };
        let copied = frame.and_then(|frame| {
            let mut bytes = self
                .spare_frames
                .pop()
                .unwrap_or_else(|| vec![0u8; MAX_FRAME_LEN].into_boxed_slice());
            // In bounds: the frame lies inside BUFFER_LEN (RxFrame's invariant), and is at
            // most MAX_FRAME_LEN bytes.
            match buffer.sync_from_device(frame.range().start, &mut bytes[..frame.len()]) {
                Ok(()) => Ok(ReceivedFrame { buffer: bytes, len: frame.len() }),
                Err(e) => {
                    self.spare_frames.push(bytes);
                    Err(alloc::format!("{e:?}"))
                }
            }
        });
        match copied {
            Ok(frame) => {
                self.counters.rx_packets += 1;
                self.counters.rx_bytes += frame.len() as u64;
                self.received.push_back(frame);
            }
            Err(why) => {
                self.counters.rx_errors += 1;
                // The 1st, 2nd, 4th, 8th...: a host sending garbage cannot flood the console.
                if self.counters.rx_errors.is_power_of_two() {
                    log::warn!(
                        "virtio-net {}: {why}; dropped ({} so far)",
                        self.device.address(),
                        self.counters.rx_errors
                    );
                }
            }
        }
    }

    /// Takes back every transmit buffer the device is done with.
    fn reap_transmitted(&mut self) {
        let mut reaped = 0;
        while self.failed.is_none() {
            match self.device.pop_used(TRANSMIT_QUEUE) {
                Ok(Some(chain)) => {
                    reaped += 1;
                    let mut buffers = chain.buffers;
                    match buffers.pop().filter(|_| buffers.is_empty()) {
                        Some(DmaBuffer::ToDevicePrefix { buffer, .. }) => self.tx_free.push(buffer),
                        _ => {
                            self.fail("a transmit chain came back unlike it was posted".to_string())
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => self.fail(alloc::format!("{e:?}")),
            }
        }
        if reaped > 0 {
            self.check_dma_faults();
        }
    }

    /// Returns a free transmit buffer, taking back finished ones first if none is free. With
    /// none at all, turns the transmit interrupt on (if there is one) so that a waiter learns
    /// when one is back.
    fn take_tx_buffer(&mut self, transmit_irq: bool) -> Option<DmaStream<ToDevice>> {
        if self.tx_free.is_empty() {
            self.reap_transmitted();
        }
        if self.tx_free.is_empty() && !self.tx_waiting && self.failed.is_none() {
            self.tx_waiting = true;
            if transmit_irq {
                self.set_interrupts(TRANSMIT_QUEUE, true);
                // A buffer that came back before the device saw the flag raised nothing.
                self.reap_transmitted();
            }
        }
        let buffer = self.tx_free.pop()?;
        if self.tx_waiting {
            self.tx_waiting = false;
            if transmit_irq {
                self.set_interrupts(TRANSMIT_QUEUE, false);
            }
        }
        Some(buffer)
    }

    fn set_interrupts(&mut self, queue: u16, on: bool) {
        if let Err(e) = self.device.set_queue_interrupts(queue, on) {
            self.fail(alloc::format!("{e:?}"));
        }
    }

    /// Fails the device if the IOMMU blocked any of its accesses since it was brought up: an
    /// access outside the shared pool means it cannot be trusted, nor what it wrote. Asked
    /// after completions only: with an IOMMU, asking reads its fault registers (MMIO).
    fn check_dma_faults(&mut self) {
        let faults = self.device.dma_faults();
        if faults > self.dma_faults && self.failed.is_none() {
            let n = faults - self.dma_faults;
            self.fail(alloc::format!(
                "{n} DMA fault(s) in the IOMMU (access outside the shared pool)"
            ));
        }
    }

    /// Gives up on the device: resets it (so it no longer touches the buffers it holds) and
    /// drops the frames it delivered but nobody took yet.
    fn fail(&mut self, why: String) {
        if self.failed.is_some() {
            return;
        }
        log::error!("virtio-net {}: {why}; the device is failed", self.device.address());
        if let Err(e) = self.device.fail() {
            log::error!("{e}");
        }
        self.counters.rx_dropped += self.received.len() as u64;
        self.received.clear();
        self.spare_frames = Vec::new();
        self.link_up = false;
        self.failed = Some(why);
    }
}

impl VirtioNet {
    /// Brings up `device` (§3.1.1, §5.1.5): features, configuration, the receive queue filled
    /// with buffers, the transmit queue, interrupts while MSI-X entries last, DRIVER_OK.
    ///
    /// # Errors
    /// The device lacks a required feature, its configuration cannot be read, a queue cannot
    /// be set up or is empty, or the shared pool cannot hold the buffers.
    pub fn new(mut device: VirtioPciDevice) -> Result<Arc<Self>, ProbeError> {
        let at = device.address();
        let err = |what: &str| ProbeError(alloc::format!("virtio-net {at}: {what}"));
        let agreed = device.negotiate(net_proto::WANTED).map_err(|e| err(&e.to_string()))?;
        // Without ACCESS_PLATFORM a virtio device bypasses the IOMMU (QEMU's does).
        let need_access_platform =
            ostd::tee::platform() != ostd::tee::Platform::None || ostd::iommu::is_enabled();
        let features = Features::negotiate(agreed, need_access_platform)
            .map_err(|e| err(&alloc::format!("the device lacks {}", e.name)))?;
        let config = read_config(&device, features).map_err(|e| err(&e))?;

        let events = Arc::new(WaitQueue::new());
        let config_changed = Arc::new(AtomicBool::new(false));
        let mut entries = device.free_irq_entries();
        let wake = |events: &Arc<WaitQueue>| {
            let events = events.clone();
            move || events.wake_all()
        };
        let rx_line = irq_line(&mut entries, wake(&events));
        let (rx_size, receive) =
            setup_queue(&mut device, RECEIVE_QUEUE, rx_line).map_err(|e| err(&e))?;
        let config_line = irq_line(&mut entries, {
            let changed = config_changed.clone();
            move || changed.store(true, Ordering::Release)
        });
        let config_irq = match config_line.map(|line| device.set_config_irq(line)) {
            Some(Ok(())) => true,
            Some(Err(e)) => {
                log::warn!("{e}; the link state is read on every ask");
                false
            }
            None => false,
        };
        let tx_line = irq_line(&mut entries, wake(&events));
        let (tx_size, transmit) =
            setup_queue(&mut device, TRANSMIT_QUEUE, tx_line).map_err(|e| err(&e))?;

        // The receive queue is filled (one buffer per entry; the transport caps queues at 256)
        // before DRIVER_OK, and notified after (§3.1.1: no notification before DRIVER_OK):
        // one notification for all of them.
        for _ in 0..rx_size {
            // Zeroed: QEMU leaves the header's `num_buffers` unwritten without MRG_RXBUF, and
            // the header check reads it (0 or 1). A buffer keeps its zero there when reused.
            let buffer = DmaStream::<FromDevice>::alloc_zeroed(BUFFER_LEN)
                .map_err(|e| err(&alloc::format!("receive buffers: {e:?}")))?;
            device
                .post(RECEIVE_QUEUE, vec![DmaBuffer::FromDevice(buffer)])
                .map_err(|(e, _)| err(&alloc::format!("receive buffers: {e:?}")))?;
        }
        let tx_free = (0..usize::from(tx_size).min(TX_BUFFERS))
            .map(|_| DmaStream::<ToDevice>::alloc(BUFFER_LEN))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| err(&alloc::format!("transmit buffers: {e:?}")))?;
        // The transmit interrupt stays off until a sender finds no free buffer.
        device
            .set_queue_interrupts(TRANSMIT_QUEUE, false)
            .map_err(|e| err(&alloc::format!("{e:?}")))?;
        device.driver_ok().map_err(|e| err(&e.to_string()))?;
        device.notify(RECEIVE_QUEUE).map_err(|e| err(&e.to_string()))?;

        let dma_faults = device.dma_faults();
        if config.mac_origin() != MacOrigin::Device {
            let (origin, mac) = (config.mac_origin(), config.mac());
            log::info!("virtio-net {at}: no usable MAC from the device ({origin:?}); using {mac}");
        }
        let state = State {
            device,
            received: VecDeque::new(),
            spare_frames: Vec::new(),
            tx_free,
            rx_interrupts: true,
            tx_waiting: false,
            link_up: config.link_up(),
            counters: NetCounters::default(),
            failed: None,
            dma_faults,
        };
        Ok(Arc::new(Self {
            mac: config.mac(),
            features,
            state: SpinLock::new(state),
            events,
            config_changed,
            irqs: Irqs { receive, transmit, config: config_irq },
        }))
    }

    /// Returns the device's PCI address, for messages.
    pub fn address(&self) -> String {
        self.state.lock().device.address().to_string()
    }

    /// Returns the MAC address in use: the device's, or a generated one (always unicast and
    /// non-zero).
    pub fn mac(&self) -> [u8; 6] {
        self.mac.0
    }

    /// Returns whether the link is up: the device's word, false once the device is failed.
    pub fn link_up(&self) -> bool {
        let changed = self.config_changed.swap(false, Ordering::AcqRel) || !self.irqs.config;
        let mut state = self.state.lock();
        if changed && state.failed.is_none() && self.features.has(feature::STATUS) {
            match state.device.config_u16(STATUS_OFFSET) {
                Ok(status) => {
                    state.link_up = net_proto::link_up(status.to_le_bytes(), self.features)
                }
                Err(e) => state.fail(e.to_string()),
            }
        }
        state.link_up && state.failed.is_none()
    }

    /// Returns the next received frame, if any.
    pub fn receive(&self) -> Option<ReceivedFrame> {
        let mut state = self.state.lock();
        if state.received.is_empty() {
            state.receive_round();
        }
        state.received.pop_front()
    }

    /// Takes back a frame [`Self::receive`] returned, to hold a later one. (A frame dropped
    /// instead is only freed.)
    pub fn recycle(&self, frame: ReceivedFrame) {
        let mut state = self.state.lock();
        if state.spare_frames.len() < SPARE_FRAMES && state.failed.is_none() {
            state.spare_frames.push(frame.buffer);
        }
    }

    /// Sends `frame` (Ethernet header first, no FCS): copies it into a free transmit buffer
    /// behind the zero header and hands it to the device.
    ///
    /// # Errors
    /// [`TxError::Busy`] when every buffer is with the device (retry later), a frame outside
    /// 14..=1514 bytes, or a failed device.
    pub fn transmit(&self, frame: &[u8]) -> Result<(), TxError> {
        let mut state = self.state.lock();
        if !(MIN_FRAME_LEN..=MAX_FRAME_LEN).contains(&frame.len()) {
            state.counters.tx_errors += 1;
            return Err(TxError::BadLength { len: frame.len() });
        }
        let Some(buffer) = state.take_tx_buffer(self.irqs.transmit) else {
            return Err(if state.failed.is_some() {
                state.counters.tx_dropped += 1;
                TxError::Down
            } else {
                TxError::Busy
            });
        };
        // Header and frame in one descriptor, which tells the device exactly their length.
        // Both copies are in bounds: BUFFER_LEN holds the header and the longest frame.
        let filled = buffer
            .sync_to_device(0, &TX_HEADER)
            .and_then(|()| buffer.sync_to_device(HEADER_LEN, frame));
        if let Err(e) = filled {
            state.fail(alloc::format!("filling a transmit buffer: {e:?}"));
        }
        if state.failed.is_some() {
            state.counters.tx_dropped += 1;
            return Err(TxError::Down);
        }
        let chain = vec![DmaBuffer::ToDevicePrefix { buffer, len: HEADER_LEN + frame.len() }];
        match state.device.submit(TRANSMIT_QUEUE, chain) {
            Ok(_) => {
                state.counters.tx_packets += 1;
                state.counters.tx_bytes += frame.len() as u64;
                Ok(())
            }
            // One descriptor per buffer and no more buffers than descriptors: never full.
            Err((QueueError::Full, mut back)) => {
                if let Some(DmaBuffer::ToDevicePrefix { buffer, .. }) = back.pop() {
                    state.tx_free.push(buffer);
                }
                Err(TxError::Busy)
            }
            Err((e, _)) => {
                state.fail(alloc::format!("{e:?}"));
                state.counters.tx_dropped += 1;
                Err(TxError::Down)
            }
        }
    }

    /// Returns what [`Self::receive`] and [`Self::transmit`] would find now, collecting the
    /// device's completions first.
    pub fn readiness(&self) -> Readiness {
        let mut state = self.state.lock();
        Self::poll(&mut state)
    }

    fn poll(state: &mut State) -> Readiness {
        if state.received.is_empty() {
            state.receive_round();
        }
        if state.tx_free.is_empty() {
            state.reap_transmitted();
        }
        let up = state.failed.is_none();
        Readiness {
            can_receive: !state.received.is_empty(),
            can_transmit: up && !state.tx_free.is_empty(),
        }
    }

    /// Sleeps until a frame waits for [`Self::receive`], or a buffer is free after a transmit
    /// answered Busy, or the device failed, or `deadline_ns` ([`ostd::time::monotonic_ns`])
    /// has passed; returns what is ready. Once the device is failed it returns at once (and
    /// [`Self::link_up`] is false).
    ///
    /// It sleeps until an interrupt wakes it or the deadline passes; without the interrupts
    /// it needs, it looks at the device every millisecond.
    pub fn wait(&self, deadline_ns: Option<u64>) -> Readiness {
        let check = || {
            let mut state = self.state.lock();
            let ready = Self::poll(&mut state);
            let passed = deadline_ns.is_some_and(|d| ostd::time::monotonic_ns() >= d);
            let wake = ready.can_receive
                || (state.tx_waiting && ready.can_transmit)
                || state.failed.is_some()
                || passed;
            wake.then_some(ready)
        };
        if let Some(ready) = check() {
            return ready;
        }
        let tx_waiting = self.state.lock().tx_waiting;
        let irq_wakes = self.irqs.receive && (self.irqs.transmit || !tx_waiting);
        // Without an interrupt for what the caller waits for, look again every millisecond.
        let poll_every = (!irq_wakes).then_some(POLL_INTERVAL_NS);
        let mut check = check;
        loop {
            let now = ostd::time::monotonic_ns();
            let wake_at = match (deadline_ns, poll_every) {
                (Some(d), Some(p)) => Some(d.min(now + p)),
                (None, Some(p)) => Some(now + p),
                (d, None) => d,
            };
            // At the caller's deadline `check` answers, so a time-out only means "look again".
            if let Ok(ready) = self.events.wait_until_or_deadline(&mut check, wake_at) {
                return ready;
            }
        }
    }

    /// Returns the packet and error counts so far.
    pub fn counters(&self) -> NetCounters {
        self.state.lock().counters
    }

    /// Returns why the device was failed, if it was.
    pub fn failure(&self) -> Option<String> {
        self.state.lock().failed.clone()
    }

    /// Returns a line for the boot log: MAC, link, and how completions arrive.
    fn describe(&self) -> String {
        let irq = |on: bool| if on { "MSI-X" } else { "polled" };
        alloc::format!(
            "{}, link {}, receive {}, transmit {}",
            self.mac,
            if self.link_up() { "up" } else { "down" },
            irq(self.irqs.receive),
            irq(self.irqs.transmit)
        )
    }
}

/// Allocates an interrupt line running `handler` if the MSI-X table has an entry left for it.
fn irq_line(entries: &mut u16, handler: impl Fn() + Send + Sync + 'static) -> Option<IrqLine> {
    if *entries == 0 {
        return None;
    }
    let line = IrqLine::alloc().ok()?;
    line.on_active(handler);
    *entries -= 1;
    Some(line)
}

/// Sets queue `index` up with `line` if given, falling back to no interrupt if the device
/// will not take it; returns its size and whether it interrupts.
fn setup_queue(
    device: &mut VirtioPciDevice,
    index: u16,
    line: Option<IrqLine>,
) -> Result<(u16, bool), String> {
    let want_irq = line.is_some();
    let (size, irq) = match device.setup_queue(index, line) {
        Ok(size) => (size, want_irq),
        Err(e) if want_irq => {
            log::warn!("{e}; polling queue {index}");
            (device.setup_queue(index, None).map_err(|e| e.to_string())?, false)
        }
        Err(e) => return Err(e.to_string()),
    };
    Ok((size, irq))
}

/// Reads the device configuration's fields the agreed features make valid (§5.1.4): the MAC
/// only with MAC, `status` only with STATUS (the config may be shorter without them).
fn read_config(device: &VirtioPciDevice, features: Features) -> Result<NetConfig, String> {
    let mut raw = [0u8; CONFIG_LEN];
    if features.has(feature::MAC) {
        let low = device.config_u32(0).map_err(|e| e.to_string())?;
        let high = device.config_u16(4).map_err(|e| e.to_string())?;
        raw[0..4].copy_from_slice(&low.to_le_bytes());
        raw[4..6].copy_from_slice(&high.to_le_bytes());
    }
    if features.has(feature::STATUS) {
        let status = device.config_u16(STATUS_OFFSET).map_err(|e| e.to_string())?;
        raw[STATUS_OFFSET..].copy_from_slice(&status.to_le_bytes());
    }
    let mut random = [0u8; 6];
    crate::random::fill(&mut random);
    Ok(NetConfig::parse(&raw, features, random))
}

/// Finds every virtio NIC, brings it up and registers it (eth0, eth1, ...). A NIC that cannot
/// be driven is reported and left alone.
pub fn probe() {
    while let Some(found) = VirtioPciDevice::claim(DEVICE_TYPE_NET) {
        let nic = match found.map_err(|e| ProbeError(e.to_string())).and_then(VirtioNet::new) {
            Ok(nic) => nic,
            Err(e) => {
                log::error!("{e}");
                continue;
            }
        };
        let (address, described) = (nic.address(), nic.describe());
        let name = crate::net::devices::register(nic);
        log::info!("virtio-net {address}: {name}, {described}");
    }
}
