//! The COM1 serial console, and the `log` backend that writes to it.
//!
//! Usable from the first line of Rust: [`init`] only programs the UART and installs the
//! logger; it needs no memory allocation and no interrupts.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, Ordering};

use crate::io_port::Port;
use log::{LevelFilter, Log, Metadata, Record};

use crate::sync::SpinLock;

const COM1: u16 = 0x3f8;

/// A 16550 UART at a fixed I/O port base.
struct Uart {
    base: u16,
}

impl Uart {
    fn reg(&self, offset: u16) -> Port<u8> {
        Port::new(self.base + offset)
    }

    fn init(&mut self) {
        // SAFETY: COM1's registers are I/O ports with no memory side effects; this is the
        // standard 16550 setup: interrupts off, 115200 8N1, FIFOs on, DTR/RTS set.
        unsafe {
            self.reg(1).write(0x00);
            self.reg(3).write(0x80);
            self.reg(0).write(0x01);
            self.reg(1).write(0x00);
            self.reg(3).write(0x03);
            self.reg(2).write(0xc7);
            self.reg(4).write(0x0b);
        }
    }

    fn put(&mut self, byte: u8) {
        // SAFETY: reading the line-status register and writing the data register of COM1
        // only talk to the UART.
        unsafe {
            let mut spins = 0u32;
            // Bounded wait: a host that never drains the UART must not hang the kernel.
            while self.reg(5).read() & 0x20 == 0 && spins < 100_000 {
                spins += 1;
                core::hint::spin_loop();
            }
            self.reg(0).write(byte);
        }
    }

    fn try_get(&mut self) -> Option<u8> {
        // SAFETY: as in `put`; reading the data register consumes one received byte.
        unsafe { (self.reg(5).read() & 1 != 0).then(|| self.reg(0).read()) }
    }
}

impl Write for Uart {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for byte in s.bytes() {
            if byte == b'\n' {
                self.put(b'\r');
            }
            self.put(byte);
        }
        Ok(())
    }
}

static CONSOLE: SpinLock<Uart> = SpinLock::new(Uart { base: COM1 });
static QUIET: AtomicBool = AtomicBool::new(false);

/// Programs COM1 and routes `log` records to it. Idempotent.
pub fn init() {
    CONSOLE.lock().init();
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(LevelFilter::Info);
}

/// Limits log output to warnings and errors (the `quiet` command-line flag).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
    log::set_max_level(if quiet { LevelFilter::Warn } else { LevelFilter::Info });
}

/// Writes formatted text to the console.
pub fn print(args: fmt::Arguments) {
    let _ = CONSOLE.lock().write_fmt(args);
}

/// Writes raw bytes to the console, with no newline translation.
pub fn write_bytes(bytes: &[u8]) {
    let mut uart = CONSOLE.lock();
    for &b in bytes {
        uart.put(b);
    }
}

/// Returns one received byte, if the UART has one.
pub fn try_read_byte() -> Option<u8> {
    CONSOLE.lock().try_get()
}

/// Writes formatted text even if the console lock is held (for the panic path only):
/// output may interleave with the interrupted writer, which beats deadlocking.
pub(crate) fn emergency_print(args: fmt::Arguments) {
    let _ = Uart { base: COM1 }.write_fmt(args);
}

static INPUT_LINE: spin::Once<crate::trap::IrqLine> = spin::Once::new();

/// Delivers every byte received on COM1 to `handler`, from its interrupt (IRQ 4).
///
/// The handler runs in interrupt context: it must not sleep. Returns an error if the
/// interrupt could not be routed (no IOAPIC).
pub fn set_input_handler(handler: fn(u8)) -> Result<(), crate::trap::IrqError> {
    let line = match INPUT_LINE.get() {
        Some(line) => line,
        None => {
            let line = crate::trap::IrqLine::alloc()?;
            crate::time::ioapic::route(4, line.vector())?;
            INPUT_LINE.call_once(|| line)
        }
    };
    line.on_active(move || {
        while let Some(byte) = try_read_byte() {
            handler(byte);
        }
    });
    let uart = Uart { base: COM1 };
    // SAFETY: setting IER bit 0 on COM1 enables its received-data interrupt, which is
    // routed to the handler above; no memory is involved.
    unsafe { uart.reg(1).write(0x01) };
    Ok(())
}

/// Waits until everything written has left the UART's buffers.
pub fn flush() {
    let uart = Uart { base: COM1 };
    for _ in 0..100_000 {
        // SAFETY: reading COM1's line-status register has no side effects.
        if unsafe { uart.reg(5).read() } & 0x40 != 0 {
            break;
        }
    }
}

/// Prints to the kernel console, like `print!`.
#[macro_export]
macro_rules! early_print {
    ($($arg:tt)*) => { $crate::console::print(format_args!($($arg)*)) };
}

/// Prints a line to the kernel console, like `println!`.
#[macro_export]
macro_rules! early_println {
    () => { $crate::console::print(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::console::print(format_args!("{}\n", format_args!($($arg)*))) };
}

struct ConsoleLogger;
static LOGGER: ConsoleLogger = ConsoleLogger;

impl Log for ConsoleLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if self.enabled(record.metadata()) {
            let ms = crate::time::uptime_ms_if_ready();
            print(format_args!(
                "[{:>5}.{:03}] {:<5} {}\n",
                ms / 1000,
                ms % 1000,
                record.level(),
                record.args()
            ));
        }
    }

    fn flush(&self) {}
}
