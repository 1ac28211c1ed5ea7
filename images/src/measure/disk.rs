//! The kernel's measured-boot events for a built image, from the image alone: its command
//! line and its root disk, as `images build` wrote them. The disk is checked against the
//! command line first (the hash tree after the filesystem must be the one whose root hash
//! `verity.root=` names, over exactly `verity.data_blocks` blocks), so the events describe
//! the disk the kernel will accept and no other. Then the filesystem is read with the
//! project's ext2 crate, as the kernel reads it: the container spec at
//! `/.cocoon/container`, and the program it names, found on the spec's `PATH`.

use ext2::superblock::{SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE, VolumeIdentity};
use ext2::{FileType, Filesystem, InodeNo};
use guest_image::container::{ContainerSpec, MAX_SPEC_LEN, SPEC_PATH};
use guest_image::verity::{BLOCK_SIZE, VerityParams, build_tree};

use crate::container::{ImageFiles, program};
use crate::measurements::{Boot, Event, events};
use crate::rootfs::resolve::{Node, resolve};

/// Returns the events the kernel logs when it boots `disk` with `cmdline`.
///
/// # Errors
/// What is wrong with the pair: no or malformed `verity.*` parameters, a disk whose tree is
/// not the one the command line names, no container spec, an entrypoint the disk lacks.
pub fn kernel_events(disk: &[u8], cmdline: &str) -> Result<Vec<Event>, String> {
    let verity = check_cmdline(cmdline)?;
    events_for_checked(disk, cmdline, &verity)
}

/// [`kernel_events`] for a command line [`check_cmdline`] accepted, with what it returned.
///
/// # Errors
/// What is wrong with the disk.
pub fn events_for_checked(
    disk: &[u8],
    cmdline: &str,
    verity: &VerityParams,
) -> Result<Vec<Event>, String> {
    let data_len = usize::try_from(verity.data_blocks)
        .ok()
        .and_then(|n| n.checked_mul(BLOCK_SIZE))
        .filter(|&n| n <= disk.len())
        .ok_or_else(|| {
            format!(
                "verity.data_blocks={} is more than the disk's {} bytes hold",
                verity.data_blocks,
                disk.len()
            )
        })?;
    let (data, appended) = disk.split_at(data_len);
    let (tree, built) = build_tree(data, &verity.salt).map_err(|e| e.to_string())?;
    if built.root != verity.root {
        return Err(format!(
            "the disk's first {} blocks hash to root {}, not the command line's verity.root={}",
            verity.data_blocks,
            hex::encode(built.root),
            hex::encode(verity.root)
        ));
    }
    if appended.len() < tree.len() {
        return Err(format!(
            "the hash tree after the filesystem is cut short ({} of {} bytes)",
            appended.len(),
            tree.len()
        ));
    }
    if appended[..tree.len()] != tree[..] {
        return Err("the hash tree after the filesystem is not the one its data gives \
                    (the kernel would refuse blocks)"
            .into());
    }

    let at = SUPERBLOCK_OFFSET as usize;
    let sb: &[u8; SUPERBLOCK_SIZE] = data
        .get(at..at + SUPERBLOCK_SIZE)
        .and_then(|b| b.try_into().ok())
        .ok_or("the disk has no ext2 superblock")?;
    let root = format!("ext2 /dev/dm-0 ro {}", VolumeIdentity::of(sb));
    let files = DiskFiles::open(data)?;
    let spec_bytes = files.spec()?;
    let spec = ContainerSpec::parse(&spec_bytes).map_err(|e| format!("{SPEC_PATH}: {e}"))?;
    let (path, bytes) = program(&spec, &files).ok_or_else(|| {
        format!(
            "the entrypoint {:?} is not a file in the image (nor in its PATH)",
            String::from_utf8_lossy(spec.args.first().map_or(&[][..], |a| &a[..]))
        )
    })?;
    let inits: [(&str, &[u8]); 1] = [(&path, &bytes)];
    Ok(events(&Boot {
        cmdline: cmdline.as_bytes(),
        initramfs: None,
        root: &root,
        container_spec: Some(&spec_bytes),
        inits: &inits,
    }))
}

/// The longest command line the kernel keeps (`ostd::boot::Cmdline::CAPACITY`).
const CMDLINE_CAPACITY: usize = 2048;

/// Checks that `cmdline` is one the kernel reads exactly as written here, and would boot
/// into the container with, and returns its `verity.*` values. `images build` writes such
/// lines; anything else is refused rather than predicted: more than the kernel keeps,
/// bytes it rewrites, quotes (which join words), white space at either end (which the
/// firmware hashes but the kernel trims), a repeated `verity.*` word, or `init=`, `rdinit=`,
/// `rw`, `rootfstype=` (the kernel would then not start the container from the checked
/// disk).
///
/// # Errors
/// What is wrong, named.
pub fn check_cmdline(cmdline: &str) -> Result<VerityParams, String> {
    if cmdline.len() > CMDLINE_CAPACITY {
        return Err(format!("the command line is {} bytes (the kernel keeps 2048)", cmdline.len()));
    }
    if let Some(b) = cmdline.bytes().find(|&b| !(0x20..=0x7e).contains(&b) || b == b'"') {
        return Err(format!("the command line holds {:?}, which the kernel rewrites", b as char));
    }
    if cmdline.trim() != cmdline {
        return Err("the command line starts or ends with a space".into());
    }
    let words: Vec<&str> = cmdline.split(' ').take_while(|w| *w != "--").collect();
    let mut seen = Vec::new();
    for w in &words {
        let key = w.split_once('=').map_or(*w, |(k, _)| k);
        if key.starts_with("verity.") {
            if seen.contains(&key) {
                return Err(format!("the command line gives {key}= twice"));
            }
            seen.push(key);
        }
        if matches!(key, "init" | "rdinit")
            || *w == "rw"
            || (key == "rootfstype" && *w != "rootfstype=ext2")
        {
            return Err(format!(
                "the command line's {w:?} would keep the kernel from starting the container"
            ));
        }
    }
    let value = |key: &str| words.iter().find_map(|w| w.strip_prefix(key));
    let root = value("verity.root=").ok_or("the command line has no verity.root=")?;
    VerityParams::parse(root, value("verity.salt="), value("verity.data_blocks="))
        .map_err(|what| format!("the command line's {what} is malformed"))
}

/// A built disk's filesystem, read-only.
struct DiskFiles<'a> {
    fs: Filesystem<&'a [u8]>,
    /// The filesystem's size in bytes.
    len: u64,
}

impl<'a> DiskFiles<'a> {
    fn open(data: &'a [u8]) -> Result<Self, String> {
        let fs = Filesystem::open_read_only(data)
            .map_err(|e| format!("the disk's filesystem does not mount: {e:?}"))?;
        Ok(Self { fs, len: data.len() as u64 })
    }

    fn node(&self, ino: InodeNo) -> Option<Node> {
        Some(match self.fs.stat(ino).ok()?.file_type {
            FileType::Directory => Node::Dir,
            FileType::Symlink => Node::Symlink(self.fs.readlink(ino).ok()?),
            _ => Node::Other,
        })
    }

    /// The container spec, found as the kernel finds it: `/.cocoon` followed, the file
    /// itself not (a symlink there is no spec), at most `MAX_SPEC_LEN` bytes.
    fn spec(&self) -> Result<Vec<u8>, String> {
        let missing = || format!("the disk has no container spec at {SPEC_PATH}");
        let (dir, name) = SPEC_PATH.rsplit_once('/').ok_or_else(missing)?;
        let dir = self.walk(dir).ok_or_else(missing)?;
        let ino = self.fs.lookup(dir, name.as_bytes()).map_err(|_| missing())?;
        let meta = self.fs.stat(ino).map_err(|e| format!("{SPEC_PATH}: {e:?}"))?;
        if meta.file_type != FileType::Regular {
            return Err(format!("{SPEC_PATH} is not a regular file"));
        }
        if meta.size > MAX_SPEC_LEN as u64 {
            return Err(format!("{SPEC_PATH} is {} bytes (at most {MAX_SPEC_LEN})", meta.size));
        }
        self.contents(ino, meta.size).ok_or_else(|| format!("{SPEC_PATH} cannot be read"))
    }

    fn walk(&self, path: &str) -> Option<InodeNo> {
        resolve(
            self.fs.root(),
            path.as_bytes(),
            |dir, name| self.fs.lookup(dir, name).ok(),
            |ino| self.node(ino),
        )
    }

    /// A file's bytes; `None` if it claims more than the disk holds (sparse at best).
    fn contents(&self, ino: InodeNo, size: u64) -> Option<Vec<u8>> {
        let size = usize::try_from(size).ok().filter(|&n| n as u64 <= self.len)?;
        let mut bytes = vec![0u8; size];
        let mut done = 0;
        while done < bytes.len() {
            match self.fs.read(ino, done as u64, &mut bytes[done..]).ok()? {
                0 => return None,
                n => done += n,
            }
        }
        Some(bytes)
    }
}

impl ImageFiles for DiskFiles<'_> {
    fn regular_file(&self, path: &str) -> Option<Vec<u8>> {
        let ino = self.walk(path)?;
        let meta = self.fs.stat(ino).ok()?;
        if meta.file_type != FileType::Regular {
            return None;
        }
        self.contents(ino, meta.size)
    }
}
