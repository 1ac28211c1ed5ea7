//! The host and domain names that uname(2) reports and sethostname(2)/setdomainname(2)
//! change, per UTS namespace: both start as "(none)", as Linux's do before anything names
//! the machine, and a new namespace starts with a copy of its creator's.

use alloc::sync::Arc;

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

/// A UTS namespace.
pub struct UtsNamespace {
    inum: u64,
    host: SpinLock<UtsName>,
    domain: SpinLock<UtsName>,
}

impl UtsNamespace {
    /// Its inode number (/proc/PID/ns/uts).
    pub fn inum(&self) -> u64 {
        self.inum
    }

    /// A new namespace with this one's names (CLONE_NEWUTS).
    pub fn copy(&self) -> Arc<Self> {
        Arc::new(Self {
            inum: crate::fs::nsfs::alloc_inum(),
            host: SpinLock::new(*self.host.lock()),
            domain: SpinLock::new(*self.domain.lock()),
        })
    }

    fn slot(&self, which: Which) -> &SpinLock<UtsName> {
        match which {
            Which::Host => &self.host,
            Which::Domain => &self.domain,
        }
    }
}

/// The namespace the machine starts with.
pub fn initial() -> Arc<UtsNamespace> {
    static INITIAL: spin::Once<Arc<UtsNamespace>> = spin::Once::new();
    INITIAL
        .call_once(|| {
            Arc::new(UtsNamespace {
                inum: crate::fs::nsfs::NsType::Uts.initial_inum(),
                host: SpinLock::new(UtsName::none()),
                domain: SpinLock::new(UtsName::none()),
            })
        })
        .clone()
}

/// The caller's namespace (the initial one outside any process).
fn current() -> Arc<UtsNamespace> {
    super::registry::current().map_or_else(initial, |p| p.namespaces().uts)
}

/// Which name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Host,
    Domain,
}

/// Returns the name in the caller's namespace.
pub fn get(which: Which) -> UtsName {
    *current().slot(which).lock()
}

/// Replaces the name in the caller's namespace.
///
/// # Errors
/// EINVAL if `name` is longer than [`MAX_NAME`] bytes.
pub fn set(which: Which, name: &[u8]) -> SysResult<()> {
    if name.len() > MAX_NAME {
        return Err(Errno::EINVAL);
    }
    let mut bytes = [0u8; MAX_NAME];
    bytes[..name.len()].copy_from_slice(name);
    *current().slot(which).lock() = UtsName { bytes, len: name.len() };
    Ok(())
}
