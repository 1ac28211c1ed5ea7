//! Binding the event log into the report data, where the platform has no runtime registers
//! (SEV-SNP; the simulated TEE under `sim.registers=none`).
//!
//! With registers, a verifier trusts a log because it replays to registers the hardware
//! kept. Without them, the only field the guest kernel controls in a signed report is its
//! 64 bytes of report data, so the kernel binds the log there itself: for a report asked for
//! with report data `D` (configfs-tsm's `inblob`, the `user_data` of SNP_GET_REPORT), it asks
//! the platform for
//!
//! ```text
//! report_data = SHA-512( "cocoon log-bound report data v1\0" ‖ D ‖ SHA-384(log) )
//! ```
//!
//! where `log` is the event log exactly as `/sys/firmware/acpi/tables/data/CCEL` shows it at
//! that moment. Userspace cannot ask for a report with any other report data, so a report
//! vouches for the log, and a verifier that has the log and `D` can check both. This departs
//! from Linux, where `outblob`'s report data is `inblob`: tools that compare the two directly
//! will see the difference (the report is still genuine).

use sha2::{Digest as _, Sha384, Sha512};

/// The domain separator: a report bound this way is never mistaken for another use of the
/// report data.
pub const DOMAIN: &[u8] = b"cocoon log-bound report data v1\0";

/// Returns the report data the kernel asks the platform for, binding `report_data` and `log`.
pub fn log_bound_report_data(report_data: &[u8; 64], log: &[u8]) -> [u8; 64] {
    let mut h = Sha512::new();
    h.update(DOMAIN);
    h.update(report_data);
    h.update(Sha384::digest(log));
    h.finalize().into()
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn the_binding_covers_the_report_data_and_every_byte_of_the_log() {
        let d = [7u8; 64];
        let base = log_bound_report_data(&d, b"log");
        assert_ne!(base, log_bound_report_data(&[8u8; 64], b"log"));
        assert_ne!(base, log_bound_report_data(&d, b"lof"));
        assert_ne!(base, log_bound_report_data(&d, b"log+"));
        assert_eq!(base, log_bound_report_data(&d, b"log"));
    }
}
