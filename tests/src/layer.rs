//! Layer tars for the container images the tests make: entries with fixed times, so the
//! images (and the disks `images build` makes of them) are the same on every run.

/// A layer being written.
pub struct Layer(tar::Builder<Vec<u8>>);

/// Every entry's modification time.
const MTIME: u64 = 1_700_000_000;

impl Layer {
    /// An empty layer.
    pub fn new() -> Self {
        Self(tar::Builder::new(Vec::new()))
    }

    fn header(kind: tar::EntryType, mode: u32, owner: u64, size: usize) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(owner);
        h.set_gid(owner);
        h.set_mtime(MTIME);
        h.set_size(size as u64);
        h
    }

    /// A directory (`path` ends in `/`).
    pub fn dir(mut self, path: &str, mode: u32, owner: u64) -> Result<Self, String> {
        let mut h = Self::header(tar::EntryType::Directory, mode, owner, 0);
        self.0.append_data(&mut h, path, &[][..]).map_err(|e| format!("layer: {path}: {e}"))?;
        Ok(self)
    }

    /// A regular file.
    pub fn file(mut self, path: &str, mode: u32, owner: u64, data: &[u8]) -> Result<Self, String> {
        let mut h = Self::header(tar::EntryType::Regular, mode, owner, data.len());
        self.0.append_data(&mut h, path, data).map_err(|e| format!("layer: {path}: {e}"))?;
        Ok(self)
    }

    /// A symbolic link to `target`.
    pub fn symlink(mut self, path: &str, target: &str) -> Result<Self, String> {
        let mut h = Self::header(tar::EntryType::Symlink, 0o777, 0, 0);
        self.0.append_link(&mut h, path, target).map_err(|e| format!("layer: {path}: {e}"))?;
        Ok(self)
    }

    /// Debian's static busybox at /bin/busybox, with links for `applets` beside it.
    pub fn busybox(self, applets: &[&str]) -> Result<Self, String> {
        let busybox = std::fs::read("/bin/busybox").map_err(|e| format!("/bin/busybox: {e}"))?;
        let mut layer = self.dir("bin/", 0o755, 0)?.file("bin/busybox", 0o755, 0, &busybox)?;
        for applet in applets {
            layer = layer.symlink(&format!("bin/{applet}"), "busybox")?;
        }
        Ok(layer)
    }

    /// The tar's bytes.
    pub fn finish(self) -> Result<Vec<u8>, String> {
        self.0.into_inner().map_err(|e| e.to_string())
    }
}

impl Default for Layer {
    fn default() -> Self {
        Self::new()
    }
}
