//! Hostile initrds for the bad-input boots, built byte by byte so that no tool is needed and
//! every run boots the same bytes: gzip bombs and malformed cpio "newc" archives.

/// A cpio "newc" entry: a 110-byte header of hex fields, the NUL-terminated name padded to
/// 4 bytes, then the data padded to 4 bytes. `mode` is `st_mode` (type and permissions).
pub fn newc_entry(mode: u32, name: &str, data: &[u8]) -> Vec<u8> {
    let fields = [1, mode, 0, 0, 1, 0, data.len() as u32, 0, 0, 0, 0, name.len() as u32 + 1, 0];
    let mut e = b"070701".to_vec();
    for f in fields {
        e.extend_from_slice(format!("{f:08x}").as_bytes());
    }
    e.extend_from_slice(name.as_bytes());
    e.push(0);
    while !e.len().is_multiple_of(4) {
        e.push(0);
    }
    e.extend_from_slice(data);
    while !e.len().is_multiple_of(4) {
        e.push(0);
    }
    e
}

/// The entry that ends a newc archive.
pub fn newc_trailer() -> Vec<u8> {
    newc_entry(0, "TRAILER!!!", &[])
}

/// LSB-first bit packing, as deflate (RFC 1951) writes its stream.
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u64, count: u32) {
        self.acc |= value << self.n;
        self.n += count;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// Huffman codes are packed most-significant bit first.
    fn code(&mut self, code: u64, count: u32) {
        let reversed = (0..count).fold(0, |r, i| r | ((code >> i) & 1) << (count - 1 - i));
        self.put(reversed, count);
    }
}

/// A gzip member that inflates to `len` zero bytes from about `len / 160` bytes (a "gzip
/// bomb"), with `isize` in its trailer (honest: `len as u32`; a liar says less). The CRC is
/// left zero. One fixed-Huffman block: a literal 0, then length-258 copies at distance 1.
pub fn gzip_zeros(len: u64, isize: u32) -> Vec<u8> {
    let mut b = Bits { out: vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3], acc: 0, n: 0 };
    b.put(1, 1); // BFINAL
    b.put(1, 2); // BTYPE 01: fixed Huffman codes
    let literal_zero = |b: &mut Bits| b.code(0x30, 8); // literals 0..=143: 0x30 + value, 8 bits
    let mut left = len;
    if left > 0 {
        literal_zero(&mut b);
        left -= 1;
    }
    while left >= 258 {
        b.code(0xc0 + 5, 8); // symbol 285 (length 258): 0xc0 + (285 - 280), 8 bits
        b.code(0, 5); // distance code 0: distance 1
        left -= 258;
    }
    for _ in 0..left {
        literal_zero(&mut b);
    }
    b.code(0, 7); // end of block (256)
    b.put(0, 7); // flush the last partial byte
    let mut out = b.out;
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&isize.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::{Command, Stdio};

    /// Decompresses with the system's gzip, ignoring its complaint about the zero CRC.
    fn gunzip_len(data: &[u8]) -> Option<usize> {
        let mut child = Command::new("gzip")
            .args(["-dc"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut stdin = child.stdin.take()?;
        let data = data.to_vec();
        let writer = std::thread::spawn(move || stdin.write_all(&data));
        let out = child.wait_with_output().ok()?;
        let _ = writer.join();
        assert!(out.stdout.iter().all(|&b| b == 0));
        Some(out.stdout.len())
    }

    #[test]
    fn gzip_zeros_inflates_to_the_requested_length() {
        for len in [0, 1, 257, 258, 259, 10_000, 3 << 20] {
            let bomb = gzip_zeros(len, len as u32);
            if let Some(got) = gunzip_len(&bomb) {
                assert_eq!(got as u64, len, "gzip_zeros({len})");
            }
        }
        assert!(gzip_zeros(300 << 20, 0).len() < 2 << 20, "not much of a bomb");
    }

    #[test]
    fn newc_entries_are_what_cpio_reads() {
        let mut archive = newc_entry(0o100644, "f", b"hello");
        archive.extend(newc_trailer());
        assert_eq!(archive.len() % 4, 0);
        assert_eq!(&archive[..6], b"070701");
        let Ok(mut child) = Command::new("cpio")
            .args(["-it", "--quiet"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
        else {
            return;
        };
        child.stdin.take().unwrap().write_all(&archive).unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "f\n");
    }
}
