//! The benchmark harness against Linux (`make bench`): the same initramfs booted under Debian's
//! Linux and under our kernel with identical QEMU flags, runs interleaved A/B/A/B, reported as
//! medians with min–max and a ratio table.
//!
//! Nothing here asserts a speed: timing is measured and printed, never judged.

pub mod fio;
pub mod judge;
pub mod net;
pub mod parse;
pub mod report;
pub mod run;
pub mod stats;
