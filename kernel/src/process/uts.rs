//! The host and domain names that uname(2) reports and sethostname(2)/setdomainname(2)
//! change. One set for the machine (there are no UTS namespaces yet); both start as
//! "(none)", as Linux's do before anything names the machine.

use ostd::sync::SpinLock;

use crate::error::{Errno, SysResult};

/// uname's sysname (kernel.ostype).
pub const SYSNAME: &str = "Linux";
/// uname's release (kernel.osrelease): the Linux version whose ABI this kernel follows.
pub const RELEASE: &str = "6.1.0-cocoon";
/// uname's version (kernel.version).
pub const VERSION: &str = "#1 SMP PREEMPT cocoon 0.1.0";

/// The longest name, in bytes (Linux's `__NEW_UTS_LEN`); uname's fields have one byte more
/// for the terminating NUL.
pub const MAX_NAME: usize = 64;

/// A name of at most [`MAX_NAME`] bytes.
#[derive(Clone, Copy)]
pub struct UtsName {
    bytes: [u8; MAX_NAME],
    len: usize,
}

impl UtsName {
    const fn none() -> Self {
        let mut bytes = [0u8; MAX_NAME];
        let text = *b"(none)";
        let mut i = 0;
        while i < text.len() {
            bytes[i] = text[i];
            i += 1;
        }
        Self { bytes, len: text.len() }
    }

    /// The name's bytes (any bytes but the length are allowed, as on Linux).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

static HOSTNAME: SpinLock<UtsName> = SpinLock::new(UtsName::none());
static DOMAINNAME: SpinLock<UtsName> = SpinLock::new(UtsName::none());

/// Which name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Host,
    Domain,
}

fn slot(which: Which) -> &'static SpinLock<UtsName> {
    match which {
        Which::Host => &HOSTNAME,
        Which::Domain => &DOMAINNAME,
    }
}

/// Returns the current name.
pub fn get(which: Which) -> UtsName {
    *slot(which).lock()
}

/// Replaces the name.
///
/// # Errors
/// EINVAL if `name` is longer than [`MAX_NAME`] bytes.
pub fn set(which: Which, name: &[u8]) -> SysResult<()> {
    if name.len() > MAX_NAME {
        return Err(Errno::EINVAL);
    }
    let mut bytes = [0u8; MAX_NAME];
    bytes[..name.len()].copy_from_slice(name);
    *slot(which).lock() = UtsName { bytes, len: name.len() };
    Ok(())
}
