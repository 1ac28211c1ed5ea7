//! The root filesystem of a guest image: assembled in memory ([`tree`]) from an image's
//! layers or a host directory ([`host_dir`]), then written to an ext2 disk ([`ext2_disk`]);
//! paths in it resolve as the kernel resolves them ([`resolve`]).

pub mod ext2_disk;
pub mod host_dir;
pub mod resolve;
pub mod tree;
