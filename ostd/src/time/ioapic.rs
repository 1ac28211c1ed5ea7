//! The IOAPIC: routes device interrupt lines (GSIs) to vectors. All lines start masked.

use spin::Once;

use crate::mm::IoMem;
use crate::sync::SpinLock;

const DEFAULT_BASE: u64 = 0xfec0_0000;
const REG_VERSION: u32 = 0x01;
const REG_REDIRECTION: u32 = 0x10;

struct IoApic {
    mmio: IoMem,
    lines: u32,
}

static IOAPIC: Once<SpinLock<IoApic>> = Once::new();

impl IoApic {
    fn read(&self, reg: u32) -> u32 {
        self.mmio.write::<u32>(0x00, reg);
        self.mmio.read::<u32>(0x10)
    }

    fn write(&self, reg: u32, value: u32) {
        self.mmio.write::<u32>(0x00, reg);
        self.mmio.write::<u32>(0x10, value);
    }
}

pub(super) fn init() {
    let base = crate::bus::acpi::ioapic_base().unwrap_or(DEFAULT_BASE);
    let mmio = match IoMem::map(base, 0x20) {
        Ok(mmio) => mmio,
        Err(e) => {
            log::warn!("ioapic: refusing base {base:#x} ({e}); device interrupts unavailable");
            return;
        }
    };
    let mut ioapic = IoApic { mmio, lines: 0 };
    ioapic.lines = ((ioapic.read(REG_VERSION) >> 16) & 0xff) + 1;
    for line in 0..ioapic.lines {
        ioapic.write(REG_REDIRECTION + 2 * line, 1 << 16); // masked
        ioapic.write(REG_REDIRECTION + 2 * line + 1, 0);
    }
    IOAPIC.call_once(|| SpinLock::new(ioapic));
}

/// Returns how many interrupt lines the IOAPIC has (0 if there is none).
pub fn lines() -> u32 {
    IOAPIC.get().map_or(0, |io| io.lock().lines)
}

/// Routes `gsi` to `vector` on the bootstrap CPU (edge-triggered, active high), unmasked.
pub fn route(gsi: u32, vector: u8) -> Result<(), crate::trap::IrqError> {
    let io = IOAPIC.get().ok_or(crate::trap::IrqError::NoFreeVector)?.lock();
    if gsi >= io.lines {
        return Err(crate::trap::IrqError::VectorBusy(vector));
    }
    io.write(REG_REDIRECTION + 2 * gsi + 1, crate::time::apic::apic_id() << 24);
    io.write(REG_REDIRECTION + 2 * gsi, u32::from(vector));
    Ok(())
}
