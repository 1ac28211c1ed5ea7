//! The formats `images build` writes into a guest image for the kernel to read, other than
//! the filesystem itself (`ext2`): the container's process spec ([`container`]) and the root
//! disk's hash tree ([`verity`]).
//!
//! `no_std` with `alloc`, no OSTD dependency: the kernel parses with this crate and the image
//! builder writes with it, so the two cannot disagree, and host tests run the parser on
//! hostile input. What the guest reads from its disk is data to validate: every parse
//! checks lengths and refuses what it does not know, with an error naming the line.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

extern crate alloc;

pub mod container;
pub mod verity;
