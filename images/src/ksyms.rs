//! The kernel's symbol table for panic backtraces, written into the image after linking.
//!
//! The linker script reserves a zero-filled `.ksyms` section in the loaded image; this tool
//! fills it with the function symbols, so the panic handler can print names without the ELF.
//! The blob (all little-endian):
//! ```text
//! "KSYM"  count: u32  then count × { addr: u64, name_offset: u32, name_len: u32 }
//! (sorted by addr)  then the names, demangled without their hashes
//! ```
//! The kernel side is `ostd/src/panic/symbols.rs`; both must agree on this layout.

use xmas_elf::ElfFile;
use xmas_elf::sections::SectionData;
use xmas_elf::symbol_table::{Entry, Type};

/// The blob's magic.
pub const MAGIC: &[u8; 4] = b"KSYM";
const ENTRY_SIZE: usize = 16;

/// Why the table could not be written.
#[derive(Debug, PartialEq, Eq)]
pub enum KsymsError {
    /// The input is not an ELF the parser accepts.
    BadElf(String),
    /// The ELF has no `.ksyms` section or no symbol table.
    MissingSection(&'static str),
    /// The table does not fit the reserved space.
    TooBig {
        /// The size of the encoded table.
        need: usize,
        /// The size of the `.ksyms` section.
        have: usize,
    },
}

impl std::fmt::Display for KsymsError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Self::BadElf(e) => write!(f, "not a usable kernel ELF: {e}"),
            Self::MissingSection(s) => write!(f, "the ELF has no {s} section"),
            Self::TooBig { need, have } => write!(
                f,
                "the symbol table needs {need} bytes but .ksyms reserves {have}: raise \
                 KSYMS_CAPACITY in ostd/src/panic/symbols.rs"
            ),
        }
    }
}

impl std::error::Error for KsymsError {}

/// Builds the blob from `(address, name)` pairs.
pub fn encode(mut symbols: Vec<(u64, String)>) -> Vec<u8> {
    symbols.sort();
    symbols.dedup_by_key(|s| s.0);
    let mut names = Vec::new();
    let mut blob = Vec::with_capacity(8 + symbols.len() * ENTRY_SIZE);
    blob.extend_from_slice(MAGIC);
    blob.extend_from_slice(&(symbols.len() as u32).to_le_bytes());
    for (addr, name) in &symbols {
        blob.extend_from_slice(&addr.to_le_bytes());
        blob.extend_from_slice(&(names.len() as u32).to_le_bytes());
        blob.extend_from_slice(&(name.len() as u32).to_le_bytes());
        names.extend_from_slice(name.as_bytes());
    }
    let names_start = blob.len() as u32;
    for entry in blob[8..].chunks_exact_mut(ENTRY_SIZE) {
        let off = u32::from_le_bytes(entry[8..12].try_into().unwrap()) + names_start;
        entry[8..12].copy_from_slice(&off.to_le_bytes());
    }
    blob.extend_from_slice(&names);
    blob
}

/// Writes the function symbols of the ELF in `image` into its `.ksyms` section, in place.
/// Returns the number of symbols written.
pub fn fill(image: &mut [u8]) -> Result<usize, KsymsError> {
    let (offset, size, symbols) = {
        let elf = ElfFile::new(image).map_err(|e| KsymsError::BadElf(e.to_string()))?;
        let section =
            elf.find_section_by_name(".ksyms").ok_or(KsymsError::MissingSection(".ksyms"))?;
        let symtab =
            elf.find_section_by_name(".symtab").ok_or(KsymsError::MissingSection(".symtab"))?;
        let mut symbols = Vec::new();
        if let Ok(SectionData::SymbolTable64(entries)) = symtab.get_data(&elf) {
            for e in entries {
                if e.get_type() == Ok(Type::Func)
                    && e.value() != 0
                    && let Ok(name) = e.get_name(&elf)
                {
                    symbols.push((e.value(), format!("{:#}", rustc_demangle::demangle(name))));
                }
            }
        }
        (section.offset() as usize, section.size() as usize, symbols)
    };
    let count = symbols.len();
    let blob = encode(symbols);
    if blob.len() > size {
        return Err(KsymsError::TooBig { need: blob.len(), have: size });
    }
    let region = image
        .get_mut(offset..offset + size)
        .ok_or_else(|| KsymsError::BadElf(".ksyms section runs past the end of the file".into()))?;
    region.fill(0);
    region[..blob.len()].copy_from_slice(&blob);
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_is_sorted_and_names_resolve() {
        let blob = encode(vec![(0x30, "c".into()), (0x10, "alpha".into()), (0x20, "bb".into())]);
        assert_eq!(&blob[0..4], MAGIC);
        assert_eq!(u32::from_le_bytes(blob[4..8].try_into().unwrap()), 3);
        let entry = |i: usize| {
            let e = &blob[8 + i * 16..8 + (i + 1) * 16];
            let addr = u64::from_le_bytes(e[0..8].try_into().unwrap());
            let off = u32::from_le_bytes(e[8..12].try_into().unwrap()) as usize;
            let len = u32::from_le_bytes(e[12..16].try_into().unwrap()) as usize;
            (addr, std::str::from_utf8(&blob[off..off + len]).unwrap().to_string())
        };
        assert_eq!(entry(0), (0x10, "alpha".into()));
        assert_eq!(entry(1), (0x20, "bb".into()));
        assert_eq!(entry(2), (0x30, "c".into()));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(matches!(fill(&mut b"nope".to_vec()), Err(KsymsError::BadElf(_))));
    }
}
