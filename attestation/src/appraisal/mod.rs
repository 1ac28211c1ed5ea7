//! Appraisal: a policy and reference values applied to verified evidence, giving a verdict
//! that lists every claim with its expected and observed values.

mod appraise;
mod policy;
mod reference;
mod verdict;

pub use appraise::{appraise, denied_unverified};
pub use policy::{MinSnpTcb, Policy};
pub use reference::{ReferenceEntry, ReferenceEvent, ReferenceValues};
pub use verdict::{Claim, Status, Verdict};
