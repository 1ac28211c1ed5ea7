//! Port I/O that works on every platform: the `in`/`out` instructions on a plain VM and under
//! the simulated TEE, TDG.VP.VMCALL<Instruction.IO> under TDX.
//!
//! Under TDX the instructions raise #VE, and under SEV-SNP #VC, while the serial console is
//! written long before any exception handler exists; asking the host directly (TDVMCALL, or
//! an IOIO exit through the GHCB `tee::snp` sets up before the console) needs no handler at
//! all. The platform is looked up on every access, before `tee::init` too
//! ([`crate::tee::is_tdx_early`], [`crate::tee::snp::active_at_boot`]).
//!
//! A drop-in for `x86_64::instructions::port::Port`, with the same safety contract.

use core::marker::PhantomData;

use tee_abi::tdx::tdvmcall::IoSize;

/// A value one port access moves: 1, 2 or 4 bytes.
pub(crate) trait PortValue: Copy {
    /// The access width.
    const SIZE: IoSize;
    /// The value from the low bytes of `raw`.
    fn from_raw(raw: u32) -> Self;
    /// The value, zero-extended.
    fn to_raw(self) -> u32;
    /// `in` from `port`.
    ///
    /// # Safety
    /// As `x86_64::instructions::port::PortRead::read_from_port`.
    unsafe fn read_native(port: u16) -> Self;
    /// `out` to `port`.
    ///
    /// # Safety
    /// As `x86_64::instructions::port::PortWrite::write_to_port`.
    unsafe fn write_native(port: u16, value: Self);
}

macro_rules! port_value {
    ($t:ty, $size:ident) => {
        impl PortValue for $t {
            const SIZE: IoSize = IoSize::$size;
            fn from_raw(raw: u32) -> Self {
                raw as $t
            }
            fn to_raw(self) -> u32 {
                u32::from(self)
            }
            /// # Safety
            /// As the trait's.
            unsafe fn read_native(port: u16) -> Self {
                use x86_64::instructions::port::PortRead;
                // SAFETY: the caller upholds `read_from_port`'s contract.
                unsafe { <$t>::read_from_port(port) }
            }
            /// # Safety
            /// As the trait's.
            unsafe fn write_native(port: u16, value: Self) {
                use x86_64::instructions::port::PortWrite;
                // SAFETY: the caller upholds `write_to_port`'s contract.
                unsafe { <$t>::write_to_port(port, value) }
            }
        }
    };
}

port_value!(u8, One);
port_value!(u16, Two);
port_value!(u32, Four);

/// An I/O port of width `T`.
pub(crate) struct Port<T> {
    port: u16,
    width: PhantomData<T>,
}

impl<T: PortValue> Port<T> {
    /// Names `port`.
    pub(crate) const fn new(port: u16) -> Self {
        Self { port, width: PhantomData }
    }

    /// Reads the port.
    ///
    /// # Safety
    /// Reading a port can have side effects on the device behind it: the caller must know
    /// the device and that the read is harmless to memory safety (as for
    /// `x86_64::instructions::port::Port::read`).
    pub(crate) unsafe fn read(&mut self) -> T {
        if crate::tee::is_tdx_early() {
            T::from_raw(crate::tee::tdx::io_read(T::SIZE, self.port))
        } else if crate::tee::snp::active_at_boot() {
            T::from_raw(crate::tee::snp::io_read(T::SIZE.bytes() as u8, self.port))
        } else {
            // SAFETY: forwarded from the caller.
            unsafe { T::read_native(self.port) }
        }
    }

    /// Writes the port.
    ///
    /// # Safety
    /// As [`Port::read`]: the write must be harmless to memory safety (it must not, say,
    /// point a DMA engine at memory).
    pub(crate) unsafe fn write(&mut self, value: T) {
        if crate::tee::is_tdx_early() {
            crate::tee::tdx::io_write(T::SIZE, self.port, value.to_raw());
        } else if crate::tee::snp::active_at_boot() {
            crate::tee::snp::io_write(T::SIZE.bytes() as u8, self.port, value.to_raw());
        } else {
            // SAFETY: forwarded from the caller.
            unsafe { T::write_native(self.port, value) }
        }
    }
}
