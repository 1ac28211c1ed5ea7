//! Leaving the machine: QEMU's exit device and halting.
//!
//! QEMU is started with `-device isa-debug-exit,iobase=0xf4,iosize=0x04`; writing `v` there
//! makes QEMU exit with status `2v + 1`. The test harness maps the two codes below.

use crate::io_port::Port;

/// The exit status of a run, as QEMU reports it to the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCode {
    /// Everything asked of the kernel succeeded (QEMU exits with 33).
    Success = 0x10,
    /// Something failed (QEMU exits with 35).
    Failure = 0x11,
}

/// Exits QEMU with `code`; halts forever if there is no exit device.
pub fn exit_qemu(code: ExitCode) -> ! {
    crate::console::flush();
    let mut port = Port::<u32>::new(0xf4);
    // SAFETY: port 0xf4 is the isa-debug-exit device under QEMU, and an unused port on any
    // other machine; writing to it has no effect on memory.
    unsafe { port.write(code as u32) };
    halt_forever()
}

/// Stops this CPU for good: interrupts off, then `hlt` in a loop.
pub fn halt_forever() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}
