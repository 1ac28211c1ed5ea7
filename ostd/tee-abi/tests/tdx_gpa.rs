//! GPA width, shared bit and page levels (ABI spec: shared bit = GPAW - 1; SEPT levels 0/1/2
//! = 4 KiB / 2 MiB / 1 GiB), and the error messages that name field and value.
#![forbid(unsafe_code)]

use tee_abi::accept::AcceptError;
use tee_abi::tdx::TdxError;
use tee_abi::tdx::gpa::{Gpa, GpaWidth, PageLevel};

#[test]
fn shared_bit_splits_the_gpa_space() {
    let shared = GpaWidth::Bits48.shared_bit();
    assert_eq!(GpaWidth::Bits48.bits(), 48);
    assert_eq!(shared.private_limit(), 0x8000_0000_0000);
    assert_eq!(shared.to_shared(Gpa::new(0x1000)), Ok(Gpa::new(0x8000_0000_1000)));
    assert!(shared.is_shared(Gpa::new(0x8000_0000_1000)));
    assert!(!shared.is_shared(Gpa::new(0x7fff_ffff_f000)));
    assert!(shared.check_private("x", Gpa::new(0x7fff_ffff_f000)).is_ok());
    assert_eq!(
        shared.check_private("x", Gpa::new(0x8000_0000_0000)),
        Err(TdxError::WrongSharing { field: "x", gpa: 0x8000_0000_0000, want_shared: false })
    );
    assert!(shared.check_shared("x", Gpa::new(0xffff_ffff_ffff)).is_ok());
    assert!(shared.check_shared("x", Gpa::new(0x1_8000_0000_0000)).is_err());
    assert!(shared.to_shared(Gpa::new(0x8000_0000_0000)).is_err());
    let wide = GpaWidth::Bits52.shared_bit();
    assert_eq!(wide.mask(), 0x8_0000_0000_0000);
    assert!(wide.check_private("x", Gpa::new(0x8000_0000_0000)).is_ok());
}

#[test]
fn page_levels() {
    assert_eq!(PageLevel::Size4K.raw(), 0);
    assert_eq!(PageLevel::Size2M.raw(), 1);
    assert_eq!(PageLevel::Size1G.raw(), 2);
    assert_eq!(PageLevel::Size4K.size(), 4096);
    assert_eq!(PageLevel::Size2M.size(), 2 << 20);
    assert_eq!(PageLevel::Size1G.size(), 1 << 30);
    assert_eq!(PageLevel::Size1G.smaller(), Some(PageLevel::Size2M));
    assert_eq!(PageLevel::Size2M.smaller(), Some(PageLevel::Size4K));
    assert_eq!(PageLevel::Size4K.smaller(), None);
}

#[test]
fn alignment_check_never_panics() {
    assert!(Gpa::new(0x2000).check_aligned("x", 0x1000).is_ok());
    assert!(Gpa::new(0x2800).check_aligned("x", 0x1000).is_err());
    assert!(Gpa::new(5).check_aligned("x", 0).is_err());
}

#[test]
fn messages_name_the_field_and_the_value() {
    let tdx = TdxError::OutOfRange {
        field: "MapGPA R11 (resume GPA)",
        value: 0x1234,
        min: 0x2000,
        max: 0x2fff,
    };
    assert_eq!(tdx.to_string(), "MapGPA R11 (resume GPA) = 0x1234 is outside 0x2000..=0x2fff");
    let accept = AcceptError::Version { value: 7 };
    assert_eq!(accept.to_string(), "unaccepted-memory table version 7, not 1");
    let gpaw = TdxError::Unrecognised { field: "TDG.VP.INFO RCX[5:0] (GPAW)", value: 50 };
    assert_eq!(gpaw.to_string(), "TDG.VP.INFO RCX[5:0] (GPAW) = 0x32 is not defined");
}
