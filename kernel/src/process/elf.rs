//! The checks `execve` makes on an ELF file before the point of no return, as Linux 6.1's
//! `load_elf_binary` (fs/binfmt_elf.c) makes them, with the same errno for each.
//!
//! Everything here is a pure function of bytes already read from the file: the 64-byte
//! header (zero-padded when the file is shorter, like `bprm->buf`), the program-header table
//! and the PT_INTERP path. The structures are `object`'s ELF definitions; their fields are
//! byte arrays, so any offset in the file is fine (no alignment to meet). Linux looks at no
//! other header field (not the class, byte order, versions or `e_ehsize`), and neither do
//! we: a file Linux runs must run here.
//!
//! In order, Linux checks: the magic; `e_type` (ET_EXEC or ET_DYN) and `e_machine`
//! (x86-64), all ENOEXEC; then `load_elf_phdrs` ([`phdr_table`]: `e_phentsize` must be 56
//! and the table 1..=4096 bytes, and reading it must succeed: ENOEXEC); then the first
//! PT_INTERP ([`interp_read`], [`interp_name`]) and the interpreter's own header
//! ([`check_interp`]: not ELF or not x86-64 is ELIBBAD).

use alloc::vec::Vec;

use object::elf::{EM_X86_64, ET_DYN, ET_EXEC, FileHeader64, PT_INTERP, ProgramHeader64};
use object::{LittleEndian as LE, pod};

use crate::error::{Errno, SysResult};

/// The ELF file header.
pub type Ehdr = FileHeader64<LE>;
/// One program header.
pub type Phdr = ProgramHeader64<LE>;

/// The size of a 64-bit program header, the only `e_phentsize` Linux accepts.
pub const PHENT_SIZE: usize = core::mem::size_of::<Phdr>();
/// The size of the ELF header.
pub const EHDR_SIZE: usize = core::mem::size_of::<Ehdr>();
/// The largest program-header table Linux reads (`ELF_MIN_ALIGN`, one page).
const MAX_PHDR_BYTES: usize = 4096;
/// PATH_MAX: the longest PT_INTERP Linux reads.
const PATH_MAX: u64 = 4096;

/// Returns whether the file starts with the ELF magic.
pub fn is_elf(head: &[u8]) -> bool {
    head.starts_with(b"\x7fELF")
}

/// Reads the ELF header from the file's first bytes, zero-padded to its size (ENOEXEC
/// only if `object` refused the bytes, which a buffer of the header's size never is).
pub fn parse_ehdr(head: &[u8]) -> SysResult<Ehdr> {
    let mut bytes = [0u8; EHDR_SIZE];
    let n = head.len().min(EHDR_SIZE);
    bytes[..n].copy_from_slice(&head[..n]);
    pod::from_bytes::<Ehdr>(&bytes).map(|(h, _)| *h).map_err(|()| Errno::ENOEXEC)
}

/// Checks the type and machine of a main executable: ENOEXEC unless ET_EXEC or ET_DYN for
/// x86-64.
pub fn check_main(ehdr: &Ehdr) -> SysResult<()> {
    let ty = ehdr.e_type.get(LE);
    if ty != ET_EXEC && ty != ET_DYN {
        return Err(Errno::ENOEXEC);
    }
    if ehdr.e_machine.get(LE) != EM_X86_64 {
        return Err(Errno::ENOEXEC);
    }
    Ok(())
}

/// Checks an interpreter's header (read whole, 64 bytes): ELIBBAD unless it is ELF for
/// x86-64. Its type is checked only later, past the point of no return.
pub fn check_interp(head: &[u8]) -> SysResult<Ehdr> {
    let ehdr = parse_ehdr(head).map_err(|_| Errno::ELIBBAD)?;
    if !is_elf(head) || ehdr.e_machine.get(LE) != EM_X86_64 {
        return Err(Errno::ELIBBAD);
    }
    Ok(ehdr)
}

/// Returns where the program-header table is and how long, or `None` where Linux's
/// `load_elf_phdrs` fails: `e_phentsize` other than 56, no headers, more than a page of
/// them, or a position the read would refuse (see [`read_range`]).
pub fn phdr_table(ehdr: &Ehdr) -> Option<(u64, usize)> {
    if usize::from(ehdr.e_phentsize.get(LE)) != PHENT_SIZE {
        return None;
    }
    let size = PHENT_SIZE * usize::from(ehdr.e_phnum.get(LE));
    if size == 0 || size > MAX_PHDR_BYTES {
        return None;
    }
    let offset = ehdr.e_phoff.get(LE);
    read_range(offset, size).ok()?;
    Some((offset, size))
}

/// Parses a program-header table read whole (`bytes.len()` a multiple of 56).
pub fn parse_phdrs(bytes: &[u8]) -> Vec<Phdr> {
    pod::slice_from_bytes::<Phdr>(bytes, bytes.len() / PHENT_SIZE)
        .map(|(s, _)| s.to_vec())
        .unwrap_or_default()
}

/// Checks that a kernel read of `len` bytes at `offset` is allowed (`rw_verify_area`): the
/// position is a signed `loff_t`, so an offset past `i64::MAX`, or one whose end is, is
/// EINVAL.
pub fn read_range(offset: u64, len: usize) -> SysResult<()> {
    let end = offset.checked_add(len as u64).ok_or(Errno::EINVAL)?;
    if offset > i64::MAX as u64 || end > i64::MAX as u64 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// Returns the first PT_INTERP header, if any (Linux uses the first and ignores others).
pub fn find_interp(phdrs: &[Phdr]) -> Option<&Phdr> {
    phdrs.iter().find(|ph| ph.p_type.get(LE) == PT_INTERP)
}

/// Returns where to read the interpreter's path: ENOEXEC if it is shorter than 2 bytes or
/// longer than PATH_MAX, EINVAL if the position is one a read refuses.
pub fn interp_read(ph: &Phdr) -> SysResult<(u64, usize)> {
    let len = ph.p_filesz.get(LE);
    if !(2..=PATH_MAX).contains(&len) {
        return Err(Errno::ENOEXEC);
    }
    let offset = ph.p_offset.get(LE);
    read_range(offset, len as usize)?;
    Ok((offset, len as usize))
}

/// Returns the interpreter's path from the PT_INTERP bytes: they must end with a NUL
/// (ENOEXEC otherwise); the path is what comes before the first NUL.
pub fn interp_name(bytes: &[u8]) -> SysResult<&[u8]> {
    if bytes.last() != Some(&0) {
        return Err(Errno::ENOEXEC);
    }
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    Ok(&bytes[..end])
}

ostd::ktest! {
    fn elf_header_checks_follow_linux() {
        let mut head = [0u8; 64];
        head[..4].copy_from_slice(b"\x7fELF");
        head[16] = 2; // ET_EXEC
        head[18] = 62; // EM_X86_64
        head[0x20] = 64; // e_phoff
        head[0x36] = 56; // e_phentsize
        head[0x38] = 1; // e_phnum
        let ehdr = parse_ehdr(&head).unwrap();
        assert_eq!(check_main(&ehdr), Ok(()), "class, data and versions are not looked at");
        assert_eq!(phdr_table(&ehdr), Some((64, 56)));
        let mut bad = head;
        bad[16] = 1; // ET_REL
        assert_eq!(check_main(&parse_ehdr(&bad).unwrap()), Err(Errno::ENOEXEC));
        bad = head;
        bad[18] = 3; // EM_386
        assert_eq!(check_main(&parse_ehdr(&bad).unwrap()), Err(Errno::ENOEXEC));
        for phentsize in [0u8, 1, 32, 55, 57, 64] {
            bad = head;
            bad[0x36] = phentsize;
            assert_eq!(
                phdr_table(&parse_ehdr(&bad).unwrap()),
                None,
                "e_phentsize {phentsize} is refused, never parsed"
            );
        }
        bad = head;
        bad[0x38] = 0;
        assert_eq!(phdr_table(&parse_ehdr(&bad).unwrap()), None, "no program headers");
        bad[0x38] = 73;
        assert_eq!(
            phdr_table(&parse_ehdr(&bad).unwrap()),
            Some((64, 73 * 56)),
            "73 headers still fit a page"
        );
        bad[0x38] = 74;
        assert_eq!(phdr_table(&parse_ehdr(&bad).unwrap()), None, "74 do not");
        bad = head;
        bad[0x20..0x28].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(phdr_table(&parse_ehdr(&bad).unwrap()), None, "a negative position");
        bad[0x20..0x28].copy_from_slice(&(i64::MAX as u64 - 10).to_le_bytes());
        assert_eq!(phdr_table(&parse_ehdr(&bad).unwrap()), None, "an end past i64::MAX");
        assert_eq!(
            check_main(&parse_ehdr(b"\x7fELF").unwrap()),
            Err(Errno::ENOEXEC),
            "a short file reads as zeros"
        );
    }

    fn elf_program_headers_parse_at_any_offset() {
        let mut bytes = alloc::vec![0u8; 1 + 2 * PHENT_SIZE];
        bytes[1] = 3; // the first header's p_type: PT_INTERP
        bytes[1 + 32..1 + 40].copy_from_slice(&13u64.to_le_bytes()); // p_filesz
        let phdrs = parse_phdrs(&bytes[1..]);
        assert_eq!(phdrs.len(), 2);
        let interp = find_interp(&phdrs).map(|p| p.p_filesz.get(LE));
        assert_eq!(interp, Some(13));
    }

    fn elf_interp_path_checks_follow_linux() {
        let mut bytes = alloc::vec![0u8; 2 * PHENT_SIZE];
        bytes[..4].copy_from_slice(&PT_INTERP.0.to_le_bytes());
        let with = |filesz: u64, offset: u64| {
            let mut b = bytes.clone();
            b[8..16].copy_from_slice(&offset.to_le_bytes());
            b[32..40].copy_from_slice(&filesz.to_le_bytes());
            interp_read(&parse_phdrs(&b)[0])
        };
        assert_eq!(with(1, 0), Err(Errno::ENOEXEC), "shorter than 2 bytes");
        assert_eq!(with(4097, 0), Err(Errno::ENOEXEC), "longer than PATH_MAX");
        assert_eq!(with(4096, 100), Ok((100, 4096)));
        assert_eq!(with(16, u64::MAX - 15), Err(Errno::EINVAL), "a negative position");
        assert_eq!(interp_name(b"/lib/ld.so\0"), Ok(&b"/lib/ld.so"[..]));
        assert_eq!(interp_name(b"/lib/ld.so"), Err(Errno::ENOEXEC), "no final NUL");
        assert_eq!(interp_name(b"/a\0junk\0"), Ok(&b"/a"[..]), "cut at the first NUL");
        assert_eq!(check_interp(b"#!/bin/sh\n").map(|_| ()), Err(Errno::ELIBBAD));
    }
}
