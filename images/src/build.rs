//! `images build`: a container image (or a root directory) becomes a bootable guest image:
//! `rootfs.ext2` (the layers applied, the container's process spec at
//! `guest_image::container::SPEC_PATH`, the mount points a runtime needs, and after the
//! filesystem its hash tree in dm-verity's format), `cmdline` (the kernel command line that
//! boots it, with the tree's root hash: `verity.root=`, `verity.salt=`,
//! `verity.data_blocks=`), `events.json` (the kernel's measured-boot events for it, predicted:
//! command line, root identity, container spec, entrypoint, and RTMR2),
//! `reference-values.json` (a `sim` entry for `attest serve`), and the kernel when one is
//! given. Only files inside
//! the output directory are written, and only once everything has been checked.

use std::path::{Path, PathBuf};

use guest_image::container::{ContainerSpec, SPEC_PATH};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::container::{Overrides, resolve};
use crate::oci::{self, Input, manifest::RunConfig};
use guest_image::verity::build_tree;
use sha2::{Digest as _, Sha256};

use crate::rootfs::ext2_disk::{DiskParams, DiskSummary, make_disk, write_atomically};
use crate::rootfs::host_dir::read_dir_tree;
use crate::rootfs::tree::{Inode, Kind, Tree};

/// What to build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// An OCI layout directory, an OCI or docker-save tar, or a root directory.
    pub input: PathBuf,
    /// Where the outputs go (created if missing).
    pub out_dir: PathBuf,
    /// The kernel to copy next to the disk, if any.
    pub kernel: Option<PathBuf>,
    /// The disk's size in bytes (default: the contents plus a margin).
    pub size: Option<u64>,
    /// Replacements for the image config's fields.
    pub overrides: Overrides,
    /// Words added to the kernel command line.
    pub append: String,
    /// The reference entry's name (default: the input's file name).
    pub name: Option<String>,
}

/// What was built.
#[derive(Debug, Clone)]
pub struct BuildOutput {
    /// The root disk.
    pub disk: PathBuf,
    /// The kernel command line that boots it (also in `cmdline`).
    pub cmdline: String,
    /// What the kernel will run as init.
    pub spec: ContainerSpec,
    /// The disk's size, inode count, UUID.
    pub summary: DiskSummary,
}

/// The command line an image boots with, before `append`: the disk is the root, read-only.
pub const BASE_CMDLINE: &str = "console=ttyS0 root=/dev/vda ro";

/// Builds `opts`.
///
/// # Errors
/// A message naming the file (or layer, or path in the image) and the reason.
pub fn build(opts: &BuildOptions) -> Result<BuildOutput, String> {
    if let Some(kernel) = &opts.kernel {
        std::fs::File::open(kernel).map_err(|e| format!("--kernel {}: {e}", kernel.display()))?;
    }
    let (mut tree, config) = match oci::read(&opts.input).map_err(|e| e.to_string())? {
        Input::Image(image) => {
            let bar = progress(image.layers.len() as u64, "applying layers");
            let mut tree = Tree::new();
            for (i, layer) in image.layers.iter().enumerate() {
                bar.set_message(layer.name.clone());
                tree.apply_layer(&layer.tar, i, &layer.name).map_err(|e| e.to_string())?;
                bar.inc(1);
            }
            bar.finish_and_clear();
            (tree, image.config.config.clone())
        }
        Input::RootDir(dir) => (read_dir_tree(&dir)?, RunConfig::default()),
    };
    let spec = resolve(&config, &tree, &opts.overrides)?;
    add_runtime_files(&mut tree, &spec)?;

    let bar = progress(2, "making rootfs.ext2");
    let params = DiskParams { size: opts.size, label: "cocoon-root".into() };
    let (mut bytes, summary) = make_disk(&tree, &params)?;
    bar.inc(1);
    // The hash tree goes right after the filesystem; its root hash on the command line.
    let salt: [u8; 32] =
        Sha256::digest([&b"cocoon verity salt\0"[..], &summary.uuid].concat()).into();
    let (hash_tree, verity) = build_tree(&bytes, &salt).map_err(|e| e.to_string())?;
    bytes.extend_from_slice(&hash_tree);
    bar.finish_and_clear();
    let mut cmdline = format!(
        "{BASE_CMDLINE} verity.root={} verity.salt={} verity.data_blocks={}",
        hex::encode(verity.root),
        hex::encode(&verity.salt),
        verity.data_blocks
    );
    if !opts.append.trim().is_empty() {
        cmdline = format!("{cmdline} {}", opts.append.trim());
    }
    // Everything is checked before anything is written. The events are predicted from the
    // disk as `images measure` reads it, so the two cannot disagree.
    let events = crate::measure::disk::kernel_events(&bytes, &cmdline)?;
    let boot = crate::measure::KernelBoot { cmdline: cmdline.clone(), events };
    std::fs::create_dir_all(&opts.out_dir)
        .map_err(|e| format!("{}: {e}", opts.out_dir.display()))?;
    let disk = opts.out_dir.join("rootfs.ext2");
    write_atomically(&disk, &bytes)?;
    write(&opts.out_dir.join("cmdline"), format!("{cmdline}\n").as_bytes())?;
    let doc = crate::measure::events_document(&boot);
    write(&opts.out_dir.join("events.json"), format!("{doc:#}\n").as_bytes())?;
    // A reference entry for the simulated TEE, whose launch measurement is predicted too;
    // `images measure` adds SNP's and TDX's.
    let name = opts.name.clone().unwrap_or_else(|| input_name(&opts.input));
    let refs = json!({"entries": [crate::measure::sim_entry(&name, &boot)]});
    write(&opts.out_dir.join("reference-values.json"), format!("{refs:#}\n").as_bytes())?;
    if let Some(kernel) = &opts.kernel {
        let to = opts.out_dir.join("kernel");
        std::fs::copy(kernel, &to)
            .map_err(|e| format!("{} → {}: {e}", kernel.display(), to.display()))?;
    }
    Ok(BuildOutput { disk, cmdline, spec, summary })
}

/// Adds what the kernel needs on the disk: the spec, and the mount points a runtime mounts
/// on (`/proc`, `/sys`, `/dev`, `/tmp`) where the image has none. Their times are the
/// image's newest, so the disk stays a function of the input.
fn add_runtime_files(tree: &mut Tree, spec: &ContainerSpec) -> Result<(), String> {
    let time = tree.newest_mtime();
    let dir = |mode| Inode {
        kind: Kind::Dir(Default::default()),
        mode,
        uid: 0,
        gid: 0,
        mtime: time,
        xattrs: Default::default(),
    };
    for (path, mode) in [("/proc", 0o555), ("/sys", 0o555), ("/dev", 0o755), ("/tmp", 0o1777)] {
        match tree.lookup(path).map(|id| &tree.inode(id).kind) {
            Some(Kind::Dir(_)) => {}
            Some(_) => return Err(format!("the image's {path} is not a directory")),
            None => {
                tree.add(path, dir(mode), usize::MAX, "images build").map_err(|e| e.to_string())?;
            }
        }
    }
    tree.add("/.cocoon", dir(0o755), usize::MAX, "images build").map_err(|e| e.to_string())?;
    let file = Inode {
        kind: Kind::File(spec.encode()),
        mode: 0o444,
        uid: 0,
        gid: 0,
        mtime: time,
        xattrs: Default::default(),
    };
    tree.add(SPEC_PATH, file, usize::MAX, "images build").map_err(|e| e.to_string())?;
    Ok(())
}

/// The input's file name, for the reference entry's name.
fn input_name(input: &Path) -> String {
    input
        .file_name()
        .map_or_else(|| input.display().to_string(), |n| n.to_string_lossy().into_owned())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {wide_msg}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(what.to_string());
    bar
}
