//! The legacy 8259 PICs: remapped away from the exception vectors, then fully masked.

use crate::io_port::Port;

pub(super) fn disable() {
    // SAFETY: the 8259 command/data ports (0x20/0x21, 0xa0/0xa1) touch only the PICs. The
    // standard ICW1-4 sequence remaps them to vectors 0x20..0x2f so a stray IRQ cannot
    // look like an exception, and OCW1 then masks every line.
    unsafe {
        let (mut c1, mut d1, mut c2, mut d2) = (
            Port::<u8>::new(0x20),
            Port::<u8>::new(0x21),
            Port::<u8>::new(0xa0),
            Port::<u8>::new(0xa1),
        );
        c1.write(0x11);
        c2.write(0x11);
        d1.write(0x20);
        d2.write(0x28);
        d1.write(0x04);
        d2.write(0x02);
        d1.write(0x01);
        d2.write(0x01);
        d1.write(0xff);
        d2.write(0xff);
    }
}
