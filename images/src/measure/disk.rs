//! The kernel's measured-boot events for a built image, from the image alone: its command
//! line and its root disk, as `images build` wrote them. The disk is checked against the
//! command line first (the hash tree after the filesystem must be the one whose root hash
//! `verity.root=` names, over exactly `verity.data_blocks` blocks), so the events describe
//! the disk the kernel will accept and no other. Then the filesystem is read with the
//! project's ext2 crate, as the kernel reads it: the container spec at
//! `/.cocoon/container`, and the program it names, found on the spec's `PATH`.

use ext2::superblock::{SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE, VolumeIdentity};
use ext2::{FileType, Filesystem, InodeNo};
use guest_image::container::{ContainerSpec, SPEC_PATH};
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
    let verity = verity_params(cmdline)?;
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
    if appended.get(..tree.len()) != Some(&tree[..]) {
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
    let files = DiskFiles::open(data.to_vec())?;
    let spec_bytes = files.regular_file(SPEC_PATH).ok_or_else(|| {
        format!("the disk has no container spec at {SPEC_PATH} (not built by images build?)")
    })?;
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

/// The `verity.*` values of `cmdline`: the last of each before `--`, as the kernel takes
/// them (`images build` writes no quoted words).
fn verity_params(cmdline: &str) -> Result<VerityParams, String> {
    let value = |key: &str| {
        let kernel_words = cmdline.split_ascii_whitespace().take_while(|w| *w != "--");
        kernel_words.filter_map(|w| w.strip_prefix(key)).last()
    };
    let root = value("verity.root=").ok_or("the command line has no verity.root=")?;
    VerityParams::parse(root, value("verity.salt="), value("verity.data_blocks="))
        .map_err(|what| format!("the command line's {what} is malformed"))
}

/// A built disk's filesystem, read-only.
struct DiskFiles {
    fs: Filesystem<Vec<u8>>,
    /// The filesystem's size in bytes.
    len: u64,
}

impl DiskFiles {
    fn open(data: Vec<u8>) -> Result<Self, String> {
        let len = data.len() as u64;
        let fs = Filesystem::open_read_only(data)
            .map_err(|e| format!("the disk's filesystem does not mount: {e:?}"))?;
        Ok(Self { fs, len })
    }

    fn node(&self, ino: InodeNo) -> Option<Node> {
        Some(match self.fs.stat(ino).ok()?.file_type {
            FileType::Directory => Node::Dir,
            FileType::Symlink => Node::Symlink(self.fs.readlink(ino).ok()?),
            _ => Node::Other,
        })
    }
}

impl ImageFiles for DiskFiles {
    fn regular_file(&self, path: &str) -> Option<Vec<u8>> {
        let ino = resolve(
            self.fs.root(),
            path.as_bytes(),
            |dir, name| self.fs.lookup(dir, name).ok(),
            |ino| self.node(ino),
        )?;
        let meta = self.fs.stat(ino).ok()?;
        if meta.file_type != FileType::Regular {
            return None;
        }
        // A file larger than the disk is sparse at best: no entrypoint, and no allocation
        // sized by what the disk claims.
        let size = usize::try_from(meta.size).ok().filter(|&n| n as u64 <= self.len)?;
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
