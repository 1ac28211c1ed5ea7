//! Booting the kernel in QEMU and capturing what it prints.
