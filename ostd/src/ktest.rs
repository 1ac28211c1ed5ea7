//! In-kernel tests, registered with [`crate::ktest!`] into the `.ktests` linker section.
//!
//! [`run_all`] runs each on its own task, so a failing assertion (a panic) ends that test
//! only. Filter with `ktest.filter=substring[,substring...]` on the command line.

use core::sync::atomic::Ordering;

/// One registered test.
#[repr(C)]
pub struct KtestDescriptor {
    /// The module path it was declared in.
    pub module: &'static str,
    /// The function name.
    pub name: &'static str,
    /// The test body.
    pub run: fn(),
}

/// Outcome counts of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KtestSummary {
    /// Tests that returned.
    pub passed: usize,
    /// Tests that panicked.
    pub failed: usize,
}

fn descriptors() -> &'static [KtestDescriptor] {
    // Declared as bytes: these are linker symbols, only their addresses are used.
    unsafe extern "C" {
        static __ktests_start: u8;
        static __ktests_end: u8;
    }
    // SAFETY: the linker script gathers every `.ktests` static (each a KtestDescriptor,
    // placed by `ktest!` with the section's natural alignment) between these two symbols,
    // and the section is read-only for the kernel's lifetime.
    unsafe {
        let start = (&raw const __ktests_start).cast::<KtestDescriptor>();
        let end = (&raw const __ktests_end).cast::<KtestDescriptor>();
        let count = (end as usize - start as usize) / core::mem::size_of::<KtestDescriptor>();
        core::slice::from_raw_parts(start, count)
    }
}

/// The line [`run_all`] prints first: `ktest: N registered, M selected`. The host harness
/// compares N with the number of tests in the source and requires every one to pass.
pub const COUNT_PREFIX: &str = "ktest: ";

/// Runs every registered test whose path contains `filter`; prints how many tests are
/// registered and selected, one line per test, and a final `N passed, N failed` line.
pub fn run_all(filter: Option<&str>) -> KtestSummary {
    let mut summary = KtestSummary::default();
    // A comma-separated list of substrings: a test runs if its path contains any of them.
    let matches = |d: &&KtestDescriptor| {
        filter.is_none_or(|f| f.split(',').any(|f| d.module.contains(f) || d.name.contains(f)))
    };
    let selected = descriptors().iter().filter(matches).count();
    crate::early_println!("{COUNT_PREFIX}{} registered, {selected} selected", descriptors().len());
    for test in descriptors().iter().filter(matches) {
        crate::early_println!("ktest {}::{} ...", test.module, test.name);
        let run = test.run;
        let handle = crate::task::spawn(test.name, move || {
            crate::task::current().is_test.store(true, Ordering::Relaxed);
            run();
        });
        let task = handle.join();
        if task.test_failed.load(Ordering::Relaxed) {
            summary.failed += 1;
            crate::early_println!("ktest {}::{} FAILED", test.module, test.name);
        } else {
            summary.passed += 1;
            crate::early_println!("ktest {}::{} ok", test.module, test.name);
        }
    }
    crate::early_println!("{} passed, {} failed", summary.passed, summary.failed);
    summary
}
