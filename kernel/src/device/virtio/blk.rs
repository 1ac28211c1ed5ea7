//! The virtio-blk driver: a disk on ostd's virtio transport, read and written through bounce
//! buffers in the shared pool, one request per chain (header, data, status), several in
//! flight, the issuing task asleep until its completion.
//!
//! The device is the host's. Its configuration is checked once ([`BlkConfig`]); every
//! completion is checked by the queue (ids, lengths) and here (the status byte). A device
//! that breaks the protocol is reset and marked failed, and every request to it, in flight or
//! later, fails with EIO; the kernel goes on.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use ostd::bus::virtio::spec::DEVICE_TYPE_BLOCK;
use ostd::bus::virtio::{DmaBuffer, QueueError, RequestId, UsedChain, VirtioPciDevice};
use ostd::mm::dma::{DmaError, DmaStream, FromDevice, ToDevice};
use ostd::mm::{Frame, PAGE_SIZE};
use ostd::sync::{SpinLock, WaitQueue};
use ostd::trap::IrqLine;

use super::ProbeError;
use super::blk_proto::{
    self, BlkConfig, CONFIG_LEN, Features, HEADER_LEN, RequestHeader, SECTOR_SIZE, SectorRange,
    Status,
};
use crate::block::{BlockDevice, FrameRun, ReadTarget, WriteData};
use crate::error::{Errno, SysResult};

/// The one request queue (virtio-blk's queue 0).
const QUEUE: u16 = 0;
/// The most buffers one request uses: header, data, status.
const CHAIN_MAX: usize = 3;
/// The most data one request carries: large transfers are split.
const MAX_REQUEST_BYTES: u32 = 1 << 20;
/// The most write requests one write-back keeps posted at once (the device may work on them
/// together; each holds three descriptors and its bounce buffer).
const WRITES_IN_FLIGHT: usize = 32;
/// The most one request of a large read carries: small enough that the device fills the
/// next pieces while the driver copies one out (QEMU does the device's work on another
/// thread), large enough to keep the requests few.
const READ_PIECE: usize = 256 << 10;
/// How many pieces of one read are posted at once (a megabyte in all).
const READS_IN_FLIGHT: usize = 4;

/// A virtio disk.
pub struct VirtioBlk {
    config: BlkConfig,
    state: SpinLock<State>,
    /// Woken by the queue's interrupt (or, without MSI-X, by the timer tick).
    completions: Arc<WaitQueue>,
    /// Whether completions raise an interrupt; otherwise waits poll on the tick.
    has_irq: bool,
}

struct State {
    device: VirtioPciDevice,
    /// The ticket of each chain in flight. A head index is free for another chain as soon
    /// as the device hands its chain back, so completions are filed by ticket, not by head.
    tickets: BTreeMap<RequestId, u64>,
    next_ticket: u64,
    /// Chains the device has handed back, by ticket, until their issuer collects them.
    done: BTreeMap<u64, UsedChain>,
    /// Set when the device broke the protocol (or could not be driven): why.
    failed: Option<String>,
    /// The IOMMU's count of this device's DMA faults when it was brought up.
    dma_faults: u64,
}

impl State {
    /// Collects every chain the device has finished with. A protocol violation fails the
    /// device: it is reset, so it no longer touches the buffers, and all waiters give up.
    fn reap(&mut self) {
        if self.failed.is_some() {
            return;
        }
        loop {
            match self.device.pop_used(QUEUE) {
                Ok(Some(chain)) => match self.tickets.remove(&chain.id) {
                    Some(ticket) => {
                        self.done.insert(ticket, chain);
                        // A device that reached outside the shared pool had its access
                        // blocked by the IOMMU, and then may well report the request done:
                        // its data cannot be trusted, nor the device.
                        let faults = self.device.dma_faults();
                        if faults > self.dma_faults {
                            let n = faults - self.dma_faults;
                            self.fail(alloc::format!(
                                "{n} DMA fault(s) in the IOMMU (access outside the shared pool)"
                            ));
                            return;
                        }
                    }
                    // The queue only returns chains in flight, each submitted with a ticket.
                    None => {
                        self.fail(alloc::format!("chain {:?} came back untracked", chain.id));
                        return;
                    }
                },
                Ok(None) => return,
                Err(e) => {
                    self.fail(alloc::format!("{e:?}"));
                    return;
                }
            }
        }
    }

    fn fail(&mut self, why: String) {
        log::error!("virtio-blk {}: {why}; the disk is failed", self.device.address());
        if let Err(e) = self.device.fail() {
            log::error!("{e}");
        }
        self.failed = Some(why);
        self.done.clear();
        self.tickets.clear();
    }
}

impl VirtioBlk {
    /// Brings up `device` (§3.1.1): features, configuration, the request queue with its
    /// MSI-X vector where the device has one, DRIVER_OK.
    pub fn new(mut device: VirtioPciDevice) -> Result<Arc<Self>, ProbeError> {
        let at = device.address();
        let err = |what: &str| ProbeError(alloc::format!("virtio-blk {at}: {what}"));
        let agreed = device.negotiate(blk_proto::WANTED).map_err(|e| err(&e.to_string()))?;
        // Without ACCESS_PLATFORM a virtio device bypasses the IOMMU (QEMU's does).
        let need_access_platform =
            ostd::tee::platform() != ostd::tee::Platform::None || ostd::iommu::is_enabled();
        let features = Features::negotiate(agreed, need_access_platform)
            .map_err(|e| err(&alloc::format!("the device lacks {}", e.name)))?;
        let config = read_config(&device, features).map_err(|e| err(&e))?;

        let completions = Arc::new(WaitQueue::new());
        let irq = IrqLine::alloc().ok().inspect(|line| {
            let woken = completions.clone();
            line.on_active(move || woken.wake_all());
        });
        let want_irq = irq.is_some();
        let (size, has_irq) = match device.setup_queue(QUEUE, irq) {
            Ok(size) => (size, want_irq),
            Err(e) if want_irq => {
                // No MSI-X (or no vector): poll completions on the timer tick instead.
                log::warn!("{e}; polling for completions");
                (device.setup_queue(QUEUE, None).map_err(|e| err(&e.to_string()))?, false)
            }
            Err(e) => return Err(err(&e.to_string())),
        };
        // Every request is a chain of up to CHAIN_MAX buffers: a smaller queue could never
        // take one, and its callers would wait forever.
        if usize::from(size) < CHAIN_MAX {
            return Err(err(&alloc::format!("queue_size {size} is below {CHAIN_MAX}")));
        }
        device.driver_ok().map_err(|e| err(&e.to_string()))?;
        let dma_faults = device.dma_faults();
        let state = State {
            device,
            tickets: BTreeMap::new(),
            next_ticket: 0,
            done: BTreeMap::new(),
            failed: None,
            dma_faults,
        };
        Ok(Arc::new(Self { config, state: SpinLock::new(state), completions, has_irq }))
    }

    /// Returns the device's PCI address, for messages.
    pub fn address(&self) -> String {
        self.state.lock().device.address().to_string()
    }

    /// Runs one request: data out (a write), data in (a read, taken out of the bounce
    /// buffer by `drain`), or neither (flush).
    fn request(
        &self,
        header: RequestHeader,
        data: Data<'_>,
        drain: Option<&mut Drain<'_>>,
    ) -> SysResult<()> {
        let chain = self.chain(header, data)?;
        let ticket = self.submit(chain)?;
        let used = self.wait_for(ticket)?;
        let read = self.finish(used)?;
        if let (Some(drain), Some(read)) = (drain, read) {
            drain(&read).map_err(|_| Errno::EIO)?;
        }
        Ok(())
    }

    /// Builds a request's chain: header, data (filled now if it goes out), status byte.
    fn chain(&self, header: RequestHeader, data: Data<'_>) -> SysResult<Vec<DmaBuffer>> {
        let io = |_| Errno::EIO;
        let head = DmaStream::<ToDevice>::alloc(HEADER_LEN).map_err(|_| Errno::ENOMEM)?;
        head.sync_to_device(0, &header.encode()).map_err(io)?;
        let mut chain = vec![DmaBuffer::ToDevice(head)];
        match data {
            Data::None => {}
            Data::Out(len, fill) => {
                let out = DmaStream::<ToDevice>::alloc(len).map_err(|_| Errno::ENOMEM)?;
                fill(&out).map_err(io)?;
                chain.push(DmaBuffer::ToDevice(out));
            }
            Data::Part(buffer, offset, len) => {
                chain.push(DmaBuffer::ToDeviceShared { buffer, offset, len });
            }
            Data::In(len) => {
                let buf = DmaStream::<FromDevice>::alloc(len).map_err(|_| Errno::ENOMEM)?;
                chain.push(DmaBuffer::FromDevice(buf));
            }
        }
        let status = DmaStream::<FromDevice>::alloc(1).map_err(|_| Errno::ENOMEM)?;
        chain.push(DmaBuffer::FromDevice(status));
        Ok(chain)
    }

    /// Posts `chain`, waiting for room if the queue is full; returns its ticket.
    fn submit(&self, mut chain: Vec<DmaBuffer>) -> SysResult<u64> {
        loop {
            let mut state = self.state.lock();
            if state.failed.is_some() {
                return Err(Errno::EIO);
            }
            match state.device.submit(QUEUE, chain) {
                Ok(id) => {
                    let ticket = state.next_ticket;
                    state.next_ticket += 1;
                    state.tickets.insert(id, ticket);
                    return Ok(ticket);
                }
                Err((QueueError::Full, back)) => chain = back,
                Err((e, _)) => {
                    state.fail(alloc::format!("{e:?}"));
                    return Err(Errno::EIO);
                }
            }
            drop(state);
            // Room comes back with completions: sleep until the chain fits (or the device
            // failed), not merely until some other waiter's chain is back.
            let need = chain.len();
            self.wait(|| {
                let mut state = self.state.lock();
                state.reap();
                let fits = state.device.free_descriptors(QUEUE) >= need;
                (state.failed.is_some() || fits).then_some(())
            });
        }
    }

    /// Sleeps until the chain with `ticket` comes back.
    fn wait_for(&self, ticket: u64) -> SysResult<UsedChain> {
        self.wait(|| {
            let mut state = self.state.lock();
            state.reap();
            if state.failed.is_some() {
                return Some(Err(Errno::EIO));
            }
            state.done.remove(&ticket).map(Ok)
        })
    }

    fn wait<R>(&self, cond: impl FnMut() -> Option<R>) -> R {
        if self.has_irq {
            self.completions.wait_until(cond)
        } else {
            ostd::task::wait_ticks_until(cond)
        }
    }

    /// Checks a finished chain's status byte; returns the bounce buffer the device read
    /// into, for a read.
    fn finish(&self, used: UsedChain) -> SysResult<Option<DmaStream<FromDevice>>> {
        // header, [data], status
        let mut buffers = used.buffers.into_iter().skip(1);
        let Some(DmaBuffer::FromDevice(status)) = buffers.next_back() else {
            return Err(Errno::EIO);
        };
        let mut byte = [0u8];
        status.sync_from_device(0, &mut byte).map_err(|_| Errno::EIO)?;
        match Status::decode(byte[0]) {
            Ok(Status::Ok) => {}
            Ok(Status::IoErr) => return Err(Errno::EIO),
            Ok(Status::Unsupported) => return Err(Errno::ENOTSUP),
            Err(v) => {
                self.state.lock().fail(v.to_string());
                return Err(Errno::EIO);
            }
        }
        match buffers.next() {
            Some(DmaBuffer::FromDevice(read)) => Ok(Some(read)),
            _ => Ok(None),
        }
    }

    /// The sectors of one request starting at `sector`, at most `bytes` long.
    fn range(&self, sector: u64, bytes: usize) -> SysResult<SectorRange> {
        let count = (bytes / SECTOR_SIZE as usize) as u64;
        SectorRange::new(sector, count, &self.config).map_err(|_| Errno::EIO)
    }

    /// The most data one request carries: whole blocks (a device's `size_max` need not be
    /// a multiple of its block size, and a request of part of a sector would shift the rest).
    fn request_bytes(&self) -> usize {
        let block = self.config.block_size();
        (self.config.size_max().min(MAX_REQUEST_BYTES) / block * block) as usize
    }

    /// Waits for the posted write `ticket` and checks it; the first failure is kept in
    /// `result`.
    fn collect_write(&self, ticket: Option<u64>, result: &mut SysResult<()>) {
        if let Some(ticket) = ticket {
            let done = self.wait_for(ticket).and_then(|used| self.finish(used)).map(drop);
            if result.is_ok() {
                *result = done;
            }
        }
    }

    /// Whole pages per request, for the frame transfers (none if the device's segments are
    /// smaller than a page).
    fn request_pages(&self) -> usize {
        self.request_bytes() / PAGE_SIZE
    }
}

/// Copies a read request's data out of its bounce buffer.
type Drain<'a> = dyn FnMut(&DmaStream<FromDevice>) -> Result<(), DmaError> + 'a;
/// Copies a write request's data into its bounce buffer.
type Fill<'a> = dyn Fn(&DmaStream<ToDevice>) -> Result<(), DmaError> + 'a;

/// What a request carries between its header and its status byte.
enum Data<'a> {
    /// Nothing (a flush).
    None,
    /// `len` bytes for the device, put into the bounce buffer by the closure.
    Out(usize, &'a Fill<'a>),
    /// `len` bytes for the device at an offset of a bounce buffer filled before.
    Part(Arc<DmaStream<ToDevice>>, usize, usize),
    /// `len` bytes from the device.
    In(usize),
}

/// The requests a transfer of `bytes` at `sector` to or from `frames` is cut into, `pages`
/// whole pages each: every request's first sector, length, and the frames it covers.
fn frame_requests(
    sector: u64,
    bytes: usize,
    frames: &[Frame],
    pages: usize,
) -> impl Iterator<Item = (u64, usize, &[Frame])> {
    frames
        .chunks(pages)
        .enumerate()
        .map(move |(i, group)| (i * pages * PAGE_SIZE, group))
        .take_while(move |&(done, _)| done < bytes)
        .map(move |(done, group)| {
            let first = sector + (done / SECTOR_SIZE as usize) as u64;
            (first, (bytes - done).min(pages * PAGE_SIZE), group)
        })
}

/// The pieces of `frames` that the first `len` bytes of a bounce buffer fill, a page to a
/// frame: (frame, offset in the bounce buffer, bytes).
fn frame_pieces(frames: &[Frame], len: usize) -> impl Iterator<Item = (&Frame, usize, usize)> {
    frames
        .iter()
        .enumerate()
        .map(move |(i, f)| (f, i * PAGE_SIZE, (len - i * PAGE_SIZE).min(PAGE_SIZE)))
        .take(len.div_ceil(PAGE_SIZE))
}

/// Reads and checks the device configuration (§5.2.4).
fn read_config(device: &VirtioPciDevice, features: Features) -> Result<BlkConfig, String> {
    let mut raw = [0u8; CONFIG_LEN];
    let capacity = device.config_u64(0).map_err(|e| e.to_string())?;
    raw[0..8].copy_from_slice(&capacity.to_le_bytes());
    for offset in (8..CONFIG_LEN).step_by(4) {
        let word = device.config_u32(offset).map_err(|e| e.to_string())?;
        raw[offset..offset + 4].copy_from_slice(&word.to_le_bytes());
    }
    BlkConfig::parse(&raw, features).map_err(|v| v.to_string())
}

impl BlockDevice for VirtioBlk {
    fn sectors(&self) -> u64 {
        self.config.capacity()
    }

    fn logical_block_size(&self) -> usize {
        self.config.block_size() as usize
    }

    fn read_only(&self) -> bool {
        self.config.read_only()
    }

    fn read(&self, sector: u64, buf: &mut [u8]) -> SysResult<()> {
        let bytes = buf.len();
        self.read_to(sector, bytes, &mut ReadTarget::Kernel(buf), 0)
    }

    /// Cuts the read into pieces of at most [`READ_PIECE`] and keeps up to
    /// [`READS_IN_FLIGHT`] posted: the device fills the next pieces while the oldest is
    /// copied out of its bounce buffer into the target. Every posted piece is collected,
    /// even after a failure, so none is left behind.
    fn read_to(
        &self,
        sector: u64,
        bytes: usize,
        target: &mut ReadTarget<'_>,
        at: usize,
    ) -> SysResult<()> {
        let piece = self.request_bytes().min(READ_PIECE);
        let mut in_flight = alloc::collections::VecDeque::new();
        let mut posted = 0;
        let mut result = Ok(());
        loop {
            while result.is_ok() && posted < bytes && in_flight.len() < READS_IN_FLIGHT {
                let len = (bytes - posted).min(piece);
                let first = sector + (posted / SECTOR_SIZE as usize) as u64;
                let submitted = self.range(first, len).and_then(|range| {
                    self.submit(self.chain(RequestHeader::read(&range), Data::In(len))?)
                });
                match submitted {
                    Ok(ticket) => in_flight.push_back((ticket, posted, len)),
                    Err(e) => result = Err(e),
                }
                posted += len;
            }
            let Some((ticket, done, len)) = in_flight.pop_front() else { break };
            let read = self.wait_for(ticket).and_then(|used| self.finish(used));
            result = result.and_then(|()| match read? {
                Some(read) => target.put_bounced(at + done, &read, 0, len),
                None => Err(Errno::EIO),
            });
        }
        result
    }

    fn write(&self, sector: u64, buf: &[u8]) -> SysResult<()> {
        if self.config.read_only() {
            return Err(Errno::EPERM);
        }
        let step = self.request_bytes();
        for (i, chunk) in buf.chunks(step).enumerate() {
            let first = sector + (i * step / SECTOR_SIZE as usize) as u64;
            let range = self.range(first, chunk.len())?;
            let fill = |s: &DmaStream<ToDevice>| s.sync_to_device(0, chunk);
            self.request(RequestHeader::write(&range), Data::Out(chunk.len(), &fill), None)?;
        }
        Ok(())
    }

    fn read_frames(&self, sector: u64, bytes: usize, frames: &[Frame]) -> SysResult<()> {
        let pages = self.request_pages();
        if pages == 0 || frames.len() < bytes.div_ceil(PAGE_SIZE) {
            return crate::block::read_frames_buffered(self, sector, bytes, frames);
        }
        for (first, len, group) in frame_requests(sector, bytes, frames, pages) {
            let range = self.range(first, len)?;
            let mut copy_out = |s: &DmaStream<FromDevice>| {
                frame_pieces(group, len)
                    .try_for_each(|(f, at, n)| s.sync_from_device_to_frame(at, f, 0, n))
            };
            self.request(RequestHeader::read(&range), Data::In(len), Some(&mut copy_out))?;
        }
        Ok(())
    }

    fn prepare_write(&self, len: usize) -> SysResult<WriteData> {
        let bounce = DmaStream::<ToDevice>::alloc(len).map_err(|_| Errno::ENOMEM)?;
        Ok(WriteData::Bounce(Arc::new(bounce)))
    }

    /// Sends the prepared bounce buffer's bytes in requests of at most
    /// [`Self::request_bytes`], up to [`WRITES_IN_FLIGHT`] posted; every posted one is
    /// collected, even after a failure.
    fn write_prepared(
        &self,
        sector: u64,
        bytes: usize,
        data: &WriteData,
        from: usize,
    ) -> SysResult<()> {
        if self.config.read_only() {
            return Err(Errno::EPERM);
        }
        let WriteData::Bounce(bounce) = data else {
            return self.write(sector, data.memory(from, bytes)?);
        };
        let step = self.request_bytes();
        let mut in_flight = alloc::collections::VecDeque::new();
        let mut result = Ok(());
        let mut done = 0;
        while done < bytes {
            let len = (bytes - done).min(step);
            let first = sector + (done / SECTOR_SIZE as usize) as u64;
            let posted = self.range(first, len).and_then(|range| {
                let part = Data::Part(bounce.clone(), from + done, len);
                self.submit(self.chain(RequestHeader::write(&range), part)?)
            });
            match posted {
                Ok(ticket) => in_flight.push_back(ticket),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
            done += len;
            if in_flight.len() >= WRITES_IN_FLIGHT {
                self.collect_write(in_flight.pop_front(), &mut result);
            }
        }
        while !in_flight.is_empty() {
            self.collect_write(in_flight.pop_front(), &mut result);
        }
        result
    }

    fn write_frames(&self, sector: u64, bytes: usize, frames: &[Frame]) -> SysResult<()> {
        self.write_frame_runs(&[FrameRun { sector, bytes, frames }])
    }

    fn write_frame_runs(&self, runs: &[FrameRun<'_>]) -> SysResult<()> {
        if self.config.read_only() {
            return Err(Errno::EPERM);
        }
        let pages = self.request_pages();
        // Up to WRITES_IN_FLIGHT requests are posted before the oldest is waited for; every
        // posted one is collected, even after a failure, so none is left behind.
        let mut in_flight = alloc::collections::VecDeque::new();
        let mut result = Ok(());
        'runs: for run in runs {
            if pages == 0 || run.frames.len() < run.bytes.div_ceil(PAGE_SIZE) {
                let written =
                    crate::block::write_frames_buffered(self, run.sector, run.bytes, run.frames);
                if let Err(e) = written {
                    result = Err(e);
                    break;
                }
                continue;
            }
            for (first, len, group) in frame_requests(run.sector, run.bytes, run.frames, pages) {
                let posted = self.range(first, len).and_then(|range| {
                    let fill = |s: &DmaStream<ToDevice>| {
                        frame_pieces(group, len)
                            .try_for_each(|(f, at, n)| s.sync_to_device_from_frame(at, f, 0, n))
                    };
                    let chain = self.chain(RequestHeader::write(&range), Data::Out(len, &fill))?;
                    self.submit(chain)
                });
                match posted {
                    Ok(ticket) => in_flight.push_back(ticket),
                    Err(e) => {
                        result = Err(e);
                        break 'runs;
                    }
                }
                if in_flight.len() >= WRITES_IN_FLIGHT {
                    self.collect_write(in_flight.pop_front(), &mut result);
                }
            }
        }
        while !in_flight.is_empty() {
            self.collect_write(in_flight.pop_front(), &mut result);
        }
        result
    }

    fn flush(&self) -> SysResult<()> {
        if !self.config.flush() {
            // Without VIRTIO_BLK_F_FLUSH the device writes through (§5.2.5).
            return Ok(());
        }
        self.request(RequestHeader::flush(), Data::None, None)
    }
}

/// Finds every virtio disk, brings it up and registers it (vda, vdb, ...). A disk that
/// cannot be driven is reported and left alone.
pub fn probe() {
    while let Some(found) = VirtioPciDevice::claim(DEVICE_TYPE_BLOCK) {
        let disk = match found.map_err(|e| ProbeError(e.to_string())).and_then(VirtioBlk::new) {
            Ok(disk) => disk,
            Err(e) => {
                log::error!("{e}");
                continue;
            }
        };
        let (address, sectors, ro) = (disk.address(), disk.sectors(), disk.read_only());
        let irq = if disk.has_irq { "MSI-X" } else { "polled" };
        let (name, _) = crate::block::register_virtio(disk);
        log::info!(
            "virtio-blk {address}: {name}, {} MiB{}, {irq}",
            sectors * SECTOR_SIZE / (1024 * 1024),
            if ro { ", read-only" } else { "" }
        );
    }
}
