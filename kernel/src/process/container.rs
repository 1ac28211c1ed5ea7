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
use crate::fs::Node;
use crate::fs::path::{Start, resolve};

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

/// Reads the spec from the root `root`; `None` if there is none (not a container image).
///
/// # Errors
/// A message naming what is wrong: unreadable, or the line the parser refused.
pub fn read_spec(root: &Arc<Node>) -> Option<Result<(ContainerSpec, Vec<u8>), String>> {
    let start = Start { root: root.clone(), dir: root.clone() };
    let node = resolve(&start, SPEC_PATH, false).ok()?;
    let size = node.size();
    if size > guest_image::container::MAX_SPEC_LEN as u64 {
        return Some(Err(alloc::format!("{SPEC_PATH}: {size} bytes is too large")));
    }
    let mut bytes = alloc::vec![0u8; size as usize];
    let read = match node.read_at(0, &mut bytes) {
        Ok(n) => n,
        Err(e) => return Some(Err(alloc::format!("{SPEC_PATH}: {e:?}"))),
    };
    bytes.truncate(read);
    Some(
        ContainerSpec::parse(&bytes)
            .map(|spec| (spec, bytes))
            .map_err(|e| alloc::format!("{SPEC_PATH}: {e}")),
    )
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
    let start = Start { root: root.clone(), dir: root.clone() };
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
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let argv: Vec<String> = spec.args.iter().map(|a| text(a)).collect();
    let envp: Vec<String> = spec.env.iter().map(|e| text(e)).collect();
    let cwd_path = text(&spec.cwd);
    let cwd = resolve(&start, &cwd_path, true)
        .map_err(|e| alloc::format!("working directory {cwd_path}: {}", errno_text(e)))?;
    let program = find_program(&start, &argv[0], &envp)?;
    let mut groups = spec.groups.clone();
    groups.sort_unstable();
    groups.dedup();
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
