//! Booting a container image (made by `images build`): when the root disk holds a process
//! spec at `guest_image::container::SPEC_PATH` and the command line names no `init=`, the
//! kernel itself starts the container's entrypoint as pid 1, as a container runtime would,
//! with no agent in the guest: `/proc`, `/sys` and a fresh `/tmp` mounted (on the image's
//! own directories, which `images build` makes sure exist), the spec's environment, working
//! directory, user, group and supplementary groups, and the program found through the
//! spec's `PATH` when it names no directory.
//!
//! The spec is read from the disk like everything else there: it is parsed, not trusted,
//! and a bad one stops the boot naming its line.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use guest_image::container::{ContainerSpec, SPEC_PATH};

use crate::error::Errno;
use crate::fs::path::{Start, resolve};
use crate::fs::perm::MAY_EXEC;
use crate::fs::{Node, NodeKind};
use crate::process::creds::{Credentials, Identity};

/// What pid 1 is started with.
pub struct Launch {
    /// The program's path inside the root (absolute).
    pub program: String,
    /// The argument vector (`argv[0]` as the spec gives it).
    pub argv: Vec<String>,
    /// The environment.
    pub envp: Vec<String>,
    /// The working directory.
    pub cwd: Arc<Node>,
    /// User, group and supplementary groups.
    pub uid: u32,
    /// The primary group.
    pub gid: u32,
    /// Supplementary groups, sorted.
    pub groups: Vec<u32>,
    /// The spec's bytes, as read (what measured boot records).
    pub spec_bytes: Vec<u8>,
}

/// Reads the spec from the root `root`; `None` only if the image has none (ENOENT: not a
/// container image). Any other failure to look it up (EIO from a block the hash tree
/// refused, say) is an error: falling back to another init on a disk that could not be read
/// would run what the image's author never chose.
///
/// # Errors
/// A message naming what is wrong: unreadable, not a regular file, or the line the parser
/// refused.
pub fn read_spec(root: &Arc<Node>) -> Option<Result<(ContainerSpec, Vec<u8>), String>> {
    let start = Start::kernel(root);
    let node = match resolve(&start, SPEC_PATH, false) {
        Ok(node) => node,
        Err(Errno::ENOENT) => return None,
        Err(e) => return Some(Err(alloc::format!("{SPEC_PATH}: {e:?}"))),
    };
    Some(read_whole(&node).and_then(|bytes| {
        ContainerSpec::parse(&bytes)
            .map(|spec| (spec, bytes))
            .map_err(|e| alloc::format!("{SPEC_PATH}: {e}"))
    }))
}

/// The whole of the regular file `node`, read until its end (a short read is not the end).
fn read_whole(node: &Arc<Node>) -> Result<Vec<u8>, String> {
    if node.kind() != crate::fs::NodeKind::File {
        return Err(alloc::format!("{SPEC_PATH}: not a regular file"));
    }
    let size = node.size();
    if size > guest_image::container::MAX_SPEC_LEN as u64 {
        return Err(alloc::format!("{SPEC_PATH}: {size} bytes is too large"));
    }
    let mut bytes = alloc::vec![0u8; size as usize];
    let mut done = 0;
    while done < bytes.len() {
        match node.read_at(done as u64, &mut bytes[done..]) {
            Ok(0) => return Err(alloc::format!("{SPEC_PATH}: ended at {done} of {size} bytes")),
            Ok(n) => done += n,
            Err(e) => return Err(alloc::format!("{SPEC_PATH}: {e:?}")),
        }
    }
    Ok(bytes)
}

/// Prepares pid 1 from `spec` on `root`: mounts `/proc`, `/sys` and `/tmp`, finds the
/// program, the working directory.
///
/// # Errors
/// A message naming the program or directory that cannot be used.
pub fn prepare(
    root: &Arc<Node>,
    spec: ContainerSpec,
    spec_bytes: Vec<u8>,
) -> Result<Launch, String> {
    let start = Start::kernel(root);
    for (dir, fstype) in [("/proc", "proc"), ("/sys", "sysfs"), ("/tmp", "tmpfs")] {
        match resolve(&start, dir, true) {
            Ok(node) => {
                if let Err(e) = crate::fs::mount::mount_new(node, fstype, fstype, dir) {
                    log::warn!("container: cannot mount {fstype} on {dir}: {e:?}");
                }
            }
            Err(_) => log::warn!("container: the image has no {dir}; {fstype} is not mounted"),
        }
    }
    // The parser refused anything but UTF-8 without NULs, so this is exact.
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let argv: Vec<String> = spec.args.iter().map(|a| text(a)).collect();
    let envp: Vec<String> = spec.env.iter().map(|e| text(e)).collect();
    let mut groups = spec.groups.clone();
    groups.sort_unstable();
    groups.dedup();
    // What the container's user may do, checked before anything runs as root on its behalf.
    let creds = Credentials::of(spec.uid, spec.gid);
    let identity = Identity { creds, groups: Arc::new(groups.clone()) };
    let cwd_path = text(&spec.cwd);
    let cwd = resolve(&start, &cwd_path, true)
        .map_err(|e| alloc::format!("working directory {cwd_path}: {}", errno_text(e)))?;
    if cwd.kind() != NodeKind::Dir {
        return Err(alloc::format!("working directory {cwd_path}: not a directory"));
    }
    if !identity.may(&cwd, MAY_EXEC) {
        return Err(alloc::format!(
            "working directory {cwd_path}: uid {} may not enter it",
            spec.uid
        ));
    }
    let program = find_program(&start, &argv[0], &envp)?;
    let node = resolve(&start, &program, true).map_err(|e| alloc::format!("{program}: {e:?}"))?;
    if node.kind() != NodeKind::File || !identity.may(&node, MAY_EXEC) {
        return Err(alloc::format!("{program}: uid {} may not execute it", spec.uid));
    }
    Ok(Launch { program, argv, envp, cwd, uid: spec.uid, gid: spec.gid, groups, spec_bytes })
}

/// `name` itself if it has a `/`, else the first `PATH` directory (from `envp`) holding a
/// file of that name, as execvp does.
fn find_program(start: &Start, name: &str, envp: &[String]) -> Result<String, String> {
    if name.contains('/') {
        return Ok(name.into());
    }
    let path = envp.iter().find_map(|v| v.strip_prefix("PATH=")).unwrap_or_default();
    for dir in path.split(':').filter(|d| d.starts_with('/')) {
        let candidate = alloc::format!("{}/{name}", dir.trim_end_matches('/'));
        if resolve(start, &candidate, true).is_ok_and(|n| n.kind() == crate::fs::NodeKind::File) {
            return Ok(candidate);
        }
    }
    Err(alloc::format!("{name}: not found in PATH={path}"))
}

fn errno_text(e: Errno) -> String {
    alloc::format!("{e:?}")
}
